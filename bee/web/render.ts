// Renders the operator's page from an audit: verdict banner, findings, one table per component.
import type { Audit } from "../model/schema.ts";
import { bytes, esc, page, t, table } from "./html.ts";
import { asOrderedText } from "../audit/report.ts";

function bannerSection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  const s = hw.summary;
  const b = hw.board;
  return (`<div class="banner ${s.verdict}" id="verdict"><h1>${s.verdict}</h1>
<p>${s.failures} failure(s) · ${s.warnings} warning(s) · ${t(a.host.hostname, 64)} · serial ${
    t(b?.system.serial, 64)
  }</p>${
    a.expect
      ? `<p class="ordered" id="as-ordered">${t(asOrderedText(a), 300)}${
        a.expect.source ? ` · order ${t(a.expect.source, 120)}` : ""
      }</p>`
      : ""
  }<p class="meta"><a href="/bundle.tar" id="bundle">Download everything</a> (audit + every SAT archive, one tar with a sha256 manifest) · <a href="/sat/">SAT archives</a></p></div>`);
}

function findingsSection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  const s = hw.summary;
  return (
    `<h2>Findings</h2>` + table(
      ["Severity", "Component", "Problem", "Suggested action", "Code"],
      s.findings.map((
        f,
      ) => [
        `<span class="sev-${f.severity}">${f.severity}</span>`,
        t(f.component),
        t(f.message, 400),
        t(f.action, 400),
        t(f.code),
      ]),
    )
  );
}

function boardSection(a: Audit, qrSvg: string): string {
  const hw = a.hardware;
  const b = hw.board;
  return (
    `<div class="flex"><div style="flex:1;min-width:280px"><h2>Board</h2>` + table(["", ""], [
      ["System", `${t(b?.system.manufacturer)} ${t(b?.system.product)}`],
      ["Serial", t(b?.system.serial)],
      ["UUID", t(b?.system.uuid)],
      ["SKU", t(b?.system.sku)],
      [
        "Baseboard",
        `${t(b?.baseboard.manufacturer)} ${t(b?.baseboard.product)} (serial ${t(b?.baseboard.serial)})`,
      ],
      ["BIOS", `${t(b?.bios.vendor)} ${t(b?.bios.version)} (${t(b?.bios.release_date)})`],
    ]) + `</div><div class="qr"><h2>QR summary</h2>${qrSvg}</div></div>`
  );
}

function cpusSection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  const cpu = hw.cpu;
  return (
    `<h2>CPUs</h2>` + (cpu?.sockets
      ? table(
        ["Socket", "Model", "Cores", "Threads", "Max MHz", "Status"],
        cpu.sockets.map((
          c,
        ) => [
          t(c.socket),
          t(c.model),
          `${t(c.cores_enabled ?? c.cores)}`,
          t(c.threads),
          t(c.max_speed_mhz),
          t(c.status),
        ]),
      )
      : `<p class="none">socket data not available</p>`) +
    (cpu?.os
      ? `<p class="meta">Kernel sees ${cpu.os.packages} package(s), ${cpu.os.cores} cores, ${cpu.os.logical_cpus} logical CPUs (${
        t(cpu.os.model)
      }).</p>`
      : "")
  );
}

function memorySection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  const m = hw.memory;
  return (
    `<h2>Memory</h2><p class="meta">Installed ${bytes(m?.installed_bytes)}, visible to the OS ${
      bytes(m?.os_total_bytes)
    }` +
    (m?.edac
      ? `, EDAC: ${
        m.edac.map((e) => `${t(e.controller)} CE ${t(e.ce_count)} UE ${t(e.ue_count)}`).join("; ") ||
        "no controllers"
      }`
      : "") +
    `.</p>` +
    (m?.slots
      ? table(
        ["Slot", "Size", "Type", "Speed", "Configured", "Manufacturer", "Part number", "Serial"],
        m.slots.map((
          d,
        ) => [
          t(d.locator),
          d.installed ? bytes(d.size_bytes) : `<span class="none">empty</span>`,
          t(d.type),
          t(d.speed_mts),
          t(d.configured_speed_mts),
          t(d.manufacturer),
          t(d.part_number),
          t(d.serial),
        ]),
      )
      : `<p class="none">slot data not available</p>`)
  );
}

function disksSection(a: Audit, _qrSvg: string): string {
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
      : `<p class="none">storage not read</p>`)
  );
}

function gpusSection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  const gpus = hw.nvidia?.gpus;
  return (
    `<h2>GPUs</h2>` +
    (gpus
      ? `<p class="meta">NVIDIA driver ${t(hw.nvidia?.driver_version)}, CUDA ${
        t(hw.nvidia?.cuda_version)
      }</p>` +
        table(
          [
            "#",
            "Name",
            "Serial",
            "Bus",
            "VBIOS",
            "Memory",
            "PCIe",
            "ECC",
            "ECC vol. C/U",
            "Remap pend./fail",
            "Temp °C",
            "Power W",
            "Clock events",
          ],
          gpus.map((g) => [
            String(g.index),
            t(g.name),
            t(g.serial),
            t(g.pci_bus_id),
            t(g.vbios),
            g.memory_total_mib === null ? "–" : `${g.memory_total_mib} MiB`,
            `Gen${t(g.pcie_gen_current)}/${t(g.pcie_gen_max)} x${t(g.pcie_width_current)}/${
              t(g.pcie_width_max)
            }`,
            `${t(g.ecc_mode)}${/^enabled$/i.test(g.mig_mode ?? "") ? " · MIG on" : ""}`,
            `${t(g.ecc_volatile.correctable)} / ${t(g.ecc_volatile.uncorrectable)}`,
            `${t(g.remapped_rows.pending)} / ${t(g.remapped_rows.failure)}`,
            t(g.temperature_c),
            `${t(g.power_draw_w)} / ${t(g.power_limit_w)}`,
            t((g.clock_event_reasons_active ?? []).join(", ")),
          ]),
        )
      : `<p class="none">no NVIDIA data (${
        t(
          a.collectors.find((c) => c.name === "nvidia")?.message ?? "not collected",
        )
      })</p>`)
  );
}

function pcieSection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  return (
    `<h2>PCIe devices</h2>` + (hw.pcie
      ? table(
        ["Address", "Class", "Vendor", "Device", "Driver", "NUMA", "Link"],
        hw.pcie.devices.map((d) => [
          t(d.address),
          t(d.class ?? d.class_id),
          t(d.vendor ?? d.vendor_id),
          t(d.device ?? d.device_id),
          t(d.driver),
          t(d.numa_node),
          d.max_link_width
            ? `x${t(d.current_link_width)}/x${t(d.max_link_width)} ${t(d.current_link_speed)}`
            : "–",
        ]),
      )
      : `<p class="none">PCIe not read</p>`)
  );
}

function psusSection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  const sensors = hw.psu?.sensors?.filter((x) => x.is_power) ?? null;
  return (
    `<h2>Power supplies</h2>` + (sensors
      ? table(
        ["Sensor", "Status", "Entity", "Reading"],
        sensors.map((x) => [t(x.name), t(x.status), t(x.entity), t(x.reading)]),
      )
      : `<p class="none">${t(a.collectors.find((c) => c.name === "psu")?.message ?? "no IPMI data")}</p>`)
  );
}

function networkSection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  return (
    `<h2>Network</h2>` + (hw.network
      ? table(
        ["Interface", "MAC", "State", "Speed", "IPv4", "IPv6"],
        hw.network.interfaces.filter((i) => i.name !== "lo").map((i) => [
          t(i.name),
          t(i.mac),
          t(i.operstate),
          i.speed_mbps ? `${i.speed_mbps} Mb/s` : "–",
          t((i.ipv4 ?? []).join(" "), 400),
          t((i.ipv6 ?? []).join(" "), 400),
        ]),
      )
      : `<p class="none">network not read</p>`)
  );
}

function collectorsSection(a: Audit, _qrSvg: string): string {
  return (
    `<h2>Collectors</h2>` +
    table(
      ["Collector", "Status", "ms", "Message"],
      a.collectors.map((c) => [t(c.name), t(c.status), String(c.duration_ms), t(c.message, 300)]),
    )
  );
}

function footerSection(a: Audit, _qrSvg: string): string {
  return (
    `<p class="meta">Audit taken ${t(a.host.collected_at)} on ${t(a.host.hostname)} (kernel ${
      t(a.host.kernel)
    }) by bee ${t(a.bee.version)} (${
      t(a.bee.git_commit)
    }) in ${a.host.duration_ms} ms. <a href="/audit.json">audit.json</a> · <a href="/audit.schema.json">schema</a> · <a href="/sat/">acceptance tests</a> · <a href="/metrics">metrics</a></p>`
  );
}

/** The sections of the audit page, top to bottom: each renders its part from the typed audit. */
const SECTIONS: ((a: Audit, qrSvg: string) => string)[] = [
  bannerSection,
  findingsSection,
  boardSection,
  cpusSection,
  memorySection,
  disksSection,
  gpusSection,
  pcieSection,
  psusSection,
  networkSection,
  collectorsSection,
  footerSection,
];

/** The main page for a valid audit. `qrSvg` is the inline SVG of the QR summary. */
export function renderAuditPage(a: Audit, qrSvg: string): string {
  return page(
    `bee ${a.hardware.summary.verdict} — ${a.host.hostname ?? ""}`,
    SECTIONS.map((r) => r(a, qrSvg)).join("\n"),
  );
}

/** The page shown before the first audit exists. */
export function renderNoAudit(path: string): string {
  return page(
    "bee — audit not run yet",
    `<div class="banner NONE" id="verdict"><h1>NO AUDIT YET</h1><p>The audit has not run yet or is still in progress (${
      esc(path)
    }). This page refreshes every 10 s.</p></div>`,
    10,
  );
}

/** The page shown when the audit file is unreadable or invalid. */
export function renderBadAudit(problem: string): string {
  return page(
    "bee — audit unreadable",
    `<div class="banner FAIL" id="verdict"><h1>AUDIT UNREADABLE</h1><p>${
      t(problem, 500)
    }</p></div><p>Re-run the audit (<code>bee audit</code>) from the console or over SSH.</p>`,
  );
}
