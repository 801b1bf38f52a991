// The unattended SATs (bee.sat= at boot) on the web page and in /metrics: the plan with each SAT's state, and
// the running SAT's job and elapsed/planned time from its live status file. Read-only: both files are in the
// SAT folder the web may read.
import type { SatStatus } from "../sat/status.ts";
import { liveStatusFile, readUnattended, type UnattendedState } from "../sat/unattended.ts";
import { readSatStatus } from "../sat/status.ts";
import { t, table } from "./html.ts";
import { listSatArchives } from "../sat/archives.ts";

export interface SatNow {
  unattended: UnattendedState | null;
  live: SatStatus | null;
}

/** What the SAT folder says is going on now. */
export async function satNow(satDir: string): Promise<SatNow> {
  const unattended = await readUnattended(satDir);
  const live = unattended?.state === "running" ? await readSatStatus(liveStatusFile(satDir)) : null;
  return { unattended, live };
}

/** `/sat.json`, what `bee fleet collect` reads first: the archives (name, size, kind, status) and the unattended run. */
export async function satJson(satDir: string) {
  const list = await listSatArchives(satDir);
  const now = await satNow(satDir);
  return {
    archives: list.map((a) => ({
      name: a.name,
      size: a.size,
      mtime: a.mtime?.toISOString() ?? null,
      kind: a.summary?.["kind"] ?? null,
      overall_status: a.overall_status,
    })),
    unattended: now.unattended,
    running: now.live,
  };
}

/** The page's section (empty without an unattended run). */
export function unattendedHtml(n: SatNow): string {
  const u = n.unattended;
  if (!u) return "";
  const rows = u.results.map((r) => [
    t(r.kind),
    t(r.status),
    t(r.started_at ?? ""),
    t(r.finished_at ?? ""),
    t(r.archive?.replace(/^.*\//, "") ?? r.error ?? ""),
  ]);
  const live = n.live && !n.live.done
    ? `<p id="sat-running">Running: <b>${t(n.live.kind)}</b>, job ${t(String(n.live.job_index ?? "?"))}/${
      t(String(n.live.jobs ?? "?"))
    } <b>${t(n.live.job ?? "")}</b>, ${Math.round(n.live.elapsed_s ?? 0)} s of ${
      Math.round(n.live.planned_s ?? 0)
    } s planned${n.live.detail ? ` — ${t(n.live.detail, 200)}` : ""}</p>`
    : "";
  const problems = u.problems.length
    ? `<p class="sev-WARN">Bad boot parameters (left out): ${u.problems.map((p) => t(p, 300)).join("; ")}</p>`
    : "";
  return `<section id="unattended"><h2>Unattended acceptance (${t(u.state)}, then ${
    t(u.after)
  })</h2>${live}${problems}${table(["SAT", "status", "started", "finished", "archive"], rows)}</section>`;
}

type Metric = (name: string, help: string, rows: [Record<string, unknown>, number | null][]) => void;

/** Gauges of the unattended run and the running SAT. */
export function unattendedMetrics(metric: Metric, n: SatNow): void {
  const u = n.unattended;
  if (!u) return;
  metric("bee_sat_unattended_done", "1 when every unattended SAT (bee.sat=) has ended, 0 while they run", [[
    {},
    u.state === "done" ? 1 : 0,
  ]]);
  metric(
    "bee_sat_unattended_status",
    "1 for each unattended SAT's current status (pending, running, OK, FAILED, UNSUPPORTED, error)",
    u.results.map((r) => [{ kind: r.kind, status: r.status }, 1]),
  );
  const l = n.live;
  if (l && !l.done && l.kind) {
    metric("bee_sat_running", "1 for the SAT running now and its job", [[
      { kind: l.kind, job: l.job ?? "" },
      1,
    ]]);
    metric("bee_sat_elapsed_seconds", "seconds the running SAT has run", [[
      { kind: l.kind },
      l.elapsed_s ?? null,
    ]]);
    metric("bee_sat_planned_seconds", "seconds the running SAT is planned to take", [[
      { kind: l.kind },
      l.planned_s ?? null,
    ]]);
    // the NVIDIA SAT's latest sample per GPU, for alerts during burn-in (the audit's gauges are boot-time)
    const gpus = l.metrics ?? [];
    metric(
      "bee_sat_gpu_temperature_celsius",
      "the running SAT's latest GPU temperature",
      gpus.map((g) => [{ gpu: g.gpu }, g.temperature_c ?? null]),
    );
    metric(
      "bee_sat_gpu_power_watts",
      "the running SAT's latest GPU power draw",
      gpus.map((g) => [{ gpu: g.gpu }, g.power_w ?? null]),
    );
    metric(
      "bee_sat_gpu_utilization_percent",
      "the running SAT's latest GPU utilization",
      gpus.map((g) => [{ gpu: g.gpu }, g.utilization_pct ?? null]),
    );
  }
}
