// The jobs of `bee sat nvidia`, one factory each. They share one explicit run state (NvidiaRun): what the
// plan decided (GPUs, duration, size, environment) and what earlier jobs found (nvidia-smi -q and the
// kernel log before the stress) — no closure variable carries "before" between jobs.
import { parseNvidiaSmiQ } from "../../parsers/nvidia_smi.ts";
import type { Nvidia } from "../../model/schema.ts";
import type { SatContext, SatJob } from "../runner.ts";
import type { JobResult } from "../summary.ts";
import {
  foldStressLine,
  judgeStress,
  newStressState,
  physicalIndex,
  type StressState,
} from "../gpu_stress.ts";
import type { ProcResult } from "../../lib/proc.ts";
import { judgeHealth, judgeXids, newLines, parseXids } from "../gpu_health.ts";
import { foldP2pLine, judgeP2p, type P2pState } from "../gpu_p2p.ts";
import { parseTopoMatrix } from "../../parsers/nvlink.ts";
import { fabricNotReady } from "./fabric.ts";
import { figureFacts, figureFindings, judgeFigures, type Measurement } from "./figures.ts";
import {
  identities,
  p2pBidirMeasurements,
  p2pMeasurements,
  powerMeasurements,
  stressMeasurements,
  sustainedPower,
} from "./measure.ts";
import { referenceFor } from "./references.ts";
import {
  hwSlowdowns,
  loadProblems,
  type MetricRow,
  MetricsCollector,
  metricsCsv,
  metricsFields,
  metricsHtml,
  metricsPeaks,
  metricsTermChart,
} from "../gpu_metrics.ts";

/** The kernel log, from dmesg or else journalctl; null when neither can be read. */
async function kernelLog(ctx: SatContext, file: string): Promise<string | null> {
  const d = await ctx.run(file, "dmesg", [], { timeoutMs: 30_000 });
  if (d.kind === "exited" && d.code === 0) return await ctx.read(file);
  await Deno.remove(`${ctx.dir}/${file}`).catch(() => {});
  const j = await ctx.run(file, "journalctl", ["-k", "-b", "--no-pager", "-q"], { timeoutMs: 60_000 });
  if (j.kind === "exited" && j.code === 0) return await ctx.read(file);
  return null;
}

/** What the jobs of one run share. */
export interface NvidiaRun {
  timeoutMs: number;
  /** nvidia-smi indices of the GPUs under test */
  selected: number[];
  seconds: number;
  sizeMb: number;
  /** nvidia-smi's name of each GPU, by index */
  names: Map<number, string>;
  /** CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER for the CUDA tools */
  env: Record<string, string>;
  /** ordered GPU pairs (for the P2P job's time budget) */
  pairs: number;
  /** why the CUDA jobs cannot run on this NVSwitch system (Fabric Manager), found while planning */
  fabricBlocker: string | null;
  /** filled by the first job: nvidia-smi -q and the kernel log before the stress */
  before: Nvidia | null;
  kernelBefore: string | null;
  /** figures measured so far, judged together (peers) into gpu-results.json */
  measured: Measurement[];
  /** share under the same-model peers' median that FAILs (BEE_PEER_FAIL_PCT) */
  peerFailPct: number;
}

/** Judges this job's figures with the run's earlier ones; writes gpu-results.json; folds them into the result. */
export async function judgeMeasured(
  run: NvidiaRun,
  ctx: SatContext,
  fresh: Measurement[],
  result: JobResult,
) {
  run.measured.push(...fresh);
  const all = judgeFigures(run.measured, run.peerFailPct);
  await ctx.write(
    "gpu-results.json",
    JSON.stringify({ peer_fail_pct: run.peerFailPct, results: all }, null, 2) + "\n",
  );
  const mine = all.filter((r) => fresh.some((m) => m.gpu === r.gpu && m.figure === r.figure));
  Object.assign(result.facts ??= {}, figureFacts(mine));
  const findings = figureFindings(mine, run.peerFailPct);
  if (findings.length) result.findings = [...(result.findings ?? []), ...findings];
  const failed = mine.filter((r) => r.verdict === "FAIL");
  if (failed.length && (result.status === "OK" || result.status === "FAILED")) {
    const why = failed.slice(0, 4).map((r) => `GPU ${r.gpu} ${r.figure}: ${r.why}`).join("; ");
    result.reason = [result.status === "FAILED" ? result.reason : null, why].filter(Boolean).join("; ").slice(
      0,
      800,
    );
    result.status = "FAILED";
  }
  return result;
}

/** Why the CUDA jobs cannot run now (no Fabric Manager, or the fabric not ready before the run), or null. */
export function cudaBlocked(run: NvidiaRun): string | null {
  return run.fabricBlocker ?? fabricNotReady(run.before?.gpus ?? [], run.selected);
}

/** nvidia-smi -q and the kernel log before anything runs (the run state keeps both). */
export function smiQJob(run: NvidiaRun): SatJob {
  return {
    name: "nvidia_smi_q",
    plannedS: 10,
    describe: "nvidia-smi -q and the kernel log: the state before (ECC, remapped rows, retired pages, links)",
    async run(ctx) {
      run.kernelBefore = await kernelLog(ctx, "kernel-log-before.txt");
      const r = await ctx.run("nvidia-smi-q.txt", "nvidia-smi", ["-q"], { timeoutMs: run.timeoutMs * 2 });
      if (r.kind !== "exited" || r.code !== 0) {
        return {
          name: "nvidia_smi_q",
          status: "FAILED",
          reason: `nvidia-smi -q: ${r.kind}${"code" in r ? ` ${r.code}` : ""}`,
        };
      }
      try {
        run.before = parseNvidiaSmiQ(await ctx.read("nvidia-smi-q.txt"));
      } catch (e) {
        return {
          name: "nvidia_smi_q",
          status: "FAILED",
          reason: `unreadable nvidia-smi -q: ${(e as Error).message}`,
        };
      }
      return {
        name: "nvidia_smi_q",
        status: "OK",
        facts: {
          driver_version: run.before.driver_version,
          cuda_version: run.before.cuda_version,
          gpus: run.before.gpus.length,
        },
      };
    },
  };
}

/** bee-gpu-stress with the per-second metrics poller; judged on its JSON lines, slowdowns, temperatures and load. */
export function stressJob(run: NvidiaRun): SatJob {
  return {
    name: "gpu_stress",
    plannedS: run.seconds + 20,
    describe:
      `cuBLASLt GEMMs in every format the GPU has for ${run.seconds} s, each result checked against FP64 ` +
      "and across GPUs; per-second metrics (temperature, power, clocks, slowdown reasons, PCIe link)",
    figures: ["tflops_tf32", "tflops_fp16", "tflops_bf16", "tflops_fp8", "tflops_fp4", "power_w"],
    async run(ctx) {
      const blocked = cudaBlocked(run);
      if (blocked) return { name: "gpu_stress", status: "UNSUPPORTED", reason: blocked };
      const help = await ctx.capture("nvidia-smi", ["--help-query-gpu"], { timeoutMs: run.timeoutMs });
      const fields = metricsFields(help.kind === "exited" ? help.stdout : "");
      const metrics = new MetricsCollector(fields);
      const last = new Map<number, unknown>();
      const stopPoller = new AbortController();
      const onAbort = () => stopPoller.abort();
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      const poller = ctx.run(
        "gpu-metrics-raw.csv",
        "nvidia-smi",
        [
          `--query-gpu=${fields.join(",")}`,
          "--format=csv,noheader,nounits",
          "-l",
          "1",
          "-i",
          run.selected.join(","),
        ],
        {
          timeoutMs: (run.seconds + 3600) * 1000,
          signal: stopPoller.signal,
          graceMs: 2000,
          onLine: (l) => {
            const row = metrics.push(l);
            if (row) last.set(row.gpu, row);
          },
        },
      );
      const state = newStressState();
      const args = ["--seconds", String(run.seconds), "--size-mb", String(run.sizeMb)];
      ctx.log(`bee-gpu-stress ${args.join(" ")} with CUDA_VISIBLE_DEVICES=${run.env.CUDA_VISIBLE_DEVICES}`);
      const proc = await ctx.run("gpu-stress.jsonl", "bee-gpu-stress", args, {
        timeoutMs: (run.seconds + 180) * 1000,
        stderrPath: `${ctx.dir}/gpu-stress.stderr.txt`,
        graceMs: 15_000,
        onLine: (l) => {
          const ev = foldStressLine(state, l);
          if (ev === "progress" || ev === "result") {
            const p = [...state.progress.values()].map((f) =>
              `GPU${physicalIndex(run.selected, f.device)} ${f.dtype} ${f.tflops?.toFixed(1) ?? "?"} TFLOPS`
            );
            ctx.progress(p.slice(0, 4).join(", "), {
              stress: [...state.progress.values()],
              metrics: [...last.values()],
            });
          }
        },
      });
      // stop/done handshake: the poller is stopped and has exited before its rows are read
      stopPoller.abort();
      await poller;
      ctx.signal.removeEventListener("abort", onAbort);
      return await afterStress(run, ctx, proc, state, metrics.rows);
    },
  };
}

/** The stress run's metrics files, its judgement (tool lines, slowdowns, temperatures, load) and its figures. */
async function afterStress(
  run: NvidiaRun,
  ctx: SatContext,
  proc: ProcResult,
  state: StressState,
  rows: MetricRow[],
): Promise<JobResult> {
  await ctx.write("gpu-metrics.csv", metricsCsv(rows));
  const title = `GPU metrics during bee-gpu-stress (${run.seconds} s)`;
  await ctx.write("gpu-metrics.html", metricsHtml(rows, run.names, title));
  await ctx.write("gpu-metrics-term.txt", metricsTermChart(rows, run.names));
  const overTemp = new Map<number, { peak_c: number; max_c: number }>();
  const peaks = metricsPeaks(rows);
  for (const g of run.before?.gpus ?? []) {
    const p = peaks.get(g.index);
    if (
      p?.temperature_c != null && g.max_operating_temp_c != null &&
      p.temperature_c > g.max_operating_temp_c
    ) {
      overTemp.set(g.index, { peak_c: p.temperature_c, max_c: g.max_operating_temp_c });
    }
  }
  const result = judgeStress({
    proc,
    state,
    selected: run.selected,
    hwSlowdown: hwSlowdowns(rows),
    overTemp,
    metricSamples: rows.length,
    underLoad: loadProblems(rows),
  });
  for (const [g, p] of peaks) {
    result.facts![`gpu${g}_temperature_max_c`] = p.temperature_c;
    result.facts![`gpu${g}_power_max_w`] = p.power_w;
  }
  const who = identities(run.names, run.before?.gpus ?? null);
  const power = sustainedPower(rows, run.before?.gpus ?? null);
  for (const p of power) {
    result.facts![`gpu${p.gpu}_power_sustained_w`] = p.sustained_w;
    result.facts![`gpu${p.gpu}_power_limit_w`] = p.limit_w;
    if (p.reasons.length) result.facts![`gpu${p.gpu}_power_reasons`] = p.reasons.join(",");
  }
  const fresh = [...stressMeasurements(state, run.selected, who), ...powerMeasurements(power, who)];
  return await judgeMeasured(run, ctx, fresh, result);
}

/** bee-gpu-stress --p2p: every ordered GPU pair, judged against pairs of the same kind. */
export function p2pJob(run: NvidiaRun): SatJob {
  return {
    name: "gpu_p2p",
    plannedS: run.selected.length > 1 ? 10 + run.pairs * 2 : 0,
    describe: run.selected.length > 1
      ? `256 MiB copies between all ${run.pairs} ordered GPU pairs, checksummed, per-pair GB/s against pairs of its kind`
      : "one GPU selected: no pair to copy between (UNSUPPORTED)",
    figures: ["p2p_gbs", "p2p_bidir_gbs"],
    async run(ctx): Promise<JobResult> {
      if (run.selected.length < 2) {
        return {
          name: "gpu_p2p",
          status: "UNSUPPORTED",
          reason: "one GPU selected: no pair to copy between",
        };
      }
      const blocked = cudaBlocked(run);
      if (blocked) return { name: "gpu_p2p", status: "UNSUPPORTED", reason: blocked };
      const topo = await ctx.run("nvidia-smi-topo-m.txt", "nvidia-smi", ["topo", "-m"], {
        timeoutMs: run.timeoutMs,
      });
      const topology = topo.kind === "exited" && topo.code === 0
        ? parseTopoMatrix(await ctx.read("nvidia-smi-topo-m.txt"))
        : [];
      const state: P2pState = { pairs: [], errors: [], end: null };
      const args = ["--p2p", "--size-mb", "256"];
      ctx.log(`bee-gpu-stress ${args.join(" ")} with CUDA_VISIBLE_DEVICES=${run.env.CUDA_VISIBLE_DEVICES}`);
      const proc = await ctx.run("gpu-p2p.jsonl", "bee-gpu-stress", args, {
        timeoutMs: (60 + run.pairs * 10) * 1000,
        stderrPath: `${ctx.dir}/gpu-p2p.stderr.txt`,
        graceMs: 10_000,
        onLine: (l) => {
          foldP2pLine(state, l);
          const last = state.pairs.at(-1);
          if (last) {
            ctx.progress(
              `P2P GPU${physicalIndex(run.selected, last.src)} → GPU${
                physicalIndex(run.selected, last.dst)
              } ${last.gbps.toFixed(1)} GB/s (${state.pairs.length}/${run.pairs})`,
            );
          }
        },
      });
      const result = judgeP2p(proc, state, run.selected, topology);
      // only where the model has a P2P reference (NVLink parts): PCIe paths differ by topology, not by GPU
      const who = identities(run.names, run.before?.gpus ?? null);
      const fresh = [
        ...p2pMeasurements(state, run.selected, who),
        ...p2pBidirMeasurements(state, run.selected, who),
      ]
        .filter((m) => referenceFor(m.name, "p2p_gbs"));
      return await judgeMeasured(run, ctx, fresh, result);
    },
  };
}

/** nvidia-smi -q again, compared with the state before. */
export function healthJob(run: NvidiaRun): SatJob {
  return {
    name: "gpu_health",
    plannedS: 10,
    describe: "nvidia-smi -q again: new ECC errors, retired pages, remapped rows, pending remaps fail",
    async run(ctx): Promise<JobResult> {
      if (!run.before) {
        return {
          name: "gpu_health",
          status: "FAILED",
          reason: "no nvidia-smi -q from before the stress",
        };
      }
      const r = await ctx.run("nvidia-smi-q-after.txt", "nvidia-smi", ["-q"], {
        timeoutMs: run.timeoutMs * 2,
      });
      if (r.kind !== "exited" || r.code !== 0) {
        return { name: "gpu_health", status: "FAILED", reason: `nvidia-smi -q after the stress: ${r.kind}` };
      }
      try {
        return judgeHealth(
          run.before,
          parseNvidiaSmiQ(await ctx.read("nvidia-smi-q-after.txt")),
          run.selected,
        );
      } catch (e) {
        return {
          name: "gpu_health",
          status: "FAILED",
          reason: `unreadable nvidia-smi -q after: ${(e as Error).message}`,
        };
      }
    },
  };
}

/** new NVRM Xid lines in the kernel log since the first job. */
export function xidJob(run: NvidiaRun): SatJob {
  return {
    name: "gpu_xid",
    plannedS: 5,
    describe: "new NVRM Xid lines in the kernel log since the start fail (hardware XIDs named)",
    async run(ctx): Promise<JobResult> {
      const after = await kernelLog(ctx, "kernel-log-after.txt");
      if (run.kernelBefore === null || after === null) {
        return {
          name: "gpu_xid",
          status: "UNSUPPORTED",
          reason: "kernel log not readable (dmesg, journalctl -k)",
        };
      }
      const fresh = newLines(run.kernelBefore, after);
      await ctx.write("kernel-log-new.txt", fresh + (fresh ? "\n" : ""));
      return judgeXids(parseXids(fresh));
    },
  };
}

/** nvidia-bug-report.sh last (a few minutes). */
export function bugReportJob(_run: NvidiaRun): SatJob {
  return {
    name: "nvidia_bug_report",
    plannedS: 120,
    describe: "nvidia-bug-report.sh into the archive, for NVIDIA support",
    async run(ctx): Promise<JobResult> {
      ctx.progress("nvidia-bug-report.sh (takes a few minutes)");
      const r = await ctx.run("nvidia-bug-report.console.txt", "nvidia-bug-report.sh", [
        "--output-file",
        `${ctx.dir}/nvidia-bug-report.log`,
      ], { timeoutMs: 15 * 60_000, graceMs: 10_000 });
      if (r.kind === "missing") {
        return { name: "nvidia_bug_report", status: "UNSUPPORTED", reason: "nvidia-bug-report.sh not found" };
      }
      if (r.kind !== "exited") {
        return {
          name: "nvidia_bug_report",
          status: "FAILED",
          reason: r.kind === "denied" ? r.message : r.kind,
        };
      }
      if (r.code !== 0) {
        return { name: "nvidia_bug_report", status: "FAILED", reason: `exit status ${r.code}` };
      }
      const produced = await Deno.stat(`${ctx.dir}/nvidia-bug-report.log.gz`).then(() => true, () => false) ||
        await Deno.stat(`${ctx.dir}/nvidia-bug-report.log`).then(() => true, () => false);
      if (!produced) {
        return { name: "nvidia_bug_report", status: "FAILED", reason: "no report file was written" };
      }
      return { name: "nvidia_bug_report", status: "OK" };
    },
  };
}
