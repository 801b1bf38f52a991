// Parses `nvidia-smi -q` text (drivers 470 to 580 layouts) into per-GPU health and identity.
import { clean, int, num } from "../lib/text.ts";
import { normalizePciAddress } from "./lspci.ts";
import type { Gpu, Nvidia } from "../model/schema.ts";

/** A node of the indented `Key : Value` tree that `nvidia-smi -q` prints. */
export interface QNode {
  key: string;
  value: string | null;
  children: QNode[];
}

/** Builds the indentation tree of `nvidia-smi -q` output. */
export function parseQTree(text: string): QNode {
  const root: QNode = { key: "", value: null, children: [] };
  const stack: { indent: number; node: QNode }[] = [{ indent: -1, node: root }];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (!line.trim() || /^=+/.test(line.trim())) continue;
    const indent = line.length - line.trimStart().length;
    while (stack.length > 1 && stack[stack.length - 1]!.indent >= indent) stack.pop();
    const body = line.trim();
    const at = body.indexOf(" : ");
    let key: string, value: string | null;
    if (at >= 0) {
      key = body.slice(0, at).trim();
      value = body.slice(at + 3).trim();
    } else if (body.endsWith(":")) {
      key = body.slice(0, -1).trim();
      value = "";
    } else {
      key = body;
      value = null;
    }
    const node: QNode = { key, value, children: [] };
    stack[stack.length - 1]!.node.children.push(node);
    stack.push({ indent, node });
  }
  return root;
}

/** The first descendant along `path`, matching keys case-insensitively; any of `alts` per step. */
export function qget(node: QNode | undefined, ...path: (string | string[])[]): QNode | undefined {
  let cur = node;
  for (const step of path) {
    if (!cur) return undefined;
    const names = (Array.isArray(step) ? step : [step]).map((s) => s.toLowerCase());
    cur = cur.children.find((c) => names.includes(c.key.toLowerCase()));
  }
  return cur;
}

const val = (n: QNode | undefined) => clean(n?.value ?? null);
/** A value nvidia-smi may print as N/A: null then. */
const naOrVal = (n: QNode | undefined) => {
  const v = val(n);
  return v && !/^n\/a$/i.test(v) ? v : null;
};
const yesNo = (n: QNode | undefined): boolean | null => {
  const v = val(n)?.toLowerCase();
  return v === "yes" ? true : v === "no" ? false : null;
};

/** Sums the counters under an ECC section: old (Single/Double Bit → Total) and new (SRAM/DRAM) layouts. */
function eccCounts(section: QNode | undefined): { correctable: number | null; uncorrectable: number | null } {
  if (!section) return { correctable: null, uncorrectable: null };
  const single = qget(section, ["Single Bit"], "Total");
  const double = qget(section, ["Double Bit"], "Total");
  if (single || double) return { correctable: int(val(single)), uncorrectable: int(val(double)) };
  let c: number | null = null, u: number | null = null;
  for (const ch of section.children) {
    const n = int(val(ch));
    if (n === null || /threshold/i.test(ch.key)) continue;
    if (/uncorrectable/i.test(ch.key)) u = (u ?? 0) + n;
    else if (/correctable/i.test(ch.key)) c = (c ?? 0) + n;
  }
  return { correctable: c, uncorrectable: u };
}

/** Names of the clock event (throttle) reasons marked Active, or null when the section is absent. */
function activeReasons(gpu: QNode): string[] | null {
  const sec = qget(gpu, ["Clocks Event Reasons", "Clocks Throttle Reasons", "Clocks Reasons"]);
  if (!sec) return null;
  const out: string[] = [];
  const walk = (n: QNode) => {
    for (const ch of n.children) {
      if (ch.value?.toLowerCase() === "active") out.push(ch.key.slice(0, 128));
      walk(ch);
    }
  };
  walk(sec);
  return out;
}

/** One GPU section (`GPU 00000000:4F:00.0`) into the audit's GPU record. */
function gpuFromSection(sec: QNode, index: number): Gpu {
  const pci = qget(sec, "PCI");
  const link = qget(pci, "GPU Link Info");
  const power = qget(sec, ["GPU Power Readings", "Power Readings"]);
  const retired = qget(sec, "Retired Pages");
  const remap = qget(sec, "Remapped Rows");
  const busId = val(qget(pci, "Bus Id")) ?? sec.key.replace(/^GPU\s+/, "");
  return {
    index,
    name: val(qget(sec, "Product Name")),
    uuid: val(qget(sec, "GPU UUID")),
    serial: val(qget(sec, "Serial Number")),
    vbios: val(qget(sec, "VBIOS Version")),
    inforom_image: naOrVal(qget(sec, "Inforom Version", "Image Version")),
    fabric_state: naOrVal(qget(sec, "Fabric", "State")),
    fabric_status: naOrVal(qget(sec, "Fabric", "Status")),
    architecture: val(qget(sec, "Product Architecture")),
    pci_bus_id: busId ? normalizePciAddress(busId) : null,
    memory_total_mib: int(val(qget(sec, "FB Memory Usage", "Total"))),
    pcie_gen_current: int(val(qget(link, "PCIe Generation", "Current"))),
    pcie_gen_max: int(val(qget(link, "PCIe Generation", "Max"))),
    pcie_width_current: int(val(qget(link, "Link Width", "Current"))),
    pcie_width_max: int(val(qget(link, "Link Width", "Max"))),
    ecc_mode: val(qget(sec, "ECC Mode", "Current")),
    mig_mode: val(qget(sec, "MIG Mode", "Current")),
    ecc_volatile: eccCounts(qget(sec, "ECC Errors", "Volatile")),
    ecc_aggregate: eccCounts(qget(sec, "ECC Errors", "Aggregate")),
    retired_pages: {
      single_bit: int(val(qget(retired, ["Single Bit ECC"]))),
      double_bit: int(val(qget(retired, ["Double Bit ECC"]))),
      pending: yesNo(qget(retired, ["Pending Page Blacklist", "Pending Page Retirement", "Pending"])),
    },
    remapped_rows: {
      correctable: int(val(qget(remap, "Correctable Error"))),
      uncorrectable: int(val(qget(remap, "Uncorrectable Error"))),
      pending: yesNo(qget(remap, "Pending")),
      failure: yesNo(qget(remap, "Remapping Failure Occurred")),
    },
    temperature_c: int(val(qget(sec, "Temperature", "GPU Current Temp"))),
    max_operating_temp_c: int(val(qget(sec, "Temperature", "GPU Max Operating Temp"))),
    power_draw_w: num(val(qget(power, ["Power Draw", "Instantaneous Power Draw", "Average Power Draw"]))),
    power_limit_w: num(val(qget(power, ["Current Power Limit", "Enforced Power Limit", "Power Limit"]))),
    clock_event_reasons_active: activeReasons(sec),
  };
}

/**
 * The driver's version number: driver 610 prints `Driver Version : 610.xx [Deprecated, …]` beside a
 * `KMD Version` line — the number, not the note; the KMD version where the driver line has none.
 */
export function driverVersion(driver: string | null, kmd: string | null): string | null {
  const num = (v: string | null) => /\d+\.\d+(?:\.\d+)?/.exec(v ?? "")?.[0] ?? null;
  return num(driver) ?? num(kmd) ?? driver;
}

/** Parses the whole `nvidia-smi -q` output; GPUs are indexed in the order printed (PCI bus order). */
export function parseNvidiaSmiQ(text: string): Nvidia {
  const tree = parseQTree(text);
  const sections = tree.children.filter((c) =>
    /^GPU [0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i.test(c.key)
  );
  if (sections.length === 0 && !qget(tree, "Driver Version") && !qget(tree, "KMD Version")) {
    throw new Error("not nvidia-smi -q output (no Driver Version, no GPU section)");
  }
  return {
    driver_version: driverVersion(val(qget(tree, "Driver Version")), val(qget(tree, "KMD Version"))),
    cuda_version: val(qget(tree, "CUDA Version")),
    gpus: sections.map((s, i) => gpuFromSection(s, i)),
  };
}

/** True when nvidia-smi's message says the kernel driver is not loaded or not reachable. */
export function driverUnavailable(output: string): boolean {
  return /couldn't communicate with the NVIDIA driver|NVIDIA driver is not loaded|Driver\/library version mismatch|Failed to initialize NVML/i
    .test(output);
}

/** True when nvidia-smi says there is no GPU at all. */
export function noDevices(output: string): boolean {
  return /No devices were found/i.test(output);
}
