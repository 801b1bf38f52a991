// The NVIDIA SAT's peer-to-peer check: `bee-gpu-stress --p2p` copies a buffer between every ordered GPU
// pair and reports GB/s, whether peer access was on and whether the data arrived intact. Pure judgement
// here: a pair that errs or corrupts fails; a pair NVLink joins (topo -m) without peer access fails; a pair
// far below the other pairs of its kind (same connection) fails, naming the pair.
import type { ProcResult } from "../lib/proc.ts";
import type { JobResult } from "./summary.ts";
import { physicalIndex } from "./gpu_stress.ts";
import { cudaNotInitialised } from "./nvidia/fabric.ts";
import { median } from "../lib/stats.ts";

/** A pair below this share of the median of its kind (same topo connection) is a broken path. */
export const P2P_MIN_RATIO = 0.5;

export interface P2pPair {
  src: number;
  dst: number;
  /** the driver offers peer access for this pair (cudaDeviceCanAccessPeer) */
  peer_capable: boolean;
  /** peer access was really enabled for the copies (a failed enable means copies went through the host) */
  peer_access: boolean;
  gbps: number;
  checksum_ok: boolean;
}

export interface P2pState {
  pairs: P2pPair[];
  /** both directions at once per unordered pair: GB/s summed over the two directions */
  bidir?: { a: number; b: number; gbps: number }[];
  errors: string[];
  end: { status: string; exit_code: number } | null;
}

/** Folds one JSON line of `bee-gpu-stress --p2p` into the state. */
export function foldP2pLine(s: P2pState, line: string): void {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(line);
  } catch {
    return;
  }
  if (j.event === "p2p" && typeof j.src === "number" && typeof j.dst === "number") {
    s.pairs.push({
      src: j.src,
      dst: j.dst,
      // an older tool printed only the capability query as peer_access
      peer_capable: typeof j.peer_capable === "boolean" ? j.peer_capable : j.peer_access === true,
      peer_access: j.peer_access === true,
      gbps: typeof j.gbps === "number" && Number.isFinite(j.gbps) ? j.gbps : 0,
      checksum_ok: j.checksum_ok === true,
    });
  } else if (j.event === "p2p_bidir" && typeof j.a === "number" && typeof j.b === "number") {
    (s.bidir ??= []).push({
      a: j.a,
      b: j.b,
      gbps: typeof j.gbps === "number" && Number.isFinite(j.gbps) ? j.gbps : 0,
    });
  } else if (j.event === "error") {
    s.errors.push(String(j.message ?? "error").slice(0, 200));
  } else if (j.event === "end") {
    s.end = { status: String(j.status), exit_code: Number(j.exit_code) };
  }
}

/**
 * Judges the run. `selected` maps CUDA indices to nvidia-smi's; `topology` is the pairs of `nvidia-smi topo -m`
 * (by nvidia-smi index), empty when unknown — then all pairs are one kind.
 */
export function judgeP2p(
  proc: ProcResult,
  s: P2pState,
  selected: number[],
  topology: { a: number; b: number; connection: string }[],
): JobResult {
  const name = "gpu_p2p";
  const phys = (d: number) => physicalIndex(selected, d);
  const conn = (a: number, b: number) =>
    topology.find((p) => (p.a === Math.min(a, b) && p.b === Math.max(a, b)))?.connection ?? "?";
  const facts: Record<string, string | number | boolean | null> = { pairs: s.pairs.length };
  for (const p of s.pairs) {
    facts[`${phys(p.src)}_${phys(p.dst)}_gbps`] = p.gbps;
  }
  for (const p of s.bidir ?? []) {
    facts[`${phys(p.a)}_${phys(p.b)}_bidir_gbps`] = p.gbps;
  }
  if (s.pairs.length) facts.min_gbps = Math.min(...s.pairs.map((p) => p.gbps));
  const problems: string[] = [];
  if (proc.kind === "missing") return { name, status: "FAILED", reason: "bee-gpu-stress not found", facts };
  const notReady = cudaNotInitialised(s.errors);
  if (notReady && proc.kind === "exited" && proc.code === 2 && !s.pairs.length) {
    return { name, status: "UNSUPPORTED", reason: notReady, facts };
  }
  if (proc.kind === "timeout") problems.push("timed out");
  if (proc.kind === "aborted") problems.push("aborted");
  const want = selected.length * (selected.length - 1);
  if (!problems.length && s.pairs.length < want) {
    problems.push(`${s.pairs.length} of ${want} pairs measured${s.errors.length ? ` (${s.errors[0]})` : ""}`);
  }
  for (const p of s.pairs) {
    const a = phys(p.src), b = phys(p.dst);
    if (!p.checksum_ok) problems.push(`GPU ${a} → GPU ${b}: data arrived corrupted`);
    const c = conn(a, b);
    if (p.peer_capable && !p.peer_access) {
      problems.push(
        `GPU ${a} → GPU ${b}: peer access offered but could not be enabled (copies went through the host)`,
      );
    } else if (/^NV\d+$/.test(c) && !p.peer_access) {
      problems.push(`GPU ${a} → GPU ${b}: ${c} but no peer access`);
    }
  }
  // bandwidth against the pairs of the same kind (NV18 with NV18, SYS with SYS)
  const kinds = new Map<string, P2pPair[]>();
  for (const p of s.pairs) {
    const k = `${conn(phys(p.src), phys(p.dst))}|${p.peer_access}`;
    kinds.set(k, [...(kinds.get(k) ?? []), p]);
  }
  for (const [k, ps] of kinds) {
    if (ps.length < 3) continue; // too few to say what normal is
    const m = median(ps.map((p) => p.gbps));
    for (const p of ps) {
      if (p.gbps < m * P2P_MIN_RATIO) {
        problems.push(
          `GPU ${phys(p.src)} → GPU ${phys(p.dst)}: ${p.gbps.toFixed(1)} GB/s, the ${
            k.startsWith("?|") ? "other" : k.split("|")[0]
          } pairs' median ${m.toFixed(1)} GB/s`,
        );
      }
    }
  }
  if (!problems.length && s.errors.length) problems.push(s.errors[0]!);
  if (!problems.length && proc.kind === "exited" && proc.code !== 0) {
    problems.push(`exit status ${proc.code}`);
  }
  if (!problems.length && s.end?.status !== "ok") problems.push("no clean end line");
  return problems.length
    ? {
      name,
      status: "FAILED",
      reason: problems.slice(0, 4).join("; ") +
        (problems.length > 4 ? `; … ${problems.length - 4} more` : ""),
      facts,
    }
    : { name, status: "OK", facts };
}
