// Before/after GPU health: volatile ECC counts, retired pages and remapped rows from two
// `nvidia-smi -q` parses, and the `NVRM: Xid` lines that appeared in the kernel log meanwhile.
import type { Gpu, Nvidia } from "../model/schema.ts";
import type { JobResult } from "./summary.ts";
import { finding, judge, NO_HARDWARE } from "../audit/verdict.ts";

/**
 * XIDs that point at the GPU itself (memory/ECC, NVLink, bus, GSP and micro-controller failures) rather
 * than at the application or driver — they decide the suggested action, not whether gpu_xid fails: an
 * acceptance test fails on any new XID. Source: NVIDIA's XID catalogue (XID errors, r550+), DCGM's
 * diagnostic list of hardware XIDs.
 */
export const FATAL_XIDS = new Set([48, 62, 63, 64, 74, 79, 92, 94, 95, 119, 120, 140]);

/** What each common XID means (NVIDIA XID catalogue wording, shortened). */
export const XID_MEANING: Record<number, string> = {
  13: "graphics engine exception",
  31: "GPU memory page fault",
  32: "invalid or corrupted push buffer stream",
  43: "GPU stopped processing",
  45: "preemptive cleanup after previous errors",
  48: "double-bit ECC error",
  61: "internal micro-controller breakpoint/warning",
  62: "internal micro-controller halt",
  63: "ECC page retirement or row remapping recording event",
  64: "ECC page retirement or row remapper recording failure",
  68: "video decoder exception",
  69: "graphics engine class error",
  74: "NVLink error",
  79: "GPU has fallen off the bus",
  92: "high single-bit ECC error rate",
  94: "contained ECC error",
  95: "uncontained ECC error",
  119: "GSP RPC timeout",
  120: "GSP error",
  140: "unrecovered ECC error",
};

/** `79 (GPU has fallen off the bus)` */
export function xidName(xid: number): string {
  return `${xid} (${XID_MEANING[xid] ?? "see NVIDIA's XID catalogue"})`;
}

/** One `NVRM: Xid` kernel log line. */
export interface XidEvent {
  pci: string | null;
  xid: number;
  text: string;
}

/** Parses `NVRM: Xid (PCI:0000:3b:00): 79, pid=…, …` lines of a kernel log. */
export function parseXids(log: string): XidEvent[] {
  const out: XidEvent[] = [];
  for (const line of log.split("\n")) {
    const m = line.match(/NVRM: Xid \((?:PCI:)?([0-9A-Fa-f:.]+)\): (\d+)\b/);
    if (m) out.push({ pci: m[1]!.toLowerCase(), xid: Number(m[2]), text: line.trim().slice(0, 300) });
  }
  return out;
}

/** Lines of `after` that were not in `before` (a multiset difference: the ring buffer may have moved). */
export function newLines(before: string, after: string): string {
  const seen = new Map<string, number>();
  for (const l of before.split("\n")) seen.set(l, (seen.get(l) ?? 0) + 1);
  const out: string[] = [];
  for (const l of after.split("\n")) {
    const n = seen.get(l) ?? 0;
    if (n > 0) seen.set(l, n - 1);
    else if (l.trim()) out.push(l);
  }
  return out.join("\n");
}

/** Judges the XIDs that appeared during the SAT: any new one fails; the fatal list picks the action. */
export function judgeXids(events: XidEvent[]): JobResult {
  const facts: Record<string, string> = {
    new_xids: events.map((e) => `${e.xid}@${e.pci ?? "?"}`).slice(0, 20).join(",") || "none",
  };
  if (!events.length) return { name: "gpu_xid", status: "OK", facts };
  const distinct = [...new Map(events.map((e) => [`${e.xid}@${e.pci}`, e])).values()];
  const hardware = distinct.some((e) => FATAL_XIDS.has(e.xid));
  facts["action"] = hardware
    ? "GPU hardware XID: check nvidia-smi -q for ECC/remap state, reseat the GPU and its power, RMA if it repeats"
    : "application/driver XID during bee's own stress: update the driver and re-run; if it repeats, treat the GPU as suspect";
  const findings = distinct.slice(0, 10).map((e) =>
    finding(
      FATAL_XIDS.has(e.xid) ? "nvidia.xid_hardware" : "nvidia.xid",
      `nvidia:${e.pci ?? "?"}`,
      `XID ${xidName(e.xid)}: ${e.text.slice(0, 200)}`,
    )
  );
  return {
    name: "gpu_xid",
    findings,
    status: "FAILED",
    reason: `${events.length} new XID event(s): ${
      distinct.slice(0, 6).map((e) => `${xidName(e.xid)} on ${e.pci ?? "?"}`).join("; ")
    } (${distinct[0]!.text.slice(0, 120)})`,
    facts,
  };
}

function key(g: Gpu): string {
  return g.pci_bus_id ?? g.uuid ?? `index${g.index}`;
}

const delta = (
  a: number | null,
  b: number | null,
): number | null => (a === null || b === null ? null : b - a);

/** Compares the health counters of the selected GPUs before and after the stress. */
export function judgeHealth(before: Nvidia, after: Nvidia, selected: number[]): JobResult {
  const problems: string[] = [];
  const facts: Record<string, number | string | null> = {};
  const afterBy = new Map(after.gpus.map((g) => [key(g), g]));
  for (const b of before.gpus.filter((g) => selected.includes(g.index))) {
    const a = afterBy.get(key(b));
    const p = `gpu${b.index}`;
    if (!a) {
      problems.push(`GPU ${b.index} (${b.pci_bus_id ?? "?"}) is missing after the stress`);
      continue;
    }
    const ce = delta(b.ecc_volatile.correctable, a.ecc_volatile.correctable);
    const ue = delta(b.ecc_volatile.uncorrectable, a.ecc_volatile.uncorrectable);
    const rs = delta(b.retired_pages.single_bit, a.retired_pages.single_bit);
    const rd = delta(b.retired_pages.double_bit, a.retired_pages.double_bit);
    const rru = delta(b.remapped_rows.uncorrectable, a.remapped_rows.uncorrectable);
    const rrc = delta(b.remapped_rows.correctable, a.remapped_rows.correctable);
    facts[`${p}_ecc_volatile_correctable_new`] = ce;
    facts[`${p}_ecc_volatile_uncorrectable_new`] = ue;
    facts[`${p}_retired_pages_new`] = rs === null && rd === null ? null : (rs ?? 0) + (rd ?? 0);
    facts[`${p}_remapped_rows_new`] = rru === null && rrc === null ? null : (rru ?? 0) + (rrc ?? 0);
    if (ue !== null && ue > 0) {
      problems.push(`GPU ${b.index}: ${ue} new uncorrectable (double-bit) ECC errors`);
    }
    if ((rs ?? 0) + (rd ?? 0) > 0) {
      problems.push(`GPU ${b.index}: ${(rs ?? 0) + (rd ?? 0)} pages newly retired`);
    }
    if ((rru ?? 0) + (rrc ?? 0) > 0) {
      problems.push(`GPU ${b.index}: ${(rru ?? 0) + (rrc ?? 0)} rows newly remapped`);
    }
    if (a.retired_pages.pending) problems.push(`GPU ${b.index}: page retirement pending (needs a GPU reset)`);
    if (a.remapped_rows.pending) problems.push(`GPU ${b.index}: row remap pending (needs a GPU reset)`);
    if (a.remapped_rows.failure) problems.push(`GPU ${b.index}: row remapping failure`);
  }
  // the audit's own GPU rules on the state after the stress: same codes, same actions as bee audit
  const selectedAfter = after.gpus.filter((g) =>
    before.gpus.some((b) => b.index === g.index && selected.includes(b.index))
  );
  const findings = judge({ ...NO_HARDWARE, nvidia: { ...after, gpus: selectedAfter } }, []).filter((f) =>
    f.code.startsWith("nvidia.")
  );
  if (problems.length) {
    return { name: "gpu_health", status: "FAILED", reason: problems.join("; "), facts, findings };
  }
  return { name: "gpu_health", status: "OK", facts, findings };
}
