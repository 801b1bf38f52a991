// Datasheet peak dense tensor throughput (TFLOPS) per GPU model, to put measured figures in
// proportion. Source: vendor datasheets as collected in shared/GPU-NOTES.md.

export interface Peaks {
  model: string;
  tf32: number | null;
  fp16: number | null;
  bf16: number | null;
  fp8: number | null;
  fp4: number | null;
}

const TABLE: { match: RegExp; peaks: Peaks }[] = [
  { match: /\bB200\b/i, peaks: { model: "B200", tf32: 1100, fp16: 2250, bf16: 2250, fp8: 4500, fp4: 9000 } },
  { match: /\bH200\b/i, peaks: { model: "H200", tf32: 494.7, fp16: 989, bf16: 989, fp8: 1979, fp4: null } },
  {
    match: /\bH100\b.*\bPCIe\b/i,
    peaks: { model: "H100 PCIe", tf32: 378, fp16: 756, bf16: 756, fp8: 1513, fp4: null },
  },
  {
    match: /\bH100\b/i,
    peaks: { model: "H100 SXM", tf32: 494.7, fp16: 989.4, bf16: 989.4, fp8: 1978.9, fp4: null },
  },
  { match: /\bL40S\b/i, peaks: { model: "L40S", tf32: 183, fp16: 362, bf16: 362, fp8: 733, fp4: null } },
  { match: /\bA100\b/i, peaks: { model: "A100", tf32: 156, fp16: 312, bf16: 312, fp8: null, fp4: null } },
];

/** The datasheet peaks of the GPU nvidia-smi names `name`, or null for a model not in the table. */
export function peaksFor(name: string): Peaks | null {
  return TABLE.find((t) => t.match.test(name))?.peaks ?? null;
}

/** measured / peak for one dtype, or null when there is no peak to compare with. */
export function peakRatio(name: string, dtype: string, tflops: number): number | null {
  const p = peaksFor(name);
  const peak = p ? (p as unknown as Record<string, number | null>)[dtype] ?? null : null;
  return peak ? tflops / peak : null;
}
