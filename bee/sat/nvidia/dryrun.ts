// `bee sat nvidia --dry-run`: the plan as text — the jobs in order with their durations, what each does,
// the figures it measures and, for each GPU model present, the reference and gates each figure is judged
// against with their sources. Pure: a plan in, lines out; nothing runs.
import type { SatPlan } from "../runner.ts";
import { PEER_FAIL_PCT, PEER_WARN_PCT } from "./figures.ts";
import { NCCL_REFERENCE_GPUS } from "./nccl_job.ts";
import {
  type Figure,
  FIGURE_MEANING,
  FIGURE_UNITS,
  FIGURES,
  referenceFor,
  referenceModel,
} from "./references.ts";

/** Figures bee does not measure yet (issue 21): said in the plan so nobody assumes they were checked. */
export const NOT_YET_MEASURED: string[] = [];

const dur = (s: number) =>
  s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 120 ? `${Math.round(s / 60)} min` : `${s} s`;

/** The GPU models under test: nvidia-smi name → the GPU indices. */
function modelsOf(plan: SatPlan): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [k, v] of Object.entries(plan.facts)) {
    const m = k.match(/^gpu(\d+)_name$/);
    if (m && typeof v === "string") out.set(v, [...(out.get(v) ?? []), Number(m[1])]);
  }
  return out;
}

function gateLines(figure: Figure, models: Map<string, number[]>): string[] {
  const unit = FIGURE_UNITS[figure];
  const out = [`     ${figure} — ${FIGURE_MEANING[figure]} (${unit})`];
  const count = [...models.values()].reduce((a, g) => a + g.length, 0);
  if (figure === "nccl_busbw_gbs" && count !== NCCL_REFERENCE_GPUS) {
    return [
      ...out,
      `       ${count} GPUs selected: the references hold for ${NCCL_REFERENCE_GPUS}; reported, not judged`,
    ];
  }
  for (const [name, gpus] of models) {
    const who = `GPU ${gpus.join(",")} ${referenceModel(name) ?? name.slice(0, 48)}`;
    const r = referenceFor(name, figure);
    if (figure === "power_w") {
      const limit = r?.peak ? `, datasheet ${r.peak} W` : "";
      out.push(
        `       ${who}: the enforced power limit${limit}; WARN < 90 %, FAIL < 75 % of it — ${
          r?.source ?? "DCGM"
        }`,
      );
    } else if (r && r.expected === null) {
      out.push(
        `       ${who}: peak ${
          r.peak ?? "–"
        } ${unit}, no published measured figure — peers only — ${r.source}`,
      );
    } else if (r) {
      out.push(
        `       ${who}: expected ${r.expected ?? "–"}, WARN < ${r.warn ?? "–"}, FAIL < ${
          r.floor ?? "–"
        } ${unit}` +
          `${r.peak ? ` (peak ${r.peak})` : ""} — ${r.source}`,
      );
    } else if (referenceModel(name)) {
      out.push(`       ${who}: no row (format absent on this model, or no sourced figure) — peers only`);
    } else {
      out.push(`       ${who}: no reference row — judged against its same-model peers only`);
    }
  }
  return out;
}

/** The plan as lines for a terminal. */
export function planText(plan: SatPlan, peerFailPct = PEER_FAIL_PCT): string[] {
  if (plan.facts["preflight"]) {
    return [`bee sat nvidia — nothing to plan: ${plan.facts["preflight"]}`];
  }
  const models = modelsOf(plan);
  const lines = [
    `bee sat nvidia — plan (dry run: nothing runs). GPUs ${plan.facts["gpus"]} of ${
      plan.facts["gpu_count_present"]
    }, stress ${plan.facts["stress_seconds"]} s (${plan.facts["stress_seconds_source"]}), ${
      plan.facts["stress_size_mb"]
    } MB per GPU`,
  ];
  for (const [name, gpus] of models) {
    const m = referenceModel(name);
    lines.push(
      `  GPU ${gpus.join(",")}: ${name.slice(0, 64)} → ${m ? `reference model ${m}` : "no reference model"}`,
    );
  }
  let total = 0;
  plan.jobs.forEach((j, i) => {
    total += j.plannedS;
    lines.push(
      `${String(i + 1).padStart(2)}. ${j.name.padEnd(18)} ${dur(j.plannedS).padStart(7)}  ${
        j.describe ?? ""
      }`,
    );
    for (const f of j.figures ?? []) {
      if ((FIGURES as readonly string[]).includes(f)) {
        lines.push(...gateLines(f as Figure, models));
      }
    }
  });
  lines.push(
    `    every figure of every GPU is also judged against its same-model peers in the run: WARN > ${PEER_WARN_PCT} % ` +
      `under their median, FAIL > ${peerFailPct} % (BEE_PEER_FAIL_PCT)`,
  );
  lines.push(`    total about ${dur(total)}; results: summary.txt, gpu-results.json in the archive`);
  if (NOT_YET_MEASURED.length) lines.push(`    not measured yet: ${NOT_YET_MEASURED.join(", ")}`);
  return lines;
}
