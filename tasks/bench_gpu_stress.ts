// Benchmark: runs bee-gpu-stress on this machine's GPUs and prints, per GPU and dtype, the TFLOPS it
// reached and the ratio to the datasheet peak of the detected model. Needs an NVIDIA GPU.
//   deno task bench:gpu-stress [seconds] [path/to/bee-gpu-stress]
import { foldStressLine, newStressState } from "../bee/sat/gpu_stress.ts";
import { peakRatio, peaksFor } from "../bee/sat/gpu_peaks.ts";

const seconds = Deno.args[0] ?? "60";
const bin = Deno.args[1] ?? "iso/gpu-stress/bee-gpu-stress";
const out = await new Deno.Command(bin, {
  args: ["--seconds", seconds, "--dtypes", "auto", "--interval", "10"],
  stdout: "piped",
  stderr: "inherit",
}).output();
const state = newStressState();
for (const line of new TextDecoder().decode(out.stdout).split("\n")) foldStressLine(state, line);
console.log(`bee-gpu-stress exit ${out.code}, end status ${state.end?.status ?? "none"}`);
console.log("gpu  model                     dtype     TFLOPS   peak    ratio  mismatches");
const fallbacks: string[] = [];
for (const r of [...state.results.values()].sort((a, b) => a.device - b.device)) {
  const name = state.starts.get(r.device)?.name ?? "?";
  const peak = peaksFor(name);
  // a fallback burn is not the format's throughput: no peak ratio for it
  const ran = r.requested === r.dtype;
  const ratio = r.tflops === null || !ran ? null : peakRatio(name, r.dtype, r.tflops);
  const peakVal = peak && ran ? (peak as unknown as Record<string, number | null>)[r.dtype] : null;
  const label = ran ? r.dtype : `${r.requested}>ptx`;
  if (!ran) {
    fallbacks.push(`GPU ${r.device} ${r.requested}: ptx burn ran instead (${r.fallback ?? "no reason"})`);
  }
  console.log(
    `${String(r.device).padEnd(4)} ${name.slice(0, 25).padEnd(25)} ${label.padEnd(8)} ${
      (r.tflops?.toFixed(1) ?? "?").padStart(7)
    } ${(peakVal?.toString() ?? "–").padStart(7)} ${
      (ratio === null ? "–" : `${(ratio * 100).toFixed(1)}%`).padStart(7)
    }  ${r.mismatches}`,
  );
}
for (const f of fallbacks) console.log(f);
for (const e of state.errors) console.log(`error: ${e}`);
Deno.exit(out.code);
