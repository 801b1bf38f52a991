// `gpu_nccl`: NCCL all-reduce across the selected GPUs (bee-gpu-stress --nccl): bus bandwidth per message
// size up to 1 GiB, every result checked; the figure at the largest size judged against the model's row,
// which holds for the GPU count it was published for (8). Folding and judging are pure.
import type { SatJob } from "../runner.ts";
import type { JobResult } from "../summary.ts";
import type { ProcResult } from "../../lib/proc.ts";
import { finding } from "../../audit/verdict.ts";
import { cudaBlocked, type NvidiaRun } from "./jobs.ts";
import { runTool, toolProblem, type ToolState } from "./mem_jobs.ts";
import { referenceFor } from "./references.ts";

/** The GPU count the NCCL reference rows are published for (8-GPU HGX boards). */
export const NCCL_REFERENCE_GPUS = 8;

export interface NcclSize {
  bytes: number;
  gpus: number;
  busbw_gbs: number;
  algbw_gbs: number;
  errors: number;
}

const num = (v: unknown): number => typeof v === "number" && Number.isFinite(v) ? v : NaN;

export const ncclLine = (o: Record<string, unknown>): NcclSize => ({
  bytes: num(o.bytes),
  gpus: num(o.gpus),
  busbw_gbs: num(o.busbw_gbs),
  algbw_gbs: num(o.algbw_gbs),
  errors: num(o.errors),
});

const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;

/** Judges the run: wrong sums FAIL; the largest size's bus bandwidth against the model's row (8 GPUs). */
export function judgeNccl(
  proc: ProcResult,
  s: ToolState<NcclSize>,
  gpuName: string,
  gpus: number,
): JobResult {
  const name = "gpu_nccl";
  const facts: Record<string, number | string | null> = { gpus };
  for (const r of s.results) facts[`busbw_gbs_${mib(r.bytes).replace(" MiB", "mib")}`] = r.busbw_gbs;
  if (s.end?.status === "unsupported") {
    return { name, status: "UNSUPPORTED", reason: s.errors[0] ?? "NCCL not available", facts };
  }
  const problems: string[] = [];
  const wrong = s.results.filter((r) => r.errors > 0);
  for (const r of wrong.slice(0, 3)) {
    problems.push(`all-reduce of ${mib(r.bytes)}: ${r.errors} elements wrong`);
  }
  const tool = toolProblem(proc, s.end, s.errors);
  if (tool) problems.unshift(tool);
  const unreadable = s.results.filter((r) => ![r.bytes, r.busbw_gbs, r.errors].every(Number.isFinite));
  if (unreadable.length) {
    problems.push(`${unreadable.length} all-reduce line(s) without bytes, bandwidth or error count`);
  }
  const largest = s.results.filter((r) => !unreadable.includes(r))
    .reduce<NcclSize | null>((a, r) => (!a || r.bytes > a.bytes ? r : a), null);
  const findings = [];
  if (!largest && !problems.length) problems.push("no all-reduce result");
  if (largest) {
    facts["largest_bytes"] = largest.bytes;
    facts["busbw_gbs"] = largest.busbw_gbs;
    const ref = gpus === NCCL_REFERENCE_GPUS ? referenceFor(gpuName, "nccl_busbw_gbs") : null;
    facts["reference_gbs"] = ref?.expected ?? null;
    facts["reference"] = ref
      ? `${ref.model}, ${NCCL_REFERENCE_GPUS} GPUs: ${ref.source}`
      : `no reference for ${gpus} × ${gpuName.slice(0, 48)}`;
    const text = `${largest.busbw_gbs.toFixed(1)} GB/s bus bandwidth at ${
      mib(largest.bytes)
    } over ${gpus} GPUs`;
    if (ref?.floor != null && largest.busbw_gbs < ref.floor) {
      const f = finding(
        ref.calibrated ? "nvidia.figure_below_floor" : "nvidia.figure_below_expected",
        "nvidia:nccl",
        `${text}, under the floor ${ref.floor} GB/s of ${ref.model}${
          ref.calibrated ? "" : " (floor not yet calibrated: WARN)"
        }`,
      );
      findings.push(f);
      if (ref.calibrated) problems.push(f.message);
      facts["verdict"] = ref.calibrated ? "FAIL" : "WARN";
    } else if (ref?.warn != null && largest.busbw_gbs < ref.warn) {
      findings.push(
        finding(
          "nvidia.figure_below_expected",
          "nvidia:nccl",
          `${text}, under ${ref.warn} GB/s (expected ${ref.expected})`,
        ),
      );
      facts["verdict"] = "WARN";
    } else facts["verdict"] = ref ? "PASS" : "no reference";
  }
  return problems.length
    ? { name, status: "FAILED", reason: problems.join("; ").slice(0, 600), facts, findings }
    : { name, status: "OK", facts, findings };
}

/** bee-gpu-stress --nccl over the selected GPUs (two or more). */
export function ncclJob(run: NvidiaRun): SatJob {
  const n = run.selected.length;
  return {
    name: "gpu_nccl",
    plannedS: n > 1 ? 30 + 10 * n : 0,
    describe: n > 1
      ? `NCCL all-reduce over the ${n} GPUs, 8 MiB to 1 GiB, every sum checked; bus bandwidth at 1 GiB judged ` +
        `(references hold for ${NCCL_REFERENCE_GPUS} GPUs)`
      : "one GPU selected: no collective to run (UNSUPPORTED)",
    figures: ["nccl_busbw_gbs"],
    async run(ctx): Promise<JobResult> {
      if (n < 2) {
        return { name: "gpu_nccl", status: "UNSUPPORTED", reason: "one GPU selected: no all-reduce" };
      }
      const blocked = cudaBlocked(run);
      if (blocked) return { name: "gpu_nccl", status: "UNSUPPORTED", reason: blocked };
      const { proc, state } = await runTool(
        run,
        ctx,
        "gpu-nccl.jsonl",
        ["--nccl", "--size-mb", "1024"],
        600 + 30 * n,
        "nccl",
        ncclLine,
        (s) => {
          const l = s.results.at(-1);
          return l ? `NCCL all-reduce ${mib(l.bytes)}: ${l.busbw_gbs.toFixed(1)} GB/s bus bandwidth` : "";
        },
      );
      const name = run.names.get(run.selected[0]!) ?? "";
      return judgeNccl(proc, state, name, n);
    },
  };
}
