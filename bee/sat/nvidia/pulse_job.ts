// `gpu_pulse`: bee-gpu-stress with its load switched on and off at a fixed period on every GPU at once
// (--pulse ON,OFF), so the board's power steps between idle and full many times — what power delivery and
// GPU power management fail under (DCGM's pulse test does the same). It must end with every GPU present, no
// error, no wrong result; new XIDs and ECC errors are what gpu_xid and gpu_health after it look for.
import type { SatJob } from "../runner.ts";
import type { JobResult } from "../summary.ts";
import type { ProcResult } from "../../lib/proc.ts";
import { foldStressLine, newStressState, physicalIndex, type StressState } from "../gpu_stress.ts";
import { cudaBlocked, type NvidiaRun } from "./jobs.ts";

/** Seconds on and off: slow enough for the board to settle at both levels (power is sampled every second). */
export const PULSE_ON_S = 2;
export const PULSE_OFF_S = 2;

/** The pulse phase's length: 10 % of the stress duration, at least 60 s, at most 30 minutes. */
export function pulseSeconds(stressS: number): number {
  return Math.max(60, Math.min(1800, Math.round(stressS * 0.1)));
}

/** Every GPU still there with results, no error, no mismatch, a clean end. */
export function judgePulse(proc: ProcResult, s: StressState, selected: number[], seconds: number): JobResult {
  const name = "gpu_pulse";
  const problems: string[] = [];
  if (proc.kind === "missing") problems.push("bee-gpu-stress not found");
  else if (proc.kind !== "exited") problems.push(`bee-gpu-stress ${proc.kind}`);
  problems.push(...s.errors.slice(0, 5));
  const lost = selected.filter((g) =>
    ![...s.results.values()].some((r) => physicalIndex(selected, r.device) === g)
  );
  for (const g of lost) problems.push(`GPU ${g}: no result after the pulse phase (lost or hung)`);
  const wrong = [...s.results.values()].filter((r) => r.mismatches > 0);
  for (const r of wrong) {
    problems.push(`GPU ${physicalIndex(selected, r.device)} ${r.dtype}: ${r.mismatches} wrong results`);
  }
  if (!problems.length && (proc.kind !== "exited" || proc.code !== 0 || s.end?.status !== "ok")) {
    problems.push(
      `bee-gpu-stress ended ${s.end?.status ?? "without an end line"} (exit ${
        "code" in proc ? proc.code : "?"
      })`,
    );
  }
  const facts = {
    seconds,
    period: `${PULSE_ON_S} s on, ${PULSE_OFF_S} s off`,
    cycles: Math.floor(seconds / (PULSE_ON_S + PULSE_OFF_S)),
  };
  return problems.length
    ? { name, status: "FAILED", reason: problems.slice(0, 6).join("; "), facts }
    : { name, status: "OK", facts };
}

export function pulseJob(run: NvidiaRun): SatJob {
  const seconds = pulseSeconds(run.seconds);
  return {
    name: "gpu_pulse",
    plannedS: seconds + 30,
    describe:
      `load on ${PULSE_ON_S} s / off ${PULSE_OFF_S} s on all GPUs together for ${seconds} s (power steps); ` +
      "every GPU must still answer with right results, then no new XID or ECC error",
    async run(ctx): Promise<JobResult> {
      const blocked = cudaBlocked(run);
      if (blocked) return { name: "gpu_pulse", status: "UNSUPPORTED", reason: blocked };
      const state = newStressState();
      const args = [
        "--seconds",
        String(seconds),
        "--size-mb",
        String(run.sizeMb),
        "--pulse",
        `${PULSE_ON_S},${PULSE_OFF_S}`,
      ];
      ctx.log(`bee-gpu-stress ${args.join(" ")} with CUDA_VISIBLE_DEVICES=${run.env.CUDA_VISIBLE_DEVICES}`);
      const proc = await ctx.run("gpu-pulse.jsonl", "bee-gpu-stress", args, {
        timeoutMs: (seconds + 180) * 1000,
        stderrPath: `${ctx.dir}/gpu-pulse.stderr.txt`,
        graceMs: 15_000,
        onLine: (l) => {
          if (foldStressLine(state, l) === "progress") {
            ctx.progress(`pulse phase: ${state.progress.size} GPU/format running`);
          }
        },
      });
      return judgePulse(proc, state, run.selected, seconds);
    },
  };
}
