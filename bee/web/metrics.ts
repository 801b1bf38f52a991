// Prometheus text exposition of the audit and the SAT results, with bounded cardinality so one Prometheus
// can scrape a whole burn-in floor: findings by code/component/severity, SAT results by kind and status
// (never one series per archive), and one info series naming the machine.
import type { Audit } from "../model/schema.ts";
import type { SatArchive } from "../sat/archives.ts";
import { AREAS } from "../areas/index.ts";
import { type SatNow, unattendedMetrics } from "./unattended.ts";
import { FIGURES } from "../sat/nvidia/references.ts";

function label(v: unknown): string {
  return String(v ?? "").slice(0, 200).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** `gpu_stress_tflops_bf16_gpu0`: a job's judged figure for one GPU (bee/sat/nvidia/figures.ts figureFacts). */
const FIGURE_FACT = /^gpu_[a-z0-9]+_([a-z0-9_]+?)_gpu(\d{1,3})$/;
const FIGURE_NAMES: ReadonlySet<string> = new Set(FIGURES);

type Metric = (name: string, help: string, rows: [Record<string, unknown>, number | null][]) => void;

/** SAT results: counts per kind and status, and the newest run per kind — no label per archive. */
function satMetrics(metric: Metric, sats: SatArchive[]): void {
  const counts = new Map<string, number>();
  const newest = new Map<string, SatArchive>();
  for (const a of sats) {
    const kind = a.summary?.["kind"] ?? "unknown";
    const status = a.overall_status ?? "UNKNOWN";
    counts.set(`${kind}\0${status}`, (counts.get(`${kind}\0${status}`) ?? 0) + 1);
    const n = newest.get(kind);
    if (!n || (a.mtime?.getTime() ?? 0) > (n.mtime?.getTime() ?? 0)) newest.set(kind, a);
  }
  metric(
    "bee_sat_runs",
    "SAT archives on this machine by kind and overall status",
    [...counts].map(([k, n]) => {
      const [kind, status] = k.split("\0");
      return [{ kind, status }, n];
    }),
  );
  metric(
    "bee_sat_last_result",
    "1 for the overall status of the newest SAT of each kind",
    [...newest].map(([kind, a]) => [{ kind, status: a.overall_status ?? "UNKNOWN" }, 1]),
  );
  // the newest NVIDIA run's judged figures, from its summary: one series per GPU and figure (bounded)
  const nv = newest.get("nvidia")?.summary ?? {};
  const figures: [Record<string, unknown>, number | null][] = [];
  for (const [k, v] of Object.entries(nv)) {
    const m = k.match(FIGURE_FACT);
    if (m && FIGURE_NAMES.has(m[1]!)) figures.push([{ gpu: m[2], figure: m[1] }, Number(v)]);
  }
  metric(
    "bee_sat_gpu_figure",
    "each GPU's judged figures in the newest NVIDIA SAT (unit in the name)",
    figures,
  );
  metric("bee_sat_nccl_busbw_gbs", "NCCL all-reduce bus bandwidth at the largest size, newest NVIDIA SAT", [[
    { gpus: nv["gpu_nccl_gpus"] ?? "" },
    nv["gpu_nccl_busbw_gbs"] === undefined ? null : Number(nv["gpu_nccl_busbw_gbs"]),
  ]]);
  metric(
    "bee_sat_last_timestamp_seconds",
    "when the newest SAT of each kind finished (archive time)",
    [...newest].map(([kind, a]) => [{ kind }, a.mtime ? a.mtime.getTime() / 1000 : null]),
  );
}

/** Metrics text (format 0.0.4). `audit` is null when there is no valid audit. */
export function renderMetrics(audit: Audit | null, sats: SatArchive[], now?: SatNow): string {
  const out: string[] = [];
  // every series once: rows whose labels come out the same (two findings of one code on one component, or
  // labels equal after bounding) are summed into one series — Prometheus rejects a repeated series
  const metric: Metric = (name, help, rows) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    const series = new Map<string, number>();
    for (const [labels, v] of rows) {
      if (v === null || !Number.isFinite(v)) continue;
      const l = Object.entries(labels).map(([k, x]) => `${k}="${label(x)}"`).join(",");
      series.set(l, (series.get(l) ?? 0) + v);
    }
    for (const [l, v] of series) out.push(`${name}${l ? `{${l}}` : ""} ${v}`);
  };
  metric("bee_audit_present", "1 when a valid audit is available", [[{}, audit ? 1 : 0]]);
  if (audit) {
    const s = audit.hardware.summary;
    metric(
      "bee_audit_verdict",
      "1 for the current verdict",
      (["PASS", "WARN", "FAIL"] as const).map((v) => [{ verdict: v }, s.verdict === v ? 1 : 0]),
    );
    metric("bee_audit_warnings", "number of WARN findings", [[{}, s.warnings]]);
    metric("bee_audit_failures", "number of FAIL findings", [[{}, s.failures]]);
    metric("bee_audit_timestamp_seconds", "when the audit was taken", [[
      {},
      Date.parse(audit.host.collected_at) / 1000,
    ]]);
    const board = audit.hardware.board?.system;
    metric("bee_machine_info", "identity of the audited machine (labels only)", [[{
      serial: board?.serial ?? "",
      manufacturer: board?.manufacturer ?? "",
      product: board?.product ?? "",
      bee_version: audit.bee.version,
    }, 1]]);
    if (audit.expect) {
      metric("bee_as_ordered", "1 when the machine matches its expected bill of materials, 0 when not", [[
        {},
        audit.expect.as_ordered ? 1 : 0,
      ]]);
      metric("bee_order_differences", "bom.* findings against the expected bill of materials", [[
        {},
        audit.expect.differences,
      ]]);
    }
    metric(
      "bee_finding",
      "findings of the audit (the first 500) by rule code, component and severity",
      s.findings.slice(0, 500).map((
        f,
      ) => [{ code: f.code, component: f.component, severity: f.severity }, 1]),
    );
    metric(
      "bee_collector_status",
      "1 for each collector's status",
      audit.collectors.map((c) => [{ collector: c.name, status: c.status }, 1]),
    );
    for (const area of AREAS) for (const m of area.metrics?.(audit) ?? []) metric(m.name, m.help, m.rows);
  }
  satMetrics(metric, sats);
  if (now) unattendedMetrics(metric, now);
  return out.join("\n") + "\n";
}
