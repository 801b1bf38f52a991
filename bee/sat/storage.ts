// `bee sat storage`: per disk, SMART/NVMe data before, a short self-test where the disk supports
// one (polled to completion with a timeout), then the self-test log and the data after. Disks whose
// SMART cannot be reached (virtual disks, USB bridges hiding it) are UNSUPPORTED, never OK.
import { LiveMachine } from "../lib/machine.ts";
import { isPhysicalDisk, nvmeController, parseLsblk } from "../parsers/lsblk.ts";
import { ataSelfTest, scsiSelfTest, type SelfTestState, smartAccess } from "../parsers/smartctl.ts";
import { nvmeSelfTest, nvmeSupportsSelfTest } from "../parsers/nvme.ts";
import type { ProcResult } from "../lib/proc.ts";
import type { SatContext, SatPlan } from "./runner.ts";
import { type JobResult, summaryKey } from "./summary.ts";

export interface StorageSatOptions {
  /** seconds between self-test polls */
  pollS?: number;
  /** give up waiting for a short self-test after this long (default: 3× the drive's estimate, ≥ 10 min) */
  selfTestTimeoutS?: number;
  timeoutMs?: number;
  /** aborts planning (SIGTERM before the jobs run) */
  signal?: AbortSignal;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/** A self-test that could not be started: FAILED, with how its start command ended. */
function notStarted(
  job: string,
  what: string,
  start: ProcResult,
  facts: JobResult["facts"],
): JobResult {
  const how = `${start.kind}${"code" in start ? ` ${start.code}` : ""}`;
  return { name: job, status: "FAILED", reason: `could not start the ${what} (${how})`, facts };
}

/** One disk's self-test under way: how to poll it, or the result that ends the job before it starts. */
type Started = { poll: () => Promise<SelfTestState | null> } | { result: JobResult };

interface DiskJob {
  ctx: SatContext;
  job: string;
  name: string;
  dev: string;
  t: number;
  facts: Record<string, string | number | boolean | null>;
}

/** NVMe: the logs before, then a Device Self-test where the controller offers one (OACS bit 4). */
async function startNvme(d: DiskJob, ctrl: string, unsupported: string | null): Promise<Started> {
  const { ctx, job, t, facts } = d;
  const base = ctrl.replace("/dev/", "");
  for (
    const [file, args] of [
      [`nvme-smart-log-before-${base}.json`, ["smart-log", ctrl, "-o", "json"]],
      [`nvme-error-log-${base}.json`, ["error-log", ctrl, "-o", "json"]],
      [`nvme-id-ctrl-${base}.json`, ["id-ctrl", ctrl, "-o", "json"]],
    ] as const
  ) await ctx.run(file, "nvme", [...args], { timeoutMs: t });
  const id = await ctx.read(`nvme-id-ctrl-${base}.json`);
  if (!id) {
    const reason = unsupported ?? "nvme-cli could not identify the controller";
    return { result: { name: job, status: "UNSUPPORTED", reason, facts } };
  }
  if (!nvmeSupportsSelfTest(id)) {
    const reason = "controller has no Device Self-test (OACS bit 4)";
    return { result: { name: job, status: "UNSUPPORTED", reason, facts } };
  }
  const start = await ctx.run(`nvme-self-test-start-${base}.txt`, "nvme", [
    "device-self-test",
    ctrl,
    "-n",
    "0xffffffff",
    "-s",
    "1",
  ], { timeoutMs: t });
  if (start.kind !== "exited" || start.code !== 0) {
    return { result: notStarted(job, "NVMe self-test", start, facts) };
  }
  return {
    poll: async () => {
      const r = await ctx.capture("nvme", ["self-test-log", ctrl, "-o", "json"], { timeoutMs: t });
      return r.kind === "exited" && r.code === 0 ? nvmeSelfTest(r.stdout) : null;
    },
  };
}

/** ATA/SCSI: a SMART short self-test where the disk offers one. */
async function startSmart(d: DiskJob, access: ReturnType<typeof smartAccess>): Promise<Started> {
  const { ctx, job, dev, name, t, facts } = d;
  if (access.passed === false) facts["health_before"] = "FAILED";
  if (!access.selfTest) {
    return {
      result: { name: job, status: "UNSUPPORTED", reason: "the disk offers no SMART self-test", facts },
    };
  }
  const start = await ctx.run(`smartctl-t-short-${name}.json`, "smartctl", ["-t", "short", "-j", dev], {
    timeoutMs: t,
  });
  if (start.kind !== "exited" || (start.code & 0b111) !== 0) {
    return { result: notStarted(job, "short self-test", start, facts) };
  }
  const ata = access.protocol === "ata";
  return {
    poll: async () => {
      const r = await ctx.capture(
        "smartctl",
        ata ? ["-j", "-c", "-l", "selftest", dev] : ["-j", "-l", "selftest", dev],
        { timeoutMs: t },
      );
      return r.kind === "exited" ? (ata ? ataSelfTest(r.stdout) : scsiSelfTest(r.stdout)) : null;
    },
  };
}

/** Polls until the self-test ends, the limit passes or the SAT is aborted; the last state read. */
async function waitSelfTest(
  ctx: SatContext,
  poll: () => Promise<SelfTestState | null>,
  pollS: number,
  limit: number,
  report: (state: string) => void,
): Promise<SelfTestState | null> {
  let state: SelfTestState | null = null;
  const t0 = performance.now();
  while (!ctx.signal.aborted) {
    await sleep(pollS * 1000, ctx.signal);
    if (ctx.signal.aborted) break;
    state = await poll();
    if (state && !state.running) break;
    report(state?.running ? `${state.remainingPct ?? "?"}% left` : "waiting");
    if ((performance.now() - t0) / 1000 > limit) break;
  }
  return state;
}

/** The self-test log and the data after, whatever happened; SMART's overall health after, when readable. */
async function collectAfter(d: DiskJob, ctrl: string | null): Promise<boolean | null | undefined> {
  const { ctx, dev, name, t } = d;
  if (ctrl) {
    const base = ctrl.replace("/dev/", "");
    await ctx.run(`nvme-self-test-log-${base}.json`, "nvme", ["self-test-log", ctrl, "-o", "json"], {
      timeoutMs: t,
    });
    await ctx.run(`nvme-smart-log-after-${base}.json`, "nvme", ["smart-log", ctrl, "-o", "json"], {
      timeoutMs: t,
    });
  } else {
    await ctx.run(`smartctl-selftest-log-${name}.json`, "smartctl", ["-j", "-l", "selftest", dev], {
      timeoutMs: t,
    });
  }
  const after = await ctx.run(`smartctl-x-after-${name}.json`, "smartctl", ["-x", "-j", dev], {
    timeoutMs: t,
  });
  return after.kind === "exited"
    ? smartAccess(await ctx.read(`smartctl-x-after-${name}.json`), after.code).passed
    : undefined;
}

/** The job's verdict from the final self-test state and SMART health before and after. */
function judgeDisk(
  d: DiskJob,
  state: SelfTestState | null,
  limit: number,
  healthBefore: boolean | null | undefined,
  healthAfter: boolean | null | undefined,
): JobResult {
  const { ctx, job, facts } = d;
  const failed = (reason: string): JobResult => ({ name: job, status: "FAILED", reason, facts });
  if (ctx.signal.aborted) return failed("aborted");
  if (!state) return failed("self-test status could not be read");
  if (state.running) return failed(`self-test still running after ${Math.round(limit)} s`);
  facts["self_test"] = state.text;
  if (state.passed === false) return failed(`self-test: ${state.text}`);
  if (healthAfter === false || healthBefore === false) return failed("SMART overall health: FAILED");
  if (state.passed === null) return failed(`self-test did not complete: ${state.text}`);
  return { name: job, status: "OK", facts };
}

async function testDisk(
  ctx: SatContext,
  name: string,
  opts: Required<Omit<StorageSatOptions, "signal">>,
  report: (state: string) => void,
): Promise<JobResult> {
  const d: DiskJob = {
    ctx,
    job: `storage_${summaryKey(name)}`,
    name,
    dev: `/dev/${name}`,
    t: opts.timeoutMs,
    facts: { device: `/dev/${name}` },
  };
  const ctrl = nvmeController(name);
  const before = await ctx.run(`smartctl-x-before-${name}.json`, "smartctl", ["-x", "-j", d.dev], {
    timeoutMs: d.t,
  });
  if (before.kind === "missing") {
    return { name: d.job, status: "UNSUPPORTED", reason: "smartctl not found", facts: d.facts };
  }
  if (before.kind !== "exited") {
    return { name: d.job, status: "FAILED", reason: `smartctl: ${before.kind}`, facts: d.facts };
  }
  const access = smartAccess(await ctx.read(`smartctl-x-before-${name}.json`), before.code);
  d.facts["protocol"] = access.protocol;
  if (access.unsupported && !ctrl) {
    return { name: d.job, status: "UNSUPPORTED", reason: access.unsupported, facts: d.facts };
  }
  const started = ctrl ? await startNvme(d, ctrl, access.unsupported ?? null) : await startSmart(d, access);
  if ("result" in started) return started.result;
  const limit = Math.max(opts.selfTestTimeoutS, (access.pollingMinutes ?? 0) * 3 * 60);
  const state = await waitSelfTest(ctx, started.poll, opts.pollS, limit, report);
  const healthAfter = await collectAfter(d, ctrl);
  return judgeDisk(d, state, limit, access.passed, healthAfter);
}

/** Plans `bee sat storage` after listing the disks. */
export async function planStorage(opts: StorageSatOptions = {}): Promise<SatPlan> {
  const machine = new LiveMachine();
  const plan = await planWith(opts, machine);
  return { ...plan, planCalls: machine.calls };
}

async function planWith(opts: StorageSatOptions, machine: LiveMachine): Promise<SatPlan> {
  const o = { pollS: 10, selfTestTimeoutS: 600, timeoutMs: 60_000, ...opts };
  const ls = await machine.run("lsblk", [
    "-J",
    "-b",
    "-d",
    "-o",
    "NAME,PATH,TYPE,SIZE,MODEL,SERIAL,VENDOR,REV,TRAN,ROTA,RM,WWN",
  ], {
    signal: o.signal,
    timeoutMs: o.timeoutMs,
  });
  const facts: Record<string, string | number | null> = {
    poll_s: o.pollS,
    self_test_timeout_s: o.selfTestTimeoutS,
  };
  if (ls.kind !== "exited" || ls.code !== 0) {
    const reason = ls.kind === "missing" ? "lsblk not found" : `lsblk failed (${ls.kind})`;
    return {
      kind: "storage",
      facts,
      jobs: [{
        name: "storage",
        plannedS: 0,
        run: () => Promise.resolve({ name: "storage", status: "FAILED", reason }),
      }],
    };
  }
  let disks: string[] = [];
  try {
    disks = parseLsblk(ls.stdout).filter(isPhysicalDisk).map((d) => d.name).filter((d) =>
      /^[A-Za-z0-9_-]+$/.test(d)
    );
  } catch (e) {
    const reason = `unreadable lsblk output: ${(e as Error).message}`;
    return {
      kind: "storage",
      facts,
      jobs: [{
        name: "storage",
        plannedS: 0,
        run: () => Promise.resolve({ name: "storage", status: "FAILED", reason }),
      }],
    };
  }
  // one NVMe controller, one self-test: its other namespaces (nvme0n2…) are the same drive
  const byCtrl = new Map<string, string>();
  const folded: string[] = [];
  disks = disks.filter((d) => {
    const c = nvmeController(d);
    if (!c) return true;
    if (byCtrl.has(c)) {
      folded.push(`${d}→${byCtrl.get(c)}`);
      return false;
    }
    byCtrl.set(c, d);
    return true;
  });
  facts["disks"] = disks.join(",");
  if (folded.length) facts["nvme_namespaces_folded"] = folded.join(",");
  if (!disks.length) {
    return {
      kind: "storage",
      facts,
      jobs: [{
        name: "storage",
        plannedS: 0,
        run: () => Promise.resolve({ name: "storage", status: "UNSUPPORTED", reason: "no disks found" }),
      }],
    };
  }
  return {
    kind: "storage",
    facts,
    jobs: [{
      name: "storage",
      plannedS: 150,
      async run(ctx) {
        const states = new Map<string, string>(disks.map((d) => [d, "starting"]));
        const show = () => ctx.progress([...states].map(([d, st]) => `${d}: ${st}`).join(", "));
        // all disks at once: a short self-test runs inside each drive
        return await Promise.all(disks.map(async (d) => {
          const r = await testDisk(ctx, d, o, (st) => {
            states.set(d, st);
            show();
          });
          states.set(d, r.status);
          show();
          return r;
        }));
      },
    }],
  };
}
