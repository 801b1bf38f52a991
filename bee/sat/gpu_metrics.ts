// Per-second GPU metrics during a stress run: the nvidia-smi query to ask for, the parser of its
// CSV rows, and the three outputs of the archive (CSV, offline SVG/HTML, terminal chart).
// Pure: text in, rows out; rows in, text out.
import { stringify } from "csv-stringify/sync";
// @ts-types="@types/asciichart"
import asciichart from "asciichart";
import { t as escapeHtml } from "../lib/html.ts";

/** One GPU at one instant. Null where nvidia-smi said [N/A] / [Not Supported]. */
export interface MetricRow {
  /** seconds since the first row */
  elapsed_s: number;
  gpu: number;
  temperature_c: number | null;
  utilization_pct: number | null;
  power_w: number | null;
  sm_clock_mhz: number | null;
  /** bit mask of clocks_event_reasons.active */
  reasons_active: number | null;
  hw_slowdown: boolean | null;
  hw_thermal_slowdown: boolean | null;
  hw_power_brake_slowdown: boolean | null;
  sw_thermal_slowdown: boolean | null;
  sw_power_cap: boolean | null;
  power_limit_w: number | null;
  sm_clock_max_mhz: number | null;
  /** PCIe link generation and width now, and the most the GPU and this slot allow */
  pcie_gen: number | null;
  pcie_gen_max: number | null;
  pcie_width: number | null;
  pcie_width_max: number | null;
}

/** Reason bits of `clocks_event_reasons.active` that mean hardware trouble (SW power cap is normal). */
export const HW_REASON_BITS: Record<number, string> = {
  0x8: "HW slowdown",
  0x40: "HW thermal slowdown",
  0x80: "HW power brake slowdown",
};

/**
 * The `--query-gpu` field list: recent drivers call the reasons `clocks_event_reasons.*`, older
 * ones `clocks_throttle_reasons.*`; `helpText` is `nvidia-smi --help-query-gpu` (or "" if unknown).
 */
export function metricsFields(helpText: string): string[] {
  const r = !helpText.includes("clocks_event_reasons.") && helpText.includes("clocks_throttle_reasons.")
    ? "clocks_throttle_reasons"
    : "clocks_event_reasons";
  // the GPU's current link generation: `gpucurrent` on recent drivers, `current` before
  const gen = helpText.includes("pcie.link.gen.gpucurrent")
    ? "pcie.link.gen.gpucurrent"
    : "pcie.link.gen.current";
  return [
    "timestamp",
    "index",
    "temperature.gpu",
    "utilization.gpu",
    "power.draw",
    "clocks.sm",
    `${r}.active`,
    `${r}.hw_slowdown`,
    `${r}.hw_thermal_slowdown`,
    `${r}.hw_power_brake_slowdown`,
    `${r}.sw_thermal_slowdown`,
    `${r}.sw_power_cap`,
    "enforced.power.limit",
    "clocks.max.sm",
    gen,
    "pcie.link.gen.max",
    "pcie.link.width.current",
    "pcie.link.width.max",
  ];
}

const NA =
  /^\[?(N\/A|Not Supported|Unknown Error|GPU is lost|Requested functionality has been deprecated)\]?$/i;

function number(s: string | undefined): number | null {
  if (s === undefined) return null;
  const t = s.trim().replace(/\s*(W|MHz|%|C)$/i, "");
  if (!t || NA.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

function activeFlag(s: string | undefined): boolean | null {
  const t = s?.trim().toLowerCase();
  return t === "active" ? true : t === "not active" ? false : null;
}

/** `2026/11/24 10:00:01.123` (nvidia-smi's local time) → milliseconds on a common scale. */
export function parseTimestamp(s: string | undefined): number | null {
  const m = s?.trim().match(/^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/);
  if (!m) return null;
  const [, y, mo, d, h, mi, se, ms] = m;
  return Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +se!, Number((ms ?? "0").padEnd(3, "0")));
}

/** One raw CSV row (`--format=csv,noheader,nounits`) with its timestamp, or null when it is not one. */
export function parseMetricsLine(
  line: string,
  fields: string[],
): { t: number | null; row: Omit<MetricRow, "elapsed_s"> } | null {
  const cells = line.split(",").map((c) => c.trim());
  if (cells.length !== fields.length) return null;
  const get = (suffix: string) => cells[fields.findIndex((f) => f === suffix || f.endsWith(`.${suffix}`))];
  const gpu = number(get("index"));
  if (gpu === null || !Number.isInteger(gpu) || gpu < 0) return null;
  const active = get("active")?.trim();
  return {
    t: parseTimestamp(get("timestamp")),
    row: {
      gpu,
      temperature_c: number(get("temperature.gpu")),
      utilization_pct: number(get("utilization.gpu")),
      power_w: number(get("power.draw")),
      sm_clock_mhz: number(cells[fields.indexOf("clocks.sm")]),
      reasons_active: active && /^0x[0-9a-f]+$/i.test(active) ? parseInt(active, 16) : null,
      hw_slowdown: activeFlag(get("hw_slowdown")),
      hw_thermal_slowdown: activeFlag(get("hw_thermal_slowdown")),
      hw_power_brake_slowdown: activeFlag(get("hw_power_brake_slowdown")),
      sw_thermal_slowdown: activeFlag(get("sw_thermal_slowdown")),
      sw_power_cap: activeFlag(get("sw_power_cap")),
      power_limit_w: number(get("enforced.power.limit")),
      sm_clock_max_mhz: number(get("clocks.max.sm")),
      pcie_gen: number(cells[fields.findIndex((f) => /^pcie\.link\.gen\.(gpu)?current$/.test(f))]),
      pcie_gen_max: number(get("pcie.link.gen.max")),
      pcie_width: number(get("pcie.link.width.current")),
      pcie_width_max: number(get("pcie.link.width.max")),
    },
  };
}

/** Collects rows as lines arrive; elapsed time from nvidia-smi's timestamps, else from arrival. */
export class MetricsCollector {
  rows: MetricRow[] = [];
  #t0: number | null = null;
  #arrival0 = performance.now();
  constructor(private fields: string[]) {}

  /** Feeds one output line; returns the parsed row or null. */
  push(line: string): MetricRow | null {
    const p = parseMetricsLine(line, this.fields);
    if (!p) return null;
    let elapsed: number;
    if (p.t !== null) {
      this.#t0 ??= p.t;
      elapsed = (p.t - this.#t0) / 1000;
    } else {
      elapsed = (performance.now() - this.#arrival0) / 1000;
    }
    const row = { elapsed_s: Math.max(0, Math.round(elapsed * 10) / 10), ...p.row };
    if (this.rows.length < 24 * 3600 * 16) this.rows.push(row); // 24 h of 16 GPUs at most
    return row;
  }
}

/** Hardware slowdown reasons seen per GPU (by flag or by reason bit), with the first time seen. */
export function hwSlowdowns(rows: MetricRow[]): Map<number, { reasons: Set<string>; first_s: number }> {
  const out = new Map<number, { reasons: Set<string>; first_s: number }>();
  for (const r of rows) {
    const seen: string[] = [];
    if (r.hw_slowdown) seen.push("HW slowdown");
    if (r.hw_thermal_slowdown) seen.push("HW thermal slowdown");
    if (r.hw_power_brake_slowdown) seen.push("HW power brake slowdown");
    for (const [bit, name] of Object.entries(HW_REASON_BITS)) {
      if (r.reasons_active !== null && (r.reasons_active & Number(bit))) seen.push(name);
    }
    if (!seen.length) continue;
    const e = out.get(r.gpu) ?? { reasons: new Set<string>(), first_s: r.elapsed_s };
    seen.forEach((s) => e.reasons.add(s));
    out.set(r.gpu, e);
  }
  return out;
}

/** Samples with at least this GPU utilisation count as "under load". */
export const LOAD_UTILIZATION_PCT = 90;
/** Load samples needed before sustained power is judged (a short run may not have warmed up). */
export const POWER_MIN_LOAD_SAMPLES = 30;
/** Load samples needed before the PCIe rules apply. */
export const PCIE_MIN_LOAD_SAMPLES = 5;

/**
 * What DCGM's diagnostics also fail a GPU for, from the samples taken under load (utilisation ≥ 90 %):
 * a PCIe link narrower than the slot and GPU allow, or a link that never ran at its maximum generation.
 * Returns per GPU the problems found. (Sustained power is a judged figure: bee/sat/nvidia/measure.ts.)
 */
export function loadProblems(rows: MetricRow[]): Map<number, string[]> {
  const byGpu = new Map<number, MetricRow[]>();
  for (const r of rows) {
    if (r.utilization_pct === null || r.utilization_pct < LOAD_UTILIZATION_PCT) continue;
    const list = byGpu.get(r.gpu) ?? [];
    list.push(r);
    byGpu.set(r.gpu, list);
  }
  const out = new Map<number, string[]>();
  const maxOf = (xs: (number | null)[]) =>
    xs.reduce<number | null>((m, x) => (x === null ? m : Math.max(m ?? x, x)), null);
  const minOf = (xs: (number | null)[]) =>
    xs.reduce<number | null>((m, x) => (x === null ? m : Math.min(m ?? x, x)), null);
  for (const [gpu, load] of byGpu) {
    const problems: string[] = [];
    if (load.length >= PCIE_MIN_LOAD_SAMPLES) {
      const width = minOf(load.map((r) => r.pcie_width));
      const widthMax = maxOf(load.map((r) => r.pcie_width_max));
      if (width !== null && widthMax !== null && width < widthMax) {
        problems.push(`PCIe link at x${width} under load, x${widthMax} possible`);
      }
      const gen = maxOf(load.map((r) => r.pcie_gen));
      const genMax = maxOf(load.map((r) => r.pcie_gen_max));
      if (gen !== null && genMax !== null && gen < genMax) {
        problems.push(`PCIe link never above Gen${gen} under load, Gen${genMax} possible`);
      }
    }
    if (problems.length) out.set(gpu, problems);
  }
  return out;
}

/** Per-GPU maxima for the summary. */
export function metricsPeaks(
  rows: MetricRow[],
): Map<number, { temperature_c: number | null; power_w: number | null; samples: number }> {
  const out = new Map<number, { temperature_c: number | null; power_w: number | null; samples: number }>();
  for (const r of rows) {
    const e = out.get(r.gpu) ?? { temperature_c: null, power_w: null, samples: 0 };
    e.samples++;
    if (r.temperature_c !== null) e.temperature_c = Math.max(e.temperature_c ?? -Infinity, r.temperature_c);
    if (r.power_w !== null) e.power_w = Math.max(e.power_w ?? -Infinity, r.power_w);
    out.set(r.gpu, e);
  }
  return out;
}

const CSV_COLUMNS = [
  "elapsed_s",
  "gpu",
  "temperature_c",
  "utilization_pct",
  "power_w",
  "sm_clock_mhz",
  "clocks_event_reasons_active",
  "hw_slowdown",
  "hw_thermal_slowdown",
  "hw_power_brake_slowdown",
  "sw_thermal_slowdown",
  "sw_power_cap",
  "pcie_gen",
  "pcie_width",
];

/** gpu-metrics.csv: elapsed s, GPU index, temperature, utilisation, power, SM clock, then reasons. */
export function metricsCsv(rows: MetricRow[]): string {
  const flag = (b: boolean | null) => (b === null ? "" : b ? "1" : "0");
  return stringify(
    rows.map((r) => [
      r.elapsed_s,
      r.gpu,
      r.temperature_c ?? "",
      r.utilization_pct ?? "",
      r.power_w ?? "",
      r.sm_clock_mhz ?? "",
      r.reasons_active === null ? "" : `0x${r.reasons_active.toString(16).padStart(16, "0")}`,
      flag(r.hw_slowdown),
      flag(r.hw_thermal_slowdown),
      flag(r.hw_power_brake_slowdown),
      flag(r.sw_thermal_slowdown),
      flag(r.sw_power_cap),
      r.pcie_gen ?? "",
      r.pcie_width ?? "",
    ]),
    { header: true, columns: CSV_COLUMNS },
  );
}

/** The four series of one GPU scaled to 0–100 so they share one axis, with what 100 means. */
export interface ScaledSeries {
  key: "temperature" | "utilization" | "power" | "clock";
  label: string;
  color: string;
  values: (number | null)[];
  elapsed: number[];
}

function maxOf(xs: (number | null)[]): number | null {
  let m: number | null = null;
  for (const x of xs) if (x !== null && (m === null || x > m)) m = x;
  return m;
}

/** Scales one GPU's rows: °C as is, utilisation %, power as % of the limit, clock as % of max. */
export function scaleSeries(rows: MetricRow[]): ScaledSeries[] {
  const elapsed = rows.map((r) => r.elapsed_s);
  const clamp = (v: number | null) => (v === null ? null : Math.max(0, Math.min(100, v)));
  const powerRef = maxOf(rows.map((r) => r.power_limit_w)) ?? maxOf(rows.map((r) => r.power_w));
  const clockRef = maxOf(rows.map((r) => r.sm_clock_max_mhz)) ?? maxOf(rows.map((r) => r.sm_clock_mhz));
  const pct = (v: number | null, ref: number | null) => (v === null || !ref ? null : clamp((v / ref) * 100));
  return [
    {
      key: "temperature",
      label: "temperature, °C",
      color: "#d62728",
      values: rows.map((r) => clamp(r.temperature_c)),
      elapsed,
    },
    {
      key: "utilization",
      label: "utilisation, %",
      color: "#1f77b4",
      values: rows.map((r) => clamp(r.utilization_pct)),
      elapsed,
    },
    {
      key: "power",
      label: `power, % of ${powerRef === null ? "?" : Math.round(powerRef)} W`,
      color: "#2ca02c",
      values: rows.map((r) => pct(r.power_w, powerRef)),
      elapsed,
    },
    {
      key: "clock",
      label: `SM clock, % of ${clockRef === null ? "?" : Math.round(clockRef)} MHz`,
      color: "#bcbd22",
      values: rows.map((r) => pct(r.sm_clock_mhz, clockRef)),
      elapsed,
    },
  ];
}

/** Rows grouped per GPU in one pass (linear: 8 GPUs × 24 h is 691 200 rows). */
function byGpu(rows: MetricRow[]): Map<number, MetricRow[]> {
  const m = new Map<number, MetricRow[]>();
  for (const r of rows) {
    const list = m.get(r.gpu);
    if (list) list.push(r);
    else m.set(r.gpu, [r]);
  }
  return new Map([...m.entries()].sort((a, b) => a[0] - b[0]));
}

/** Largest elapsed time, without spreading (Math.max(...rows) throws past ~200k samples). */
function lastElapsed(rows: MetricRow[], floor: number): number {
  let m = floor;
  for (const r of rows) if (r.elapsed_s > m) m = r.elapsed_s;
  return m;
}

/**
 * Per pixel column, the min and max of a series (nulls skipped; an all-null column is a gap), so a
 * chart of a million samples has a few hundred points per line and a one-second spike stays visible.
 */
export function minMaxColumns(
  values: (number | null)[],
  elapsed: number[],
  tMax: number,
  width: number,
): ({ col: number; min: number; max: number } | null)[] {
  const out: ({ col: number; min: number; max: number } | null)[] = new Array(width).fill(null);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    const col = Math.min(width - 1, Math.max(0, Math.floor((elapsed[i]! / tMax) * (width - 1))));
    const c = out[col];
    if (!c) out[col] = { col, min: v, max: v };
    else {
      if (v < c.min) c.min = v;
      if (v > c.max) c.max = v;
    }
  }
  return out;
}

function svgChart(gpu: number, name: string, rows: MetricRow[]): string {
  const W = 760, H = 260, L = 44, R = 12, T = 28, B = 34;
  const pw = W - L - R, ph = H - T - B;
  const tMax = lastElapsed(rows, 1);
  const x = (t: number) => (L + (t / tMax) * pw).toFixed(1);
  const colX = (c: number) => (L + (c / (pw - 1)) * pw).toFixed(1);
  const y = (v: number) => (T + ph - (v / 100) * ph).toFixed(1);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="GPU ${gpu} metrics">`,
    `<title>GPU ${gpu} ${escapeHtml(name)}</title>`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${L}" y="18" font-family="sans-serif" font-size="13" font-weight="bold">GPU ${gpu} · ${
      escapeHtml(name)
    }</text>`,
  );
  // hardware slowdown as shaded bands: pixel columns with any slowdown sample, runs merged
  const slow = new Array<boolean>(pw).fill(false);
  for (const r of rows) {
    const hw = r.hw_slowdown || r.hw_thermal_slowdown || r.hw_power_brake_slowdown ||
      (r.reasons_active !== null && (r.reasons_active & 0xc8) !== 0);
    if (hw) slow[Math.min(pw - 1, Math.max(0, Math.floor((r.elapsed_s / tMax) * (pw - 1))))] = true;
  }
  for (let c = 0; c < pw; c++) {
    if (!slow[c]) continue;
    let e = c;
    while (e + 1 < pw && slow[e + 1]) e++;
    parts.push(
      `<rect x="${colX(c)}" y="${T}" width="${
        Math.max(1, e - c + 1)
      }" height="${ph}" fill="#d62728" fill-opacity="0.12"/>`,
    );
    c = e;
  }
  for (const v of [0, 25, 50, 75, 100]) {
    parts.push(
      `<line x1="${L}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}" stroke="#dddddd" stroke-width="1"/>`,
      `<text x="${L - 6}" y="${
        (+y(v) + 4).toFixed(1)
      }" font-family="sans-serif" font-size="10" text-anchor="end">${v}</text>`,
    );
  }
  for (let i = 0; i <= 5; i++) {
    const t = (tMax * i) / 5;
    parts.push(
      `<text x="${x(t)}" y="${H - B + 14}" font-family="sans-serif" font-size="10" text-anchor="middle">${
        Math.round(t)
      } s</text>`,
    );
  }
  parts.push(
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${T + ph}" stroke="#333333"/>`,
    `<line x1="${L}" y1="${T + ph}" x2="${W - R}" y2="${T + ph}" stroke="#333333"/>`,
  );
  const series = scaleSeries(rows);
  series.forEach((s, i) => {
    // gaps ([N/A]) split the line into segments
    let seg: string[] = [];
    const flush = () => {
      if (seg.length) {
        parts.push(
          `<polyline fill="none" stroke="${s.color}" stroke-width="1.6" points="${seg.join(" ")}"/>`,
        );
      }
      seg = [];
    };
    if (s.values.length <= pw) {
      s.values.forEach((v, k) => (v === null ? flush() : seg.push(`${x(s.elapsed[k]!)},${y(v)}`)));
    } else {
      // more samples than pixels: each column's min and max, so spikes stay visible
      let lastCol = -2;
      for (const c of minMaxColumns(s.values, s.elapsed, tMax, pw)) {
        if (!c) continue;
        if (c.col !== lastCol + 1) flush(); // a column without samples is a gap
        seg.push(`${colX(c.col)},${y(c.min)}`);
        if (c.max !== c.min) seg.push(`${colX(c.col)},${y(c.max)}`);
        lastCol = c.col;
      }
    }
    flush();
    const lx = L + i * 180;
    parts.push(
      `<rect x="${lx}" y="${H - 14}" width="10" height="3" fill="${s.color}"/>`,
      `<text x="${lx + 14}" y="${H - 9}" font-family="sans-serif" font-size="10">${
        escapeHtml(s.label)
      }</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** gpu-metrics.html: one inline SVG chart per GPU; no script, no external CSS, no links out. */
export function metricsHtml(rows: MetricRow[], names: Map<number, string>, title: string): string {
  const charts = [...byGpu(rows)].map(([gpu, rs]) =>
    `<figure>${svgChart(gpu, names.get(gpu) ?? "", rs)}</figure>`
  );
  return [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    "<style>body{font-family:sans-serif;margin:16px;color:#222}figure{margin:0 0 16px}</style>",
    "</head><body>",
    `<h1>${escapeHtml(title)}</h1>`,
    `<p>One sample per second. Temperature in °C and utilisation in % as measured; power as % of the enforced limit and SM clock as % of the maximum clock, so the four share one 0–100 axis. Shaded: hardware slowdown active.</p>`,
    charts.length ? charts.join("\n") : "<p>No GPU metrics were collected.</p>",
    "</body></html>",
    "",
  ].join("\n");
}

/**
 * `values` in at most `width` buckets, one value each: the sample farthest from the bucket's mean, so a
 * one-second spike or dip survives a day squeezed into 64 columns (nulls skipped; all-null stays null).
 * One pass per bucket: linear in the number of samples.
 */
export function downsample(values: (number | null)[], width: number): (number | null)[] {
  if (values.length <= width) return values;
  const out: (number | null)[] = [];
  for (let i = 0; i < width; i++) {
    const a = Math.floor((i * values.length) / width), b = Math.floor(((i + 1) * values.length) / width);
    let sum = 0, n = 0, lo = Infinity, hi = -Infinity;
    for (let k = a; k < b; k++) {
      const v = values[k];
      if (v === null || v === undefined) continue;
      sum += v;
      n++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!n) {
      out.push(null);
      continue;
    }
    const mean = sum / n;
    out.push(hi - mean >= mean - lo ? hi : lo);
  }
  return out;
}

/** Nulls replaced by the previous value (leading ones by the first known value; all-null → 0). */
export function fillGaps(values: (number | null)[]): number[] {
  let prev = values.find((v): v is number => v !== null) ?? 0;
  return values.map((v) => (v === null ? prev : (prev = v)));
}

const TERM_COLORS = [asciichart.red, asciichart.blue, asciichart.green, asciichart.yellow];

/**
 * gpu-metrics-term.txt: per GPU an asciichart plot (box-drawing characters, Y axis 0–100 with ticks)
 * of the four series in red/blue/green/yellow, and a legend saying what each is scaled to.
 */
export function metricsTermChart(rows: MetricRow[], names: Map<number, string>, width = 64): string {
  const out: string[] = [];
  for (const [gpu, rs] of byGpu(rows)) {
    const series = scaleSeries(rs);
    // asciichart cannot draw gaps ([N/A] samples): a gap repeats the last known value
    const data = series.map((s) => fillGaps(downsample(s.values, width)));
    const tMax = lastElapsed(rs, 0);
    out.push(`GPU ${gpu} ${names.get(gpu) ?? ""}`.trimEnd().slice(0, 78));
    const empty = series.filter((s) => s.values.every((v) => v === null)).map((s) => s.key);
    if (empty.length) out.push(`      no data: ${empty.join(", ")}`);
    out.push(
      asciichart.plot(data, {
        height: 10,
        min: 0,
        max: 100,
        colors: TERM_COLORS,
        format: (v: number) => v.toFixed(0).padStart(4) + " ",
      }),
    );
    out.push(
      `      0 s${" ".repeat(Math.max(1, Math.min(width, data[0]!.length) - 10))}${Math.round(tMax)} s`,
    );
    const legend = series.map((s, i) => `${TERM_COLORS[i]}━━${asciichart.reset} ${s.label.padEnd(30)}`);
    out.push(`      ${legend[0]} ${legend[1]}`.trimEnd(), `      ${legend[2]} ${legend[3]}`.trimEnd());
    out.push("");
  }
  if (!out.length) out.push("No GPU metrics were collected.");
  return out.join("\n") + "\n";
}
