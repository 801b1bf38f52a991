// Issue 13, case 10: long-run GPU metrics. On commit 83d381f a 3-day single-GPU run threw RangeError
// (Math.max over every sample), 6 h × 8 GPUs of HTML was ~7 MiB (one SVG point per sample) and a
// one-second spike among a day of samples was averaged away in the terminal chart.
import assert from "node:assert/strict";
import { type MetricRow, metricsHtml, metricsTermChart, minMaxColumns } from "../bee/sat/gpu_metrics.ts";

function row(t: number, gpu: number, util: number | null): MetricRow {
  return {
    elapsed_s: t,
    gpu,
    temperature_c: 60,
    utilization_pct: util,
    power_w: 600,
    sm_clock_mhz: 1900,
    reasons_active: 0,
    hw_slowdown: false,
    hw_thermal_slowdown: false,
    hw_power_brake_slowdown: false,
    sw_thermal_slowdown: false,
    sw_power_cap: false,
    power_limit_w: 700,
    sm_clock_max_mhz: 1980,
    pcie_gen: 5,
    pcie_gen_max: 5,
    pcie_width: 16,
    pcie_width_max: 16,
  };
}

Deno.test("10: a 3-day single-GPU run renders (no spread over every sample)", () => {
  const rows = Array.from({ length: 3 * 24 * 3600 }, (_, t) => row(t, 0, 100));
  const html = metricsHtml(rows, new Map([[0, "H100"]]), "3 days");
  assert.ok(html.includes("<svg"));
  assert.match(metricsTermChart(rows, new Map([[0, "H100"]])), /259199 s/);
});

Deno.test("10: 6 h × 8 GPUs of HTML stays small; CSV is the place for every row", () => {
  const rows: MetricRow[] = [];
  for (let t = 0; t < 6 * 3600; t++) for (let g = 0; g < 8; g++) rows.push(row(t, g, (t * 7 + g) % 101));
  const html = metricsHtml(rows, new Map(), "6 h");
  assert.ok(html.length < 1024 * 1024, `HTML ${html.length} bytes`);
  assert.equal((html.match(/<svg /g) ?? []).length, 8);
});

Deno.test("10: a one-second spike among a day of samples stays visible (min/max per column)", () => {
  const rows = Array.from({ length: 24 * 3600 }, (_, t) => row(t, 0, t === 50_000 ? 100 : 0));
  const cols = minMaxColumns(rows.map((r) => r.utilization_pct), rows.map((r) => r.elapsed_s), 86_399, 700);
  assert.equal(Math.max(...cols.map((c) => c?.max ?? 0)), 100);
  const html = metricsHtml(rows, new Map(), "spike");
  // the utilisation line (blue) reaches the top of the plot (y = 28.0 for 100 %)
  const blue = html.match(/stroke="#1f77b4" stroke-width="1.6" points="([^"]+)"/)![1]!;
  assert.ok(blue.split(" ").some((p) => p.endsWith(",28.0")), "spike drawn");
  // the terminal chart keeps it too: the spike's column rises through the otherwise empty 10–50 rows
  // deno-lint-ignore no-control-regex
  const term = metricsTermChart(rows, new Map([[0, "H100"]])).replace(/\x1b\[[0-9;]*m/g, "");
  const mid = term.split("\n").filter((l) => /^\s+(20|30|40) /.test(l));
  assert.equal(mid.length, 3);
  for (const l of mid) assert.match(l, /│/, `spike crosses ${l.trim().slice(0, 4)}`);
  // gaps: a GPU that stopped answering for an hour has a break in its line
  const gap = Array.from({ length: 24 * 3600 }, (_, t) => row(t, 0, t >= 3600 && t < 7200 ? null : 50));
  const g = metricsHtml(gap, new Map(), "gap");
  assert.equal((g.match(/stroke="#1f77b4" stroke-width="1.6"/g) ?? []).length, 2);
});
