// The bee-gpu-stress JSON-lines contract (start, progress, result, error, end) read into one state,
// and the judgement of a stress run. A run is OK only when the tool ran to its end, reported a
// result for every selected GPU, found no mismatches or errors, and exited 0 — never on exit 0 alone.
import type { ProcResult } from "../lib/proc.ts";
import type { JobResult } from "./summary.ts";
import { cudaNotInitialised } from "./nvidia/fabric.ts";

type Json = Record<string, unknown>;

export interface StressStart {
  device: number;
  name: string | null;
  pci_bus_id: string | null;
  compute_capability: string | null;
  dtypes: string[];
  path: string | null;
  /** the libcublasLt version that was loaded, null on the ptx path */
  cublaslt_version: string | null;
  /** streaming multiprocessors CUDA sees (a MIG or partitioned part has fewer: its results differ) */
  sms: number | null;
}
export interface StressFigures {
  device: number;
  /** the format that ran (`ptx` when the fallback burn ran instead) */
  dtype: string;
  /** the format that was asked for (= dtype unless the fallback ran) */
  requested: string;
  /** why the fallback ran, null when it did not */
  fallback: string | null;
  tflops: number | null;
  iterations: number | null;
  mismatches: number;
  /** set 0's reference checksum (cuBLASLt path); GPUs of one model, SM count and algorithm must agree on it */
  checksum?: string | null;
  /** the cuBLASLt algorithm that ran (candidate and configuration); null on the ptx path or an older tool */
  algo?: string | null;
  /** the full check of set 0 against the FP64 SIMT product: outputs checked, outside tolerance, worst error / tolerance */
  ref_elements?: number | null;
  ref_mismatches?: number | null;
  ref_max_ratio?: number | null;
}

/** Everything the tool said, folded. */
export interface StressState {
  starts: Map<number, StressStart>;
  /** latest progress per `device/requested dtype` (two fallbacks both run `ptx`, so the key is what was asked) */
  progress: Map<string, StressFigures>;
  results: Map<string, StressFigures>;
  errors: string[];
  end: { status: string; exit_code: number | null } | null;
  /** lines that were not JSON of the contract (kept count only; the log has them) */
  noise: number;
}

export function newStressState(): StressState {
  return { starts: new Map(), progress: new Map(), results: new Map(), errors: [], end: null, noise: 0 };
}

const str = (v: unknown, max = 128): string | null => (typeof v === "string" ? v.slice(0, max) : null);
const numOrNull = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const dev = (v: unknown): number | null =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v < 1024 ? v : null;

function figures(o: Json): StressFigures | null {
  const device = dev(o["device"]);
  const dtype = str(o["dtype"], 16);
  if (device === null || !dtype) return null;
  return {
    device,
    dtype,
    requested: str(o["requested"], 16) || dtype,
    fallback: str(o["fallback"], 300),
    tflops: numOrNull(o["tflops"]),
    iterations: numOrNull(o["iterations"]),
    // a missing mismatch count cannot be trusted as zero
    mismatches: numOrNull(o["mismatches"]) ?? Number.NaN,
    checksum: typeof o["checksum"] === "string" && /^[0-9a-f]{32}$/.test(o["checksum"])
      ? o["checksum"]
      : null,
    algo: str(o["algo"], 120),
    ref_elements: numOrNull(o["ref_elements"]),
    ref_mismatches: numOrNull(o["ref_mismatches"]),
    ref_max_ratio: numOrNull(o["ref_max_ratio"]),
  };
}

/** Folds one stdout line into the state; returns the event name it carried, or null. */
export function foldStressLine(state: StressState, line: string): string | null {
  const t = line.trim();
  if (!t) return null;
  let o: Json;
  try {
    const v = JSON.parse(t);
    if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error();
    o = v as Json;
  } catch {
    state.noise++;
    return null;
  }
  const event = str(o["event"], 16);
  switch (event) {
    case "start": {
      const device = dev(o["device"]);
      if (device === null) break;
      state.starts.set(device, {
        device,
        name: str(o["name"]),
        pci_bus_id: str(o["pci_bus_id"], 32),
        compute_capability: str(o["compute_capability"], 8),
        dtypes: Array.isArray(o["dtypes"]) ? o["dtypes"].map((d) => String(d).slice(0, 16)).slice(0, 16) : [],
        path: str(o["path"], 16),
        cublaslt_version: str(o["cublaslt_version"], 16),
        sms: numOrNull(o["sms"]),
      });
      return event;
    }
    case "progress":
    case "result": {
      const f = figures(o);
      if (!f) break;
      (event === "progress" ? state.progress : state.results).set(`${f.device}/${f.requested}`, f);
      return event;
    }
    case "error": {
      const d = dev(o["device"]);
      const msg = str(o["message"], 300) ?? "error without message";
      if (state.errors.length < 50) state.errors.push(d === null ? msg : `GPU ${d}: ${msg}`);
      return event;
    }
    case "end":
      state.end = { status: str(o["status"], 32) ?? "unknown", exit_code: numOrNull(o["exit_code"]) };
      return event;
  }
  state.noise++;
  return null;
}

/** What the judge needs besides the tool's own words. */
export interface StressJudgeInput {
  proc: ProcResult;
  state: StressState;
  /** physical nvidia-smi indices of the selected GPUs, in CUDA order (CUDA_DEVICE_ORDER=PCI_BUS_ID) */
  selected: number[];
  /** hardware slowdown reasons seen per physical GPU during the run */
  hwSlowdown: Map<number, { reasons: Set<string>; first_s: number }>;
  /** per physical GPU: highest temperature seen and the GPU's max operating temperature */
  overTemp: Map<number, { peak_c: number; max_c: number }>;
  /** samples the metrics poller collected */
  metricSamples: number;
  /** per physical GPU: power and PCIe link problems seen under load (`loadProblems`) */
  underLoad?: Map<number, string[]>;
}

/** The physical index of CUDA device `d` of the run. */
export function physicalIndex(selected: number[], d: number): number {
  return selected[d] ?? d;
}

/**
 * Every GPU gets identical inputs, so GPUs of one model, SM count, cuBLASLt version and algorithm running
 * one format must produce the same set-0 checksum (cuBLAS is bit-reproducible only for the same
 * architecture, SM count and algorithm). A GPU that disagrees with the majority of its like peers is named;
 * with no majority (two GPUs that differ) both are. GPUs that ran another algorithm, or with another SM
 * count, are not compared with each other. A fault that corrupts the same way on every iteration passes the
 * per-GPU repeat check and is caught here (and by the full reference check of set 0).
 */
export function peerDisagreements(state: StressState, selected: number[]): string[] {
  const groups = new Map<string, { g: number; sum: string }[]>();
  for (const r of state.results.values()) {
    if (!r.checksum || r.dtype !== r.requested) continue;
    const start = state.starts.get(r.device);
    const key = [
      start?.name ?? "?",
      start?.cublaslt_version ?? "?",
      r.dtype,
      start?.sms ?? "?",
      r.algo ?? "?",
    ].join("|");
    groups.set(key, [...(groups.get(key) ?? []), { g: physicalIndex(selected, r.device), sum: r.checksum }]);
  }
  const out: string[] = [];
  for (const [key, list] of groups) {
    if (list.length < 2) continue;
    const counts = new Map<string, number>();
    for (const e of list) counts.set(e.sum, (counts.get(e.sum) ?? 0) + 1);
    if (counts.size === 1) continue;
    const [best, n] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
    const majority = n > list.length / 2 ? best : null;
    const odd = list.filter((e) => e.sum !== majority).map((e) => e.g).sort((a, b) => a - b);
    const [model, , dtype] = key.split("|");
    out.push(
      majority
        ? `GPU ${
          odd.join(", ")
        }: ${dtype} result differs from its ${n} ${model} peers (same inputs, checksum mismatch)`
        : `GPUs ${odd.join(", ")} (${model}) disagree on the ${dtype} result for identical inputs`,
    );
  }
  return out;
}

/** Judges one stress run; the facts carry per-GPU, per-dtype TFLOPS and mismatches. */
export function judgeStress(input: StressJudgeInput): JobResult {
  const { proc, state, selected } = input;
  const facts: Record<string, string | number | null> = {};
  const problems: string[] = [];
  for (const s of state.starts.values()) {
    const g = physicalIndex(selected, s.device);
    facts[`gpu${g}_path`] = s.path;
    facts[`gpu${g}_dtypes`] = s.dtypes.join(",");
    if (s.cublaslt_version) facts[`gpu${g}_cublaslt_version`] = s.cublaslt_version;
    if (s.sms !== null) facts[`gpu${g}_sms`] = s.sms;
  }
  for (const r of [...state.results.values()].sort((a, b) => a.device - b.device)) {
    const g = physicalIndex(selected, r.device);
    // a fallback is reported under what was asked and what ran: gpu0_fp4_ptx_tflops, gpu0_fp4_fallback
    const key = r.requested === r.dtype ? `gpu${g}_${r.dtype}` : `gpu${g}_${r.requested}_${r.dtype}`;
    const label = r.requested === r.dtype ? r.dtype : `${r.requested} (ran ${r.dtype})`;
    facts[`${key}_tflops`] = r.tflops === null ? null : Math.round(r.tflops * 10) / 10;
    facts[`${key}_mismatches`] = Number.isNaN(r.mismatches) ? null : r.mismatches;
    if (r.requested !== r.dtype) facts[`gpu${g}_${r.requested}_fallback`] = r.fallback ?? "no reason given";
    if (r.algo) facts[`${key}_algo`] = r.algo;
    if (r.ref_elements != null) facts[`${key}_ref_elements`] = r.ref_elements;
    if (r.ref_max_ratio != null) facts[`${key}_ref_max_ratio`] = Math.round(r.ref_max_ratio * 1000) / 1000;
    if (Number.isNaN(r.mismatches)) problems.push(`GPU ${g} ${label}: no mismatch count reported`);
    else if (r.mismatches > 0) problems.push(`GPU ${g} ${label}: ${r.mismatches} mismatches`);
  }
  // mismatches seen in progress lines count even when no result line followed
  for (const p of state.progress.values()) {
    const g = physicalIndex(selected, p.device);
    if (!state.results.has(`${p.device}/${p.requested}`) && p.mismatches > 0) {
      problems.push(`GPU ${g} ${p.dtype}: ${p.mismatches} mismatches (before it stopped)`);
    }
  }
  problems.push(...peerDisagreements(state, selected));
  problems.push(...state.errors.slice(0, 5));

  const failed = (reason: string): JobResult => ({ name: "gpu_stress", status: "FAILED", reason, facts });
  // error 802 on an NVSwitch system: the fabric is not up, which says nothing about the GPUs
  const notReady = cudaNotInitialised(state.errors);
  if (notReady && proc.kind === "exited" && proc.code === 2 && state.results.size === 0) {
    return { name: "gpu_stress", status: "UNSUPPORTED", reason: notReady, facts };
  }
  switch (proc.kind) {
    case "missing":
      return failed("bee-gpu-stress not found on PATH");
    case "denied":
      return failed(`cannot start bee-gpu-stress: ${proc.message}`);
    case "aborted":
      return failed("aborted");
    case "timeout":
      return failed(`timeout: bee-gpu-stress did not finish within ${Math.round(proc.durationMs / 1000)} s`);
  }
  facts["exit_code"] = proc.code;
  if (proc.signal) problems.unshift(`bee-gpu-stress crashed (${proc.signal})`);
  else if (proc.code === 2) problems.unshift("bee-gpu-stress could not run (exit 2)");
  else if (proc.code !== 0) problems.unshift(`bee-gpu-stress exit status ${proc.code}`);
  if (!state.end) problems.push("no end line (output incomplete)");
  else if (state.end.status !== "ok") problems.push(`end status ${state.end.status}`);
  for (let d = 0; d < selected.length; d++) {
    const g = physicalIndex(selected, d);
    if (![...state.results.keys()].some((k) => k.startsWith(`${d}/`))) {
      problems.push(`no result for GPU ${g}`);
    }
  }
  for (const [g, e] of input.hwSlowdown) {
    problems.push(`GPU ${g}: ${[...e.reasons].join(", ")} active (first at ${e.first_s} s)`);
  }
  for (const [g, e] of input.overTemp) {
    problems.push(`GPU ${g}: ${e.peak_c} °C above its max operating temperature ${e.max_c} °C`);
  }
  for (const [g, list] of input.underLoad ?? []) {
    for (const p of list) problems.push(`GPU ${g}: ${p}`);
  }
  if (input.metricSamples === 0) problems.push("no GPU metrics collected, slowdown reasons unchecked");
  facts["metric_samples"] = input.metricSamples;
  if (problems.length) {
    return { name: "gpu_stress", status: "FAILED", reason: problems.slice(0, 8).join("; "), facts };
  }
  return { name: "gpu_stress", status: "OK", facts };
}
