// What the NVIDIA jobs measured, as figures to judge (figures.ts): TFLOPS per format from bee-gpu-stress's
// results, sustained board power from the per-second metrics, the slowest P2P copy out of each GPU. Pure.
import type { Gpu } from "../../model/schema.ts";
import { LOAD_UTILIZATION_PCT, type MetricRow, POWER_MIN_LOAD_SAMPLES } from "../gpu_metrics.ts";
import { physicalIndex, type StressState } from "../gpu_stress.ts";
import type { P2pState } from "../gpu_p2p.ts";
import type { Figure } from "./references.ts";
import type { Measurement } from "./figures.ts";
import { median } from "../../lib/stats.ts";

/** Who a GPU is, for the results: nvidia-smi's name and the serial from nvidia-smi -q. */
export interface GpuIdentity {
  name: string;
  serial: string | null;
}

export function identities(names: Map<number, string>, before: Gpu[] | null): Map<number, GpuIdentity> {
  const out = new Map<number, GpuIdentity>();
  for (const [i, name] of names) {
    out.set(i, { name, serial: before?.find((g) => g.index === i)?.serial ?? null });
  }
  return out;
}

/** cuBLASLt TFLOPS per GPU and format (fallback PTX burns are not a format's figure). */
export function stressMeasurements(
  state: StressState,
  selected: number[],
  who: Map<number, GpuIdentity>,
): Measurement[] {
  const out: Measurement[] = [];
  for (const r of state.results.values()) {
    if (r.tflops === null || r.dtype !== r.requested || !/^(tf32|fp16|bf16|fp8|fp4)$/.test(r.dtype)) continue;
    const gpu = physicalIndex(selected, r.device);
    const id = who.get(gpu);
    if (!id) continue;
    out.push({ gpu, ...id, figure: `tflops_${r.dtype}` as Figure, value: r.tflops });
  }
  return out.sort((a, b) => a.gpu - b.gpu || a.figure.localeCompare(b.figure));
}

const REASONS: [number, string][] = [
  [0x4, "SW power cap"],
  [0x8, "HW slowdown"],
  [0x20, "SW thermal slowdown"],
  [0x40, "HW thermal slowdown"],
  [0x80, "HW power brake slowdown"],
];

export interface PowerFigure {
  gpu: number;
  /** median board power over the samples under load (utilization ≥ 90 %) */
  sustained_w: number;
  limit_w: number | null;
  samples: number;
  /** clock event reasons seen under load: what held the clocks (and so the power) back */
  reasons: string[];
}

/** Sustained power per GPU from the samples under load; GPUs with too few such samples have none. */
export function sustainedPower(rows: MetricRow[], before: Gpu[] | null): PowerFigure[] {
  const byGpu = new Map<number, MetricRow[]>();
  for (const r of rows) {
    if (r.power_w === null || (r.utilization_pct ?? 0) < LOAD_UTILIZATION_PCT) continue;
    byGpu.set(r.gpu, [...(byGpu.get(r.gpu) ?? []), r]);
  }
  const enough = [...byGpu].filter(([, rs]) => rs.length >= POWER_MIN_LOAD_SAMPLES);
  return enough.sort(([a], [b]) => a - b).map(([gpu, rs]) => {
    const limits = rs.map((r) => r.power_limit_w).filter((v): v is number => v !== null);
    let mask = 0;
    for (const r of rs) mask |= r.reasons_active ?? 0;
    return {
      gpu,
      sustained_w: Math.round(median(rs.map((r) => r.power_w!)) * 10) / 10,
      limit_w: limits.length ? median(limits) : before?.find((g) => g.index === gpu)?.power_limit_w ?? null,
      samples: rs.length,
      reasons: REASONS.filter(([bit]) => mask & bit).map(([, n]) => n),
    };
  });
}

export function powerMeasurements(power: PowerFigure[], who: Map<number, GpuIdentity>): Measurement[] {
  return power.flatMap((p) => {
    const id = who.get(p.gpu);
    return id
      ? [{ gpu: p.gpu, ...id, figure: "power_w" as const, value: p.sustained_w, limit: p.limit_w }]
      : [];
  });
}

/** The slowest both-directions copy each GPU takes part in, in GB/s (sum of the two directions). */
export function p2pBidirMeasurements(
  state: P2pState,
  selected: number[],
  who: Map<number, GpuIdentity>,
): Measurement[] {
  const slowest = new Map<number, number>();
  for (const p of state.bidir ?? []) {
    for (const d of [p.a, p.b]) {
      const g = physicalIndex(selected, d);
      slowest.set(g, Math.min(slowest.get(g) ?? Infinity, p.gbps));
    }
  }
  return [...slowest].sort(([a], [b]) => a - b).flatMap(([gpu, value]) => {
    const id = who.get(gpu);
    return id ? [{ gpu, ...id, figure: "p2p_bidir_gbs" as const, value }] : [];
  });
}

/** The slowest copy out of each GPU (one direction), in GB/s. */
export function p2pMeasurements(
  state: P2pState,
  selected: number[],
  who: Map<number, GpuIdentity>,
): Measurement[] {
  const slowest = new Map<number, number>();
  for (const p of state.pairs) {
    const src = physicalIndex(selected, p.src);
    slowest.set(src, Math.min(slowest.get(src) ?? Infinity, p.gbps));
  }
  return [...slowest].sort(([a], [b]) => a - b).flatMap(([gpu, value]) => {
    const id = who.get(gpu);
    return id ? [{ gpu, ...id, figure: "p2p_gbs" as const, value }] : [];
  });
}
