// `bee expect --from-audit`: a starting order file from a known-good machine's audit — the parts grouped
// into lines with plain `count:` fields, firmware pinned where every part of a line agrees.
import { stringify } from "yaml";
import type { Audit } from "../model/schema.ts";
import { type Expect, EXPECT_VERSION } from "../model/expect.ts";
import { machineParts, orderDisks } from "./compare.ts";

const GIB = 1024 ** 3;

/** Round for a human order line: whole units from 100 up, one decimal from 10, two below. */
function round(n: number): number {
  return n >= 100 ? Math.round(n) : n >= 10 ? Math.round(n * 10) / 10 : Math.round(n * 100) / 100;
}

/** Groups items by a key; keeps first-seen order. */
function groups<T>(items: T[], key: (t: T) => string): T[][] {
  const m = new Map<string, T[]>();
  for (const t of items) m.set(key(t), [...(m.get(key(t)) ?? []), t]);
  return [...m.values()];
}

/** The one value every item has, else undefined (a line pins firmware only when all agree). */
function common<T>(items: T[], f: (t: T) => string | null | undefined): string | undefined {
  const vals = new Set(items.map(f));
  if (vals.size !== 1) return undefined;
  const v = [...vals][0];
  return v ? v : undefined;
}

const defined = <T extends Record<string, unknown>>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;

/** An expectation that the audited machine meets exactly. */
export function expectFromAudit(a: Audit): Expect {
  const hw = a.hardware;
  const e: Expect = { bee_expect: EXPECT_VERSION };
  const sys = hw.board?.system;
  const name = [sys?.manufacturer, sys?.product].filter(Boolean).join(" ");
  if (name) e.name = name.slice(0, 256);
  if (sys?.manufacturer || sys?.product) {
    e.system = defined({ manufacturer: sys.manufacturer ?? undefined, product: sys.product ?? undefined });
  }
  if (hw.board?.bios.version) e.bios = { version: hw.board.bios.version };
  if (hw.bmc?.info?.firmware) e.bmc = { firmware: hw.bmc.info.firmware };

  const sockets = (hw.cpu?.sockets ?? []).filter((s) => s.populated);
  if (sockets.length) {
    e.cpus = groups(sockets, (s) => `${s.model}|${s.cores}`).map((g) =>
      defined({ count: g.length, model: g[0]!.model ?? undefined, cores: g[0]!.cores ?? undefined })
    );
  } else if (hw.cpu?.os) {
    e.cpus = [defined({ count: hw.cpu.os.packages, model: hw.cpu.os.model ?? undefined })];
  }

  const dimms = (hw.memory?.slots ?? []).filter((s) => s.installed && s.kind !== "pmem");
  if (hw.memory?.slots) {
    e.memory = groups(dimms, (s) => `${s.size_bytes}|${s.type}|${s.speed_mts}`).map((g) =>
      defined({
        count: g.length,
        size_gb: g[0]!.size_bytes === null ? undefined : round(g[0]!.size_bytes / GIB),
        type: g[0]!.type ?? undefined,
        speed_mts: g[0]!.speed_mts ?? undefined,
      })
    );
  }

  if (hw.storage) {
    const disks = orderDisks(hw);
    e.disks = groups(
      disks,
      (d) => `${d.model}|${d.size_bytes === null ? "" : round(d.size_bytes / 1e9)}|${d.transport}`,
    ).map((g) =>
      defined({
        count: g.length,
        model: g[0]!.model ?? undefined,
        size_gb: g[0]!.size_bytes === null ? undefined : round(g[0]!.size_bytes / 1e9),
        transport: g[0]!.transport ?? undefined,
        firmware: common(g, (d) => d.firmware ?? d.nvme?.firmware ?? d.smart?.firmware),
      })
    );
  }

  const gpus = hw.nvidia?.gpus ?? [];
  if (gpus.length) {
    e.gpus = groups(gpus, (g) => `${g.name}|${g.memory_total_mib}`).map((g) =>
      defined({
        count: g.length,
        model: g[0]!.name ?? undefined,
        memory_gib: g[0]!.memory_total_mib === null ? undefined : round(g[0]!.memory_total_mib / 1024),
        vbios: common(g, (x) => x.vbios),
        inforom: common(g, (x) => x.inforom_image),
      })
    );
  }

  const parts = machineParts(hw);
  if (parts.nics) {
    const adapters = parts.nics.map((p) => {
      const links = JSON.parse(String(p.props.links)) as { mbps: number | null; carrier: boolean | null }[];
      const speeds = links.map((l) => (l.carrier !== false ? l.mbps : null));
      return {
        model: String(p.props.model ?? ""),
        ports: Number(p.props.ports),
        // a speed is pinned only when every port has link at one speed
        speed: speeds.length && speeds.every((s) => s !== null && s > 0) && new Set(speeds).size === 1
          ? speeds[0]! / 1000
          : null,
        firmware: p.props.firmware === null ? null : String(p.props.firmware),
      };
    });
    e.nics = groups(adapters, (n) => `${n.model}|${n.ports}`).map((g) => {
      const speed = common(g, (n) => (n.speed === null ? null : String(n.speed)));
      return defined({
        count: g.length,
        model: g[0]!.model || undefined,
        ports: g[0]!.ports,
        speed_gbps: speed === undefined ? undefined : Number(speed),
        firmware: common(g, (n) => n.firmware),
      });
    });
  }
  if (parts.psus?.length) {
    e.psus = [defined({
      count: parts.psus.length,
      model: common(parts.psus, (p) => (p.props.model === null ? null : String(p.props.model))),
    })];
  }
  return e;
}

/** The order file's text: a comment header (what it is, how lines match) and the YAML. */
export function expectYaml(e: Expect, source: string): string {
  const head = [
    `# bee expected bill of materials, made by \`bee expect --from-audit\` from ${source}`,
    "# Edit it to match the order; `bee audit --expect FILE` turns every difference into a finding.",
    "# A part fits the first line whose fields it matches (model: substring, case-insensitive); count is",
    "# how many the order has. Per line: on_missing / on_extra (default FAIL), on_firmware (default WARN),",
    "# each FAIL, WARN or ignore. The schema: bee/model/expect.schema.json in the bee sources.",
  ];
  return `${head.join("\n")}\n${stringify(e, { lineWidth: 0 })}`;
}
