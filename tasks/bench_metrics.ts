// Benchmark: 24 h × 8 GPUs of one-second samples (691 200 rows) through everything `bee sat nvidia`
// makes of them — CSV (every row), the HTML with SVG charts (downsampled per pixel column, bounded),
// the terminal chart, and the judgements. Prints time and sizes; the HTML must stay ≤ 2 MiB.
import {
  hwSlowdowns,
  loadProblems,
  type MetricRow,
  metricsCsv,
  metricsHtml,
  metricsPeaks,
  metricsTermChart,
} from "../bee/sat/gpu_metrics.ts";

const hours = Number(Deno.args[0] ?? 24), gpus = Number(Deno.args[1] ?? 8);
function rows(): MetricRow[] {
  const out: MetricRow[] = [];
  for (let t = 0; t < hours * 3600; t++) {
    for (let g = 0; g < gpus; g++) {
      out.push({
        elapsed_s: t,
        gpu: g,
        temperature_c: 60 + ((t + g * 7) % 20),
        utilization_pct: 100,
        power_w: 650 + (t % 50),
        power_limit_w: 700,
        sm_clock_mhz: 1980 - (t % 30),
        sm_clock_max_mhz: 1980,
        reasons_active: t % 3600 === 0 ? 0x40 : 0,
        hw_slowdown: false,
        hw_thermal_slowdown: t % 3600 === 0,
        hw_power_brake_slowdown: false,
        sw_thermal_slowdown: false,
        sw_power_cap: false,
        pcie_gen: 5,
        pcie_gen_max: 5,
        pcie_width: 16,
        pcie_width_max: 16,
      } as MetricRow);
    }
  }
  return out;
}
const time = <T>(label: string, f: () => T): T => {
  const t0 = performance.now();
  const v = f();
  console.log(`${label.padEnd(28)} ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  return v;
};
const data = time(`make ${hours} h × ${gpus} GPUs`, rows);
console.log(`rows                         ${data.length}`);
const names = new Map(Array.from({ length: gpus }, (_, g) => [g, "NVIDIA H100 80GB HBM3"]));
const csv = time("CSV (every row)", () => metricsCsv(data));
const html = time("HTML + SVG charts", () => metricsHtml(data, names, "bench"));
const term = time("terminal chart", () => metricsTermChart(data, names));
time("peaks + slowdowns + load", () => [metricsPeaks(data), hwSlowdowns(data), loadProblems(data)]);
const MiB = 1024 * 1024;
console.log(`CSV size                     ${(csv.length / MiB).toFixed(1)} MiB`);
console.log(`HTML size                    ${(html.length / MiB).toFixed(2)} MiB (limit 2 MiB)`);
console.log(`terminal chart size          ${(term.length / 1024).toFixed(1)} KiB`);
console.log(`peak RSS                     ${(Deno.memoryUsage().rss / MiB).toFixed(0)} MiB`);
if (html.length > 2 * MiB) throw new Error("HTML over 2 MiB");
