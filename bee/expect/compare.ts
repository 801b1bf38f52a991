// The machine against the order: parts are taken from the audit's sections into typed part lists, each
// order line claims the parts it describes (first line that fits wins), and every difference becomes a
// hit of one of the `bom.*` rule rows — missing or extra parts, other firmware, slow links, parts bee
// could not see. Pure: audit data and expectation in, hits out.
import type { Hardware } from "../model/schema.ts";
import {
  type Expect,
  type OnDiff,
  ORDER_CATEGORIES,
  ORDER_CATEGORY_SOURCE,
  type OrderCategory,
} from "../model/expect.ts";

type Hw = Omit<Hardware, "summary">;
type Sev = "WARN" | "FAIL";

/** One difference: the bom.* rule it belongs to, where, what, and its severity (the line may override). */
export interface BomHit {
  code: "bom.missing" | "bom.extra" | "bom.firmware" | "bom.link" | "bom.system" | "bom.unchecked";
  component: string;
  message: string;
  severity: Sev;
}

/** A part of the machine, with the properties order lines test. */
interface Part {
  /** how a person finds it (slot, path, PCI address) */
  where: string;
  /** a short description for messages */
  what: string;
  props: Record<string, string | number | null>;
}

const GIB = 1024 ** 3;
const lc = (s: string | null | undefined) => (s ?? "").trim().toLowerCase();
const contains = (have: string | number | null, want: string) =>
  have === null ? null : lc(String(have)).includes(lc(want));
const equalsCi = (have: string | number | null, want: string) =>
  have === null ? null : lc(String(have)) === lc(want);
const within = (have: string | number | null, want: number, frac: number) =>
  have === null || typeof have !== "number" ? null : Math.abs(have - want) <= want * frac;
const fmtNum = (n: number) => (n >= 100 ? String(Math.round(n)) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** A test of one line field against a part: true fits, false does not, null the machine did not say. */
type Test = (p: Part) => boolean | null;

interface LineSpec {
  category: string;
  index: number;
  count: number;
  describe: string;
  tests: Test[];
  /** firmware checks on the parts the line claims: label, part property, expected value */
  firmware: { label: string; prop: string; want: string }[];
  onMissing: Sev | null;
  onExtra: Sev | null;
  onFirmware: Sev | null;
  /** extra checks on claimed parts (NIC link speed) */
  extra?: (claimed: Part[]) => BomHit[];
}

const sev = (o: OnDiff | undefined, dflt: Sev): Sev | null => (o === "ignore" ? null : o ?? dflt);

/** Parts of each category the audit shows; null when the section that lists them was not collected. */
export function machineParts(hw: Hw): Record<string, Part[] | null> {
  return {
    cpus: cpuParts(hw),
    memory: memoryParts(hw),
    disks: diskParts(hw),
    gpus: gpuParts(hw),
    nics: nicParts(hw),
    psus: psuParts(hw),
  };
}

function cpuParts(hw: Hw): Part[] | null {
  const sockets = (hw.cpu?.sockets ?? []).filter((s) => s.populated);
  if (sockets.length) {
    return sockets.map((s, i) => ({
      where: s.socket ?? `socket ${i}`,
      what: s.model ?? "CPU",
      props: { model: s.model, cores: s.cores },
    }));
  }
  const os = hw.cpu?.os;
  if (!os) return null;
  return Array.from({ length: os.packages }, (_, i) => ({
    where: `package ${i}`,
    what: os.model ?? "CPU",
    props: { model: os.model, cores: os.packages ? Math.round(os.cores / os.packages) : null },
  }));
}

function memoryParts(hw: Hw): Part[] | null {
  if (!hw.memory?.slots) return null;
  return hw.memory.slots.filter((s) => s.installed && s.kind !== "pmem").map((s) => {
    const gb = s.size_bytes === null ? null : s.size_bytes / GIB;
    return {
      where: s.locator ?? "DIMM",
      what: [
        gb === null ? null : `${fmtNum(gb)} GB`,
        s.type,
        s.speed_mts ? `${s.speed_mts} MT/s` : null,
        s.part_number,
      ]
        .filter(Boolean).join(" "),
      props: {
        size_gb: gb,
        speed_mts: s.speed_mts,
        type: s.type,
        part_number: s.part_number,
        manufacturer: s.manufacturer,
      },
    };
  });
}

/** Disks of the order: whole disks, not removable, not on USB (the stick bee booted from). */
export function orderDisks(hw: Hw) {
  return (hw.storage?.disks ?? []).filter((d) =>
    (d.type === null || d.type === "disk") && d.removable !== true && lc(d.transport) !== "usb"
  );
}

/** Block-device models that are a RAID controller's virtual drives, not disks (MegaRAID, PERC, HPE, IBM). */
const VIRTUAL_DRIVE = /^(MR\d|PERC\b|LOGICAL VOLUME|ServeRAID|Virtual Disk)/i;

/** The physical drives behind hardware RAID controllers (what an order counts), from their vendor tools. */
function raidDiskParts(hw: Hw): Part[] {
  return (hw.storage?.raid ?? []).flatMap((c) =>
    c.physical_drives.map((p) => {
      const gb = p.size_bytes === null ? null : p.size_bytes / 1e9;
      return {
        where: `raid ${c.id ?? "?"} slot ${p.slot ?? "?"}`,
        what: `${p.model ?? "disk"}${gb === null ? "" : ` ${fmtNum(gb)} GB`}${
          p.serial ? ` serial ${p.serial}` : ""
        }`,
        props: { model: p.model, size_gb: gb, transport: p.interface?.toLowerCase() ?? null, firmware: null },
      };
    })
  );
}

function diskParts(hw: Hw): Part[] | null {
  if (!hw.storage) return null;
  const behind = raidDiskParts(hw);
  // with a controller's own inventory, its virtual drives are not disks: the drives behind it are counted
  const blockDisks = orderDisks(hw).filter((d) => !(behind.length && VIRTUAL_DRIVE.test(d.model ?? "")));
  return [
    ...blockDisks.map((d) => {
      const gb = d.size_bytes === null ? null : d.size_bytes / 1e9;
      return {
        where: d.path,
        what: `${d.model ?? "disk"}${gb === null ? "" : ` ${fmtNum(gb)} GB`}${
          d.serial ? ` serial ${d.serial}` : ""
        }`,
        props: {
          model: d.model,
          size_gb: gb,
          transport: d.transport,
          firmware: d.firmware ?? d.nvme?.firmware ?? d.smart?.firmware ?? null,
        },
      };
    }),
    ...behind,
  ];
}

function gpuParts(hw: Hw): Part[] | null {
  const gpus = hw.nvidia?.gpus ?? [];
  if (gpus.length) {
    return gpus.map((g) => ({
      where: g.pci_bus_id ?? `gpu${g.index}`,
      what: `${g.name ?? "GPU"}${g.serial ? ` serial ${g.serial}` : ""}`,
      props: {
        model: g.name,
        memory_gib: g.memory_total_mib === null ? null : g.memory_total_mib / 1024,
        vbios: g.vbios,
        inforom: g.inforom_image ?? null,
      },
    }));
  }
  // without the driver: the GPUs the PCI bus shows (names differ from nvidia-smi's; firmware unknown)
  if (!hw.pcie) return null;
  return hw.pcie.devices.filter((d) => d.vendor_id === "10de" && (d.class_id ?? "").startsWith("03")).map((
    d,
  ) => ({
    where: d.address,
    what: d.device ?? "NVIDIA GPU",
    props: {
      model: `${d.vendor ?? ""} ${d.device ?? ""}`.trim(),
      memory_gib: null,
      vbios: null,
      inforom: null,
    },
  }));
}

/** PCI slot of a function address (domain:bus:device). */
const slotOf = (address: string) => address.replace(/\.[0-7]$/, "");

function nicParts(hw: Hw): Part[] | null {
  if (!hw.pcie) return null;
  const fns = hw.pcie.devices.filter((d) =>
    (d.class_id ?? "").startsWith("02") && !/virtual function/i.test(d.device ?? "")
  );
  const bySlot = new Map<string, typeof fns>();
  for (const f of fns) bySlot.set(slotOf(f.address), [...(bySlot.get(slotOf(f.address)) ?? []), f]);
  const ifaces = hw.network?.interfaces ?? [];
  const ibs = hw.infiniband?.devices ?? [];
  return [...bySlot.entries()].map(([slot, f]) => {
    const ports = f.map((fn) => ({
      fn,
      iface: ifaces.find((i) => i.pci_address === fn.address) ?? null,
      ib: ibs.find((d) => d.pci_address === fn.address) ?? null,
    }));
    const fw = [
      ...new Set(ports.map((p) => p.iface?.firmware ?? p.ib?.fw_ver).filter((x): x is string => !!x)),
    ];
    const model = `${f[0]!.vendor ?? ""} ${f[0]!.device ?? ""}`.trim();
    return {
      where: slot,
      what: `${model} (${ports.map((p) => p.iface?.name ?? p.fn.address).join(", ")})`,
      props: {
        model,
        ports: f.length,
        firmware: fw.length === 1 ? fw[0]! : fw.length ? fw.join(" / ") : null,
        // JSON of per-port link state for the link check
        links: JSON.stringify(
          ports.map((p) => {
            // an InfiniBand port has no netdev: its rate and physical state stand for speed and carrier
            const ibPort = p.iface ? null : p.ib?.ports[0] ?? null;
            return {
              port: p.iface?.name ?? (p.ib ? `${p.ib.name}/${ibPort?.port ?? "?"}` : p.fn.address),
              mbps: p.iface ? p.iface.speed_mbps : ibPort?.rate_gbps != null ? ibPort.rate_gbps * 1000 : null,
              carrier: p.iface ? p.iface.carrier : ibPort ? /^linkup$/i.test(ibPort.phys_state ?? "") : null,
              known: p.iface !== null || ibPort !== null,
            };
          }),
        ),
      },
    };
  });
}

function psuParts(hw: Hw): Part[] | null {
  if (!hw.psu) return null;
  const named = (hw.psu.fru ?? []).filter((f) =>
    /\b(psu?\s*\d*|power\s*supply|pws)\b/i.test(f.description ?? "")
  );
  if (named.length) {
    return named.map((f) => ({
      where: f.description ?? "PSU",
      what: f.fields["Product Name"] ?? f.fields["Board Product"] ?? f.description ?? "PSU",
      props: { model: f.fields["Product Name"] ?? f.fields["Board Product"] ?? null },
    }));
  }
  // no PSU FRU: count the power-supply entities the sensors show; model unknown
  const ents = new Set(
    (hw.psu.sensors ?? []).flatMap((s) => {
      if (s.entity && /^10\.\d+$/.test(s.entity)) return [s.entity];
      const m = /\bPSU?\s*(\d+)/i.exec(s.name ?? "");
      return m ? [`PS${m[1]}`] : [];
    }),
  );
  return [...ents].sort().map((e) => ({ where: e, what: `PSU ${e}`, props: { model: null } }));
}

type LineBase = { count: number; on_missing?: OnDiff; on_extra?: OnDiff; on_firmware?: OnDiff };

/** What every order line has: its place, its count, its description and its on_* settings. */
const base = (category: string, index: number, l: LineBase, describe: string) => ({
  category,
  index,
  count: l.count,
  describe: `${l.count} × ${describe}`,
  onMissing: sev(l.on_missing, "FAIL"),
  onExtra: sev(l.on_extra, "FAIL"),
  onFirmware: sev(l.on_firmware, "WARN"),
});
const words = (...xs: (string | false | undefined | null)[]) => xs.filter(Boolean).join(" ") || "any";

const cpuSpecs = (e: Expect): LineSpec[] =>
  (e.cpus ?? []).map((l, i) => ({
    ...base("cpus", i, l, words(l.model, l.cores !== undefined && `${l.cores} cores`)),
    tests: [
      ...(l.model ? [(p: Part) => contains(p.props.model!, l.model!)] : []),
      ...(l.cores !== undefined
        ? [(p: Part) => p.props.cores === null ? null : p.props.cores === l.cores]
        : []),
    ],
    firmware: [],
  }));

const memorySpecs = (e: Expect): LineSpec[] =>
  (e.memory ?? []).map((l, i) => ({
    ...base(
      "memory",
      i,
      l,
      words(
        l.size_gb !== undefined && `${l.size_gb} GB`,
        l.type,
        l.speed_mts !== undefined && `${l.speed_mts} MT/s`,
        l.manufacturer,
        l.part_number,
      ),
    ),
    tests: [
      ...(l.size_gb !== undefined ? [(p: Part) => within(p.props.size_gb!, l.size_gb!, 0.01)] : []),
      ...(l.speed_mts !== undefined
        ? [(p: Part) => p.props.speed_mts === null ? null : p.props.speed_mts === l.speed_mts]
        : []),
      ...(l.type ? [(p: Part) => equalsCi(p.props.type!, l.type!)] : []),
      ...(l.part_number ? [(p: Part) => contains(p.props.part_number!, l.part_number!)] : []),
      ...(l.manufacturer ? [(p: Part) => contains(p.props.manufacturer!, l.manufacturer!)] : []),
    ],
    firmware: [],
  }));

const diskSpecs = (e: Expect): LineSpec[] =>
  (e.disks ?? []).map((l, i) => ({
    ...base("disks", i, l, words(l.model, l.size_gb !== undefined && `${l.size_gb} GB`, l.transport)),
    tests: [
      ...(l.model ? [(p: Part) => contains(p.props.model!, l.model!)] : []),
      ...(l.size_gb !== undefined ? [(p: Part) => within(p.props.size_gb!, l.size_gb!, 0.02)] : []),
      ...(l.transport ? [(p: Part) => equalsCi(p.props.transport!, l.transport!)] : []),
    ],
    firmware: l.firmware ? [{ label: "firmware", prop: "firmware", want: l.firmware }] : [],
  }));

const gpuSpecs = (e: Expect): LineSpec[] =>
  (e.gpus ?? []).map((l, i) => ({
    ...base("gpus", i, l, words(l.model, l.memory_gib !== undefined && `${l.memory_gib} GiB`)),
    tests: [
      ...(l.model ? [(p: Part) => contains(p.props.model!, l.model!)] : []),
      ...(l.memory_gib !== undefined ? [(p: Part) => within(p.props.memory_gib!, l.memory_gib!, 0.1)] : []),
    ],
    firmware: [
      ...(l.vbios ? [{ label: "VBIOS", prop: "vbios", want: l.vbios }] : []),
      ...(l.inforom ? [{ label: "InfoROM", prop: "inforom", want: l.inforom }] : []),
    ],
  }));

/** The link speed an order's NIC line asks for, against every port of the adapters it claimed. */
function linkHits(index: number, speedGbps: number, onLink: Sev, claimed: Part[]): BomHit[] {
  const want = speedGbps * 1000;
  const component = `bom:nics#${index + 1}`;
  return claimed.flatMap((p) =>
    (JSON.parse(String(p.props.links)) as {
      port: string;
      mbps: number | null;
      carrier: boolean | null;
      known: boolean;
    }[])
      .flatMap((pt): BomHit[] => {
        if (!pt.known) return [];
        if (pt.carrier === false || pt.mbps === null || pt.mbps <= 0) {
          const message = `${pt.port} (${p.props.model}): no link; the order says ${speedGbps} Gb/s`;
          return [{ code: "bom.link", component, message, severity: onLink }];
        }
        return pt.mbps < want
          ? [{
            code: "bom.link",
            component,
            message: `${pt.port} (${p.props.model}): link at ${
              pt.mbps / 1000
            } Gb/s, the order says ${speedGbps} Gb/s`,
            severity: onLink,
          }]
          : [];
      })
  );
}

const nicSpecs = (e: Expect): LineSpec[] =>
  (e.nics ?? []).map((l, i) => {
    const onLink = sev(l.on_link, "WARN");
    const spec: LineSpec = {
      ...base("nics", i, l, words(l.model, l.ports !== undefined && `${l.ports}-port`)),
      tests: [
        ...(l.model ? [(p: Part) => contains(p.props.model!, l.model!)] : []),
        ...(l.ports !== undefined ? [(p: Part) => p.props.ports === l.ports] : []),
      ],
      firmware: l.firmware ? [{ label: "firmware", prop: "firmware", want: l.firmware }] : [],
    };
    if (l.speed_gbps !== undefined && onLink) {
      spec.extra = (claimed) => linkHits(i, l.speed_gbps!, onLink, claimed);
    }
    return spec;
  });

const psuSpecs = (e: Expect): LineSpec[] =>
  (e.psus ?? []).map((l, i) => ({
    ...base("psus", i, l, words(l.model, "PSU")),
    tests: l.model ? [(p: Part) => contains(p.props.model!, l.model!)] : [],
    firmware: [],
  }));

/** The order's lines, category by category, with the tests a machine part must pass to fill them. */
function lineSpecs(e: Expect): LineSpec[] {
  return [...cpuSpecs(e), ...memorySpecs(e), ...diskSpecs(e), ...gpuSpecs(e), ...nicSpecs(e), ...psuSpecs(e)];
}

const list = (ps: Part[], n = 6) =>
  ps.slice(0, n).map((p) => `${p.where}: ${p.what}`).join("; ") +
  (ps.length > n ? `; … ${ps.length - n} more` : "");

/** System manufacturer and product against the order. */
function systemHits(hw: Hw, e: Expect): BomHit[] {
  const hits: BomHit[] = [];
  const sys = hw.board?.system;
  const s = e.system ? sev(e.system.on_mismatch, "FAIL") : null;
  if (!e.system || !s) return hits;
  for (const key of ["manufacturer", "product"] as const) {
    const want = e.system[key];
    if (!want) continue;
    const have = sys?.[key] ?? null;
    if (have === null) {
      const message = `system ${key} not read; the order says "${want}"`;
      hits.push({ code: "bom.unchecked", component: "bom:system", message, severity: "WARN" });
    } else if (!contains(have, want)) {
      const message = `system ${key} is "${have}", the order says "${want}"`;
      hits.push({ code: "bom.system", component: "bom:system", message, severity: s });
    }
  }
  return hits;
}

/** One firmware version against the order (not read: unchecked). */
function firmwareHit(
  component: string,
  label: string,
  have: string | null,
  want: string,
  s: Sev | null,
): BomHit[] {
  if (!s) return [];
  if (have === null) {
    return [{
      code: "bom.unchecked",
      component,
      message: `${label} not read; the order says ${want}`,
      severity: "WARN",
    }];
  }
  return lc(have) !== lc(want)
    ? [{
      code: "bom.firmware",
      component,
      message: `${label} is ${have}, the order says ${want}`,
      severity: s,
    }]
    : [];
}

/** A line's firmware checks over the parts it claimed. */
function lineFirmwareHits(l: LineSpec, component: string, claimed: Part[]): BomHit[] {
  const hits: BomHit[] = [];
  if (!l.onFirmware) return hits;
  for (const f of l.firmware) {
    const unknown = claimed.filter((p) => p.props[f.prop] === null);
    const other = claimed.filter((p) =>
      p.props[f.prop] !== null && lc(String(p.props[f.prop])) !== lc(f.want)
    );
    if (other.length) {
      hits.push({
        code: "bom.firmware",
        component,
        message: `${f.label} ${f.want} ordered; ${other.length} differ: ${
          other.slice(0, 6).map((p) => `${p.where} ${p.props[f.prop]}`).join(", ")
        }${other.length > 6 ? ", …" : ""}`,
        severity: l.onFirmware,
      });
    }
    if (unknown.length) {
      hits.push({
        code: "bom.unchecked",
        component,
        message: `${f.label} of ${unknown.length} part(s) not read (${
          list(unknown, 3)
        }); the order says ${f.want}`,
        severity: "WARN",
      });
    }
  }
  return hits;
}

/** The lines of one category against the parts the machine has: each line claims the parts that fit it. */
function categoryHits(category: OrderCategory, lines: LineSpec[], have: Part[]): BomHit[] {
  const hits: BomHit[] = [];
  let free = [...have];
  for (const l of lines) {
    const component = `bom:${category}#${l.index + 1}`;
    const claimed = free.filter((p) => l.tests.every((t) => t(p) !== false));
    free = free.filter((p) => !claimed.includes(p));
    if (claimed.length < l.count && l.onMissing) {
      hits.push({
        code: "bom.missing",
        component,
        message: `ordered ${l.describe}, found ${claimed.length}${
          claimed.length ? ` (${list(claimed, 4)})` : ""
        }`,
        severity: l.onMissing,
      });
    }
    if (claimed.length > l.count && l.onExtra) {
      hits.push({
        code: "bom.extra",
        component,
        message: `ordered ${l.describe}, found ${claimed.length} (${
          list(claimed.slice(l.count))
        } beyond the order)`,
        severity: l.onExtra,
      });
    }
    hits.push(...lineFirmwareHits(l, component, claimed));
    if (l.extra) hits.push(...l.extra(claimed));
  }
  if (free.length) {
    const message = `${free.length} not in the order: ${list(free)}`;
    hits.push({ code: "bom.extra", component: `bom:${category}`, message, severity: "FAIL" });
  }
  return hits;
}

/** Every difference between the machine (audit sections) and the order. */
export function compareExpect(hw: Hw, e: Expect): BomHit[] {
  const hits: BomHit[] = [...systemHits(hw, e)];
  if (e.bios) {
    hits.push(
      ...firmwareHit(
        "bom:bios",
        "BIOS version",
        hw.board?.bios.version ?? null,
        e.bios.version,
        sev(e.bios.on_firmware, "WARN"),
      ),
    );
  }
  if (e.bmc) {
    hits.push(
      ...firmwareHit(
        "bom:bmc",
        "BMC firmware",
        hw.bmc?.info?.firmware ?? null,
        e.bmc.firmware,
        sev(e.bmc.on_firmware, "WARN"),
      ),
    );
  }
  const parts = machineParts(hw);
  const specs = lineSpecs(e);
  for (const category of ORDER_CATEGORIES) {
    const lines = specs.filter((s) => s.category === category);
    if (!lines.length) continue;
    const have = parts[category];
    if (have === null || have === undefined) {
      hits.push({
        code: "bom.unchecked",
        component: `bom:${category}`,
        message: `${category} not checked: ${ORDER_CATEGORY_SOURCE[category]} returned nothing`,
        severity: "WARN",
      });
      continue;
    }
    hits.push(...categoryHits(category, lines, have));
  }
  return hits;
}
