// Datasheet peak dense tensor throughput (TFLOPS) per GPU model, to put measured figures in
// proportion: a view over the reference table (bee/sat/nvidia/references.ts), which holds the numbers
// and their sources.
import { type Figure, referenceFor, referenceModel } from "./nvidia/references.ts";

export interface Peaks {
  model: string;
  tf32: number | null;
  fp16: number | null;
  bf16: number | null;
  fp8: number | null;
  fp4: number | null;
}

/** The datasheet peaks of the GPU nvidia-smi names `name`, or null for a model not in the table. */
export function peaksFor(name: string): Peaks | null {
  const model = referenceModel(name);
  if (model === null) return null;
  const peak = (d: string) => referenceFor(name, `tflops_${d}` as Figure)?.peak ?? null;
  return {
    model,
    tf32: peak("tf32"),
    fp16: peak("fp16"),
    bf16: peak("bf16"),
    fp8: peak("fp8"),
    fp4: peak("fp4"),
  };
}

/** measured / peak for one dtype, or null when there is no peak to compare with. */
export function peakRatio(name: string, dtype: string, tflops: number): number | null {
  const p = peaksFor(name);
  const peak = p ? (p as unknown as Record<string, number | null>)[dtype] ?? null : null;
  return peak ? tflops / peak : null;
}
