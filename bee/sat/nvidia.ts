// `bee sat nvidia`: nvidia-smi -q before, bee-gpu-stress with a per-second metrics poller, the
// before/after health comparison, new XIDs in the kernel log, and nvidia-bug-report.sh last.
import { LiveMachine } from "../lib/machine.ts";
import { envInt } from "../lib/env.ts";
import { UserError } from "../lib/errors.ts";
import { driverUnavailable, noDevices, parseNvidiaSmiQ } from "../parsers/nvidia_smi.ts";
import type { Nvidia } from "../model/schema.ts";
import type { SatContext, SatJob, SatPlan } from "./runner.ts";
import type { JobResult } from "./summary.ts";
import { foldStressLine, judgeStress, newStressState, physicalIndex } from "./gpu_stress.ts";
import { judgeHealth, judgeXids, newLines, parseXids } from "./gpu_health.ts";
import { foldP2pLine, judgeP2p, type P2pState } from "./gpu_p2p.ts";
import { parseTopoMatrix } from "../parsers/nvlink.ts";
import { fabricNotReady, fabricPreflight } from "./nvidia_fabric.ts";
import {
  hwSlowdowns,
  loadProblems,
  MetricsCollector,
  metricsCsv,
  metricsFields,
  metricsHtml,
  metricsPeaks,
  metricsTermChart,
} from "./gpu_metrics.ts";

/** One GPU as `nvidia-smi --query-gpu=index,name,memory.total,pci.bus_id` lists it. */
export interface ListedGpu {
  index: number;
  name: string;
  memory_mib: number | null;
  pci_bus_id: string | null;
}

/** Parses `--query-gpu=index,name,memory.total,pci.bus_id --format=csv,noheader,nounits`. */
export function parseGpuList(text: string): ListedGpu[] {
  const out: ListedGpu[] = [];
  for (const line of text.split("\n")) {
    const cells = line.split(",").map((c) => c.trim());
    if (cells.length < 3 || !/^\d+$/.test(cells[0]!)) continue;
    const mem = Number(cells[2]!.replace(/\s*MiB$/i, ""));
    out.push({
      index: Number(cells[0]),
      name: cells[1]!.slice(0, 128),
      memory_mib: Number.isFinite(mem) && cells[2] !== "" ? mem : null,
      pci_bus_id: cells[3] ? cells[3].slice(0, 32) : null,
    });
  }
  return out;
}

/** `10m`, `1h`, `8h`, `24h`, `90s` or plain seconds → seconds; null when not a duration. */
export function parseDuration(s: string): number | null {
  const m = s.trim().match(/^(\d+(?:\.\d+)?)\s*(s|m|h)?$/i);
  if (!m) return null;
  const n = Number(m[1]) * ({ s: 1, m: 60, h: 3600 }[(m[2] ?? "s").toLowerCase() as "s" | "m" | "h"]);
  return n >= 1 && n <= 7 * 24 * 3600 ? Math.round(n) : null;
}

/** `0,2` → [0, 2]; null when malformed. */
export function parseGpuSelection(s: string): number[] | null {
  const parts = s.split(",").map((p) => p.trim()).filter(Boolean);
  if (!parts.length || parts.some((p) => !/^\d{1,3}$/.test(p))) return null;
  return [...new Set(parts.map(Number))];
}

export interface NvidiaSatOptions {
  /** seconds given with --duration, or null when not given */
  durationS: number | null;
  gpus: number[] | null;
  env: Record<string, string | undefined>;
  timeoutMs?: number;
  /** aborts planning (SIGTERM before the jobs run) */
  signal?: AbortSignal;
}

const JOBS = ["nvidia_smi_q", "gpu_stress", "gpu_p2p", "gpu_health", "gpu_xid", "nvidia_bug_report"];
const DEFAULT_DURATION_S = 600;

/** A plan whose every job reports the same preflight verdict (no NVIDIA stack, no GPU…). */
function preflightPlan(status: "FAILED" | "UNSUPPORTED", reason: string): SatPlan {
  return {
    kind: "nvidia",
    facts: { preflight: reason },
    jobs: JOBS.map((name) => ({ name, plannedS: 0, run: () => Promise.resolve({ name, status, reason }) })),
  };
}

/** The kernel log, from dmesg or else journalctl; null when neither can be read. */
async function kernelLog(ctx: SatContext, file: string): Promise<string | null> {
  const d = await ctx.run(file, "dmesg", [], { timeoutMs: 30_000 });
  if (d.kind === "exited" && d.code === 0) return await ctx.read(file);
  await Deno.remove(`${ctx.dir}/${file}`).catch(() => {});
  const j = await ctx.run(file, "journalctl", ["-k", "-b", "--no-pager", "-q"], { timeoutMs: 60_000 });
  if (j.kind === "exited" && j.code === 0) return await ctx.read(file);
  return null;
}

/** Plans `bee sat nvidia` after asking nvidia-smi which GPUs there are. */
export async function planNvidia(opts: NvidiaSatOptions): Promise<SatPlan> {
  const machine = new LiveMachine();
  const plan = await planWith(opts, machine);
  return { ...plan, planCalls: machine.calls };
}

async function planWith(opts: NvidiaSatOptions, machine: LiveMachine): Promise<SatPlan> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const list = await machine.run(
    "nvidia-smi",
    ["--query-gpu=index,name,memory.total,pci.bus_id", "--format=csv,noheader,nounits"],
    { timeoutMs, signal: opts.signal },
  );
  if (list.kind === "missing") {
    return preflightPlan("UNSUPPORTED", "nvidia-smi not found: no NVIDIA driver here");
  }
  if (list.kind !== "exited") {
    return preflightPlan(
      "FAILED",
      list.kind === "timeout" ? "nvidia-smi timed out" : `nvidia-smi: ${list.kind}`,
    );
  }
  const said = `${list.stdout}\n${list.stderr}`;
  if (noDevices(said)) return preflightPlan("UNSUPPORTED", "nvidia-smi found no NVIDIA GPU");
  if (driverUnavailable(said) || list.code !== 0) {
    const first = said.split("\n").find((l) => l.trim())?.trim().slice(0, 200) ?? `exit ${list.code}`;
    return preflightPlan("FAILED", `NVIDIA driver not usable: ${first}`);
  }
  const gpus = parseGpuList(list.stdout);
  if (!gpus.length) return preflightPlan("FAILED", "nvidia-smi listed no GPU it could describe");
  const known = gpus.map((g) => g.index);
  const selected = opts.gpus ?? known;
  const unknown = selected.filter((g) => !known.includes(g));
  if (unknown.length) {
    throw new UserError(`no GPU ${unknown.join(",")} here (GPUs: ${known.join(",")})`, 2);
  }
  selected.sort((a, b) => a - b);

  const facts: Record<string, string | number | null> = {};
  const envSeconds = opts.env["BEE_GPU_STRESS_SECONDS"];
  const envSize = opts.env["BEE_GPU_STRESS_SIZE_MB"];
  let seconds = opts.durationS ?? DEFAULT_DURATION_S;
  facts["stress_seconds_source"] = opts.durationS !== null ? "--duration" : "default";
  if (opts.durationS === null && envSeconds !== undefined) {
    seconds = envInt("BEE_GPU_STRESS_SECONDS", envSeconds, 1, 7 * 24 * 3600)!;
    facts["stress_seconds_source"] = "BEE_GPU_STRESS_SECONDS";
  }
  const largest = Math.max(
    0,
    ...gpus.filter((g) => selected.includes(g.index)).map((g) => g.memory_mib ?? 0),
  );
  let sizeMb = largest;
  facts["stress_size_mb_source"] = "largest selected GPU memory";
  if (envSize !== undefined) {
    sizeMb = envInt("BEE_GPU_STRESS_SIZE_MB", envSize, 1, 1024 * 1024)!;
    facts["stress_size_mb_source"] = "BEE_GPU_STRESS_SIZE_MB";
  }
  facts["stress_seconds"] = seconds;
  facts["stress_size_mb"] = sizeMb;
  facts["gpus"] = selected.join(",");
  facts["gpu_count_present"] = gpus.length;
  for (const g of gpus.filter((g) => selected.includes(g.index))) facts[`gpu${g.index}_name`] = g.name;
  const names = new Map(gpus.map((g) => [g.index, g.name]));
  const env = { CUDA_VISIBLE_DEVICES: selected.join(","), CUDA_DEVICE_ORDER: "PCI_BUS_ID" };
  // an NVSwitch system without Fabric Manager cannot start CUDA: its CUDA jobs say so instead of failing GPUs
  const fabric = await fabricPreflight(machine, timeoutMs, opts.signal);
  if (fabric.switches !== null) facts["nvswitches"] = fabric.switches;
  /** Why the CUDA jobs cannot run now (no Fabric Manager, fabric not ready before the run), or null. */
  const cudaBlocked = (): string | null =>
    fabric.blocker ?? fabricNotReady((before as Nvidia | null)?.gpus ?? [], selected);

  let before: Nvidia | null = null;
  let kernelBefore: string | null = null;

  const smiQ: SatJob = {
    name: "nvidia_smi_q",
    plannedS: 10,
    async run(ctx) {
      kernelBefore = await kernelLog(ctx, "kernel-log-before.txt");
      const r = await ctx.run("nvidia-smi-q.txt", "nvidia-smi", ["-q"], { timeoutMs: timeoutMs * 2 });
      if (r.kind !== "exited" || r.code !== 0) {
        return {
          name: "nvidia_smi_q",
          status: "FAILED",
          reason: `nvidia-smi -q: ${r.kind}${"code" in r ? ` ${r.code}` : ""}`,
        };
      }
      try {
        before = parseNvidiaSmiQ(await ctx.read("nvidia-smi-q.txt"));
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
          driver_version: before.driver_version,
          cuda_version: before.cuda_version,
          gpus: before.gpus.length,
        },
      };
    },
  };

  const stress: SatJob = {
    name: "gpu_stress",
    plannedS: seconds + 20,
    async run(ctx) {
      const blocked = cudaBlocked();
      if (blocked) return { name: "gpu_stress", status: "UNSUPPORTED", reason: blocked };
      const help = await ctx.capture("nvidia-smi", ["--help-query-gpu"], { timeoutMs });
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
          selected.join(","),
        ],
        {
          timeoutMs: (seconds + 3600) * 1000,
          signal: stopPoller.signal,
          graceMs: 2000,
          onLine: (l) => {
            const row = metrics.push(l);
            if (row) last.set(row.gpu, row);
          },
        },
      );
      const state = newStressState();
      const args = ["--seconds", String(seconds), "--size-mb", String(sizeMb)];
      ctx.log(`bee-gpu-stress ${args.join(" ")} with CUDA_VISIBLE_DEVICES=${env.CUDA_VISIBLE_DEVICES}`);
      const proc = await ctx.run("gpu-stress.jsonl", "bee-gpu-stress", args, {
        timeoutMs: (seconds + 180) * 1000,
        stderrPath: `${ctx.dir}/gpu-stress.stderr.txt`,
        graceMs: 15_000,
        onLine: (l) => {
          const ev = foldStressLine(state, l);
          if (ev === "progress" || ev === "result") {
            const p = [...state.progress.values()].map((f) =>
              `GPU${physicalIndex(selected, f.device)} ${f.dtype} ${f.tflops?.toFixed(1) ?? "?"} TFLOPS`
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
      const rows = metrics.rows;
      await ctx.write("gpu-metrics.csv", metricsCsv(rows));
      const title = `GPU metrics during bee-gpu-stress (${seconds} s)`;
      await ctx.write("gpu-metrics.html", metricsHtml(rows, names, title));
      await ctx.write("gpu-metrics-term.txt", metricsTermChart(rows, names));
      const overTemp = new Map<number, { peak_c: number; max_c: number }>();
      const peaks = metricsPeaks(rows);
      for (const g of (before as Nvidia | null)?.gpus ?? []) {
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
        selected,
        hwSlowdown: hwSlowdowns(rows),
        overTemp,
        metricSamples: rows.length,
        underLoad: loadProblems(rows),
      });
      for (const [g, p] of peaks) {
        result.facts![`gpu${g}_temperature_max_c`] = p.temperature_c;
        result.facts![`gpu${g}_power_max_w`] = p.power_w;
      }
      return result;
    },
  };

  const pairs = selected.length * (selected.length - 1);
  const p2p: SatJob = {
    name: "gpu_p2p",
    plannedS: selected.length > 1 ? 10 + pairs * 2 : 0,
    async run(ctx): Promise<JobResult> {
      if (selected.length < 2) {
        return {
          name: "gpu_p2p",
          status: "UNSUPPORTED",
          reason: "one GPU selected: no pair to copy between",
        };
      }
      const blocked = cudaBlocked();
      if (blocked) return { name: "gpu_p2p", status: "UNSUPPORTED", reason: blocked };
      const topo = await ctx.run("nvidia-smi-topo-m.txt", "nvidia-smi", ["topo", "-m"], { timeoutMs });
      const topology = topo.kind === "exited" && topo.code === 0
        ? parseTopoMatrix(await ctx.read("nvidia-smi-topo-m.txt"))
        : [];
      const state: P2pState = { pairs: [], errors: [], end: null };
      const args = ["--p2p", "--size-mb", "256"];
      ctx.log(`bee-gpu-stress ${args.join(" ")} with CUDA_VISIBLE_DEVICES=${env.CUDA_VISIBLE_DEVICES}`);
      const proc = await ctx.run("gpu-p2p.jsonl", "bee-gpu-stress", args, {
        timeoutMs: (60 + pairs * 10) * 1000,
        stderrPath: `${ctx.dir}/gpu-p2p.stderr.txt`,
        graceMs: 10_000,
        onLine: (l) => {
          foldP2pLine(state, l);
          const last = state.pairs.at(-1);
          if (last) {
            ctx.progress(
              `P2P GPU${physicalIndex(selected, last.src)} → GPU${physicalIndex(selected, last.dst)} ${
                last.gbps.toFixed(1)
              } GB/s (${state.pairs.length}/${pairs})`,
            );
          }
        },
      });
      return judgeP2p(proc, state, selected, topology);
    },
  };

  const health: SatJob = {
    name: "gpu_health",
    plannedS: 10,
    async run(ctx): Promise<JobResult> {
      if (!before) {
        return { name: "gpu_health", status: "FAILED", reason: "no nvidia-smi -q from before the stress" };
      }
      const r = await ctx.run("nvidia-smi-q-after.txt", "nvidia-smi", ["-q"], { timeoutMs: timeoutMs * 2 });
      if (r.kind !== "exited" || r.code !== 0) {
        return { name: "gpu_health", status: "FAILED", reason: `nvidia-smi -q after the stress: ${r.kind}` };
      }
      try {
        return judgeHealth(before, parseNvidiaSmiQ(await ctx.read("nvidia-smi-q-after.txt")), selected);
      } catch (e) {
        return {
          name: "gpu_health",
          status: "FAILED",
          reason: `unreadable nvidia-smi -q after: ${(e as Error).message}`,
        };
      }
    },
  };

  const xid: SatJob = {
    name: "gpu_xid",
    plannedS: 5,
    async run(ctx): Promise<JobResult> {
      const after = await kernelLog(ctx, "kernel-log-after.txt");
      if (kernelBefore === null || after === null) {
        return {
          name: "gpu_xid",
          status: "UNSUPPORTED",
          reason: "kernel log not readable (dmesg, journalctl -k)",
        };
      }
      const fresh = newLines(kernelBefore, after);
      await ctx.write("kernel-log-new.txt", fresh + (fresh ? "\n" : ""));
      return judgeXids(parseXids(fresh));
    },
  };

  const bugReport: SatJob = {
    name: "nvidia_bug_report",
    plannedS: 120,
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

  return { kind: "nvidia", jobs: [smiQ, stress, p2p, health, xid, bugReport], facts, env };
}
