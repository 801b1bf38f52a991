// How the storage area shows itself (disks, RAID controllers and the drives behind them, software RAID): its
// section of the web page, its TUI details.
import type { Audit } from "../../model/schema.ts";
import { bytes, esc, t, table } from "../../lib/html.ts";

/** The storage section of the audit page. */
export function webSection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  return (
    `<h2>Disks</h2>` + (hw.storage
      ? table(
        ["Device", "Model", "Serial", "Size", "Transport", "SMART", "Temp °C", "Wear %", "Notes"],
        hw.storage.disks.map((d) => {
          const h = d.nvme?.health ?? d.smart?.nvme_health;
          const smart = !d.smart
            ? "not read"
            : !d.smart.available
            ? "not supported"
            : d.smart.passed === false
            ? "FAILED"
            : d.smart.passed
            ? "passed"
            : "?";
          const notes = [
            d.smart?.reallocated_sectors ? `${d.smart.reallocated_sectors} reallocated` : "",
            d.smart?.pending_sectors ? `${d.smart.pending_sectors} pending` : "",
            h?.media_errors ? `${h.media_errors} media errors` : "",
            h?.critical_warning ? `critical warning ${h.critical_warning}` : "",
          ].filter(Boolean).join(", ");
          return [
            t(d.path),
            t(d.model),
            t(d.serial),
            bytes(d.size_bytes),
            t(d.transport),
            esc(smart),
            t(d.smart?.temperature_c ?? h?.temperature_c),
            t(h?.percentage_used),
            esc(notes),
          ];
        }),
      )
      : `<p class="none">storage not read</p>`) +
    raidSection(a) + mdSection(a)
  );
}

const smartWord = (s: { available: boolean; passed: boolean | null } | null | undefined) =>
  !s
    ? "not read"
    : !s.available
    ? "not supported"
    : s.passed === false
    ? "FAILED"
    : s.passed
    ? "passed"
    : "?";

/** Hardware RAID controllers, their virtual drives and the physical drives behind them (none: nothing). */
function raidSection(a: Audit): string {
  const raid = a.hardware.storage?.raid ?? [];
  if (!raid.length) return "";
  const who = (c: (typeof raid)[number]) => `${c.tool} c${c.id ?? "?"}`;
  return `<h3>RAID controllers</h3>` +
    table(
      ["Controller", "Model", "Serial", "Firmware", "Battery", "Virtual drives"],
      raid.map((c) => [
        t(who(c)),
        t(c.model),
        t(c.serial),
        t(c.firmware),
        t(c.battery),
        esc(
          c.virtual_drives.map((v) =>
            `${v.id ?? "?"} ${v.level ?? "?"} ${v.state ?? "?"}${v.device ? ` ${v.device}` : ""}`
          )
            .join("; ").slice(0, 400) || "none",
        ),
      ]),
    ) +
    `<h3>Drives behind the controllers</h3>` +
    table(
      ["Controller", "Slot", "Model", "Serial", "Size", "Interface", "State", "SMART"],
      raid.flatMap((c) =>
        c.physical_drives.slice(0, 256).map((p) => [
          t(who(c)),
          t(p.slot),
          t(p.model ?? p.smart?.model),
          t(p.serial ?? p.smart?.serial),
          bytes(p.size_bytes),
          t(p.interface),
          t(p.state),
          esc(smartWord(p.smart)),
        ])
      ),
    );
}

/** Software RAID arrays (none: nothing). */
function mdSection(a: Audit): string {
  const md = a.hardware.storage?.md_arrays ?? [];
  const running = new Set(md.map((m) => m.detail?.uuid).filter(Boolean));
  const resting = (a.hardware.storage?.md_superblocks ?? []).filter((s) => !(s.uuid && running.has(s.uuid)));
  if (!md.length && !resting.length) return "";
  return `<h3>Software RAID</h3>` +
    (resting.length
      ? `<p>On the disks, not assembled (read from their superblocks):</p>` + table(
        ["Array", "Level", "UUID", "Members here"],
        resting.map((r) => [
          t(r.name ?? r.device),
          t(r.level),
          t(r.uuid),
          esc(`${r.devices.length} of ${r.num_devices ?? "?"}: ${r.devices.join(", ")}`.slice(0, 400)),
        ]),
      )
      : "") +
    (md.length ? mdTable(md) : "");
}

function mdTable(md: NonNullable<NonNullable<Audit["hardware"]["storage"]>["md_arrays"]>): string {
  return table(
    ["Array", "Level", "State", "Disks", "mdadm", "Members"],
    md.map((m) => [
      t(m.name),
      t(m.level ?? m.detail?.level),
      t(m.state),
      t(m.map ? `[${m.working_disks}/${m.raid_disks}] [${m.map}]` : null),
      t(m.detail?.state),
      esc(
        m.members.map((x) => `${x.device}${x.failed ? " (failed)" : x.spare ? " (spare)" : ""}`).join(", ")
          .slice(0, 400),
      ),
    ]),
  );
}

/** Lines of the TUI's details screen. */
export function tuiDetails(a: Audit): string[] {
  const h = a.hardware;
  const out: string[] = [];
  for (const d of h.storage?.disks ?? []) {
    out.push(
      `  disk ${d.name} ${d.model ?? "?"} ${d.serial ?? ""} SMART ${
        d.smart?.passed === false ? "FAILED" : d.smart ? "ok" : "–"
      }`,
    );
  }
  for (const c of h.storage?.raid ?? []) {
    const bad = c.physical_drives.filter((p) =>
      p.state &&
      !/^(ok|onln|online|optimal|ready|ugood|ghs|dhs|global hot-spare|dedicated hot-spare)$/i.test(p.state)
    );
    out.push(
      `  raid ${c.tool} c${c.id ?? "?"} ${c.model ?? "?"} ${
        c.serial ?? ""
      }: ${c.virtual_drives.length} virtual (${
        c.virtual_drives.map((v) => v.state ?? "?").join(", ") || "none"
      }), ${c.physical_drives.length} drives${
        bad.length ? `, ${bad.map((p) => `${p.slot} ${p.state}`).join(", ")}` : ""
      }`,
    );
  }
  for (const m of h.storage?.md_arrays ?? []) {
    out.push(
      `  ${m.name} ${m.level ?? "?"} ${m.state}${
        m.map ? ` [${m.working_disks}/${m.raid_disks}] [${m.map}]` : ""
      }${m.detail?.state ? ` (${m.detail.state})` : ""}`,
    );
  }
  const running = new Set((h.storage?.md_arrays ?? []).map((m) => m.detail?.uuid).filter(Boolean));
  for (const r of h.storage?.md_superblocks ?? []) {
    if (r.uuid && running.has(r.uuid)) continue;
    out.push(
      `  md on the disks, not assembled: ${r.name ?? r.device} ${r.level ?? "?"}, ${r.devices.length} of ${
        r.num_devices ?? "?"
      } members (${r.devices.join(", ")})`,
    );
  }
  return out;
}
