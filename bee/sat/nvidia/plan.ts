// `bee sat nvidia`: nvidia-smi -q before, bee-gpu-stress with a per-second metrics poller, the
// before/after health comparison, new XIDs in the kernel log, and nvidia-bug-report.sh last.
import { LiveMachine } from "../../lib/machine.ts";
import { overrideInt } from "../../lib/overrides.ts";
import { UserError } from "../../lib/errors.ts";
import { driverUnavailable, noDevices } from "../../parsers/nvidia_smi.ts";
import type { SatPlan } from "../runner.ts";
import { fabricPreflight } from "./fabric.ts";
import { PEER_FAIL_PCT } from "./figures.ts";
import { bandwidthJob, memtestJob } from "./mem_jobs.ts";
import { ncclJob } from "./nccl_job.ts";
import { pulseJob } from "./pulse_job.ts";
import { bugReportJob, healthJob, type NvidiaRun, p2pJob, smiQJob, stressJob, xidJob } from "./jobs.ts";

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

export { parseDuration } from "../../lib/duration.ts";

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

const JOBS = [
  "nvidia_smi_q",
  "gpu_stress",
  "gpu_memtest",
  "gpu_bandwidth",
  "gpu_p2p",
  "gpu_nccl",
  "gpu_pulse",
  "gpu_health",
  "gpu_xid",
  "nvidia_bug_report",
];
const DEFAULT_DURATION_S = 600;

/** A plan whose every job reports the same preflight verdict (no NVIDIA stack, no GPU…). */
function preflightPlan(status: "FAILED" | "UNSUPPORTED", reason: string): SatPlan {
  return {
    kind: "nvidia",
    facts: { preflight: reason },
    jobs: JOBS.map((name) => ({ name, plannedS: 0, run: () => Promise.resolve({ name, status, reason }) })),
  };
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
    seconds = overrideInt("BEE_GPU_STRESS_SECONDS", envSeconds)!;
    facts["stress_seconds_source"] = "BEE_GPU_STRESS_SECONDS";
  }
  const largest = Math.max(
    0,
    ...gpus.filter((g) => selected.includes(g.index)).map((g) => g.memory_mib ?? 0),
  );
  let sizeMb = largest;
  facts["stress_size_mb_source"] = "largest selected GPU memory";
  if (envSize !== undefined) {
    sizeMb = overrideInt("BEE_GPU_STRESS_SIZE_MB", envSize)!;
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

  const run: NvidiaRun = {
    timeoutMs,
    selected,
    seconds,
    sizeMb,
    names,
    env,
    pairs: selected.length * (selected.length - 1),
    fabricBlocker: fabric.blocker,
    before: null,
    kernelBefore: null,
    measured: [],
    peerFailPct: overrideInt("BEE_PEER_FAIL_PCT", opts.env["BEE_PEER_FAIL_PCT"]) ?? PEER_FAIL_PCT,
  };
  facts["peer_fail_pct"] = run.peerFailPct;
  const order = [
    smiQJob,
    stressJob,
    memtestJob,
    bandwidthJob,
    p2pJob,
    ncclJob,
    pulseJob,
    healthJob,
    xidJob,
    bugReportJob,
  ];
  const jobs = order.map((f) => f(run));
  return { kind: "nvidia", jobs, facts, env };
}
