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

async function testDisk(
  ctx: SatContext,
  name: string,
  opts: Required<Omit<StorageSatOptions, "signal">>,
  report: (state: string) => void,
): Promise<JobResult> {
  const job = `storage_${summaryKey(name)}`;
  const dev = `/dev/${name}`;
  const ctrl = nvmeController(name);
  const facts: Record<string, string | number | boolean | null> = { device: dev };
  const t = opts.timeoutMs;
  const before = await ctx.run(`smartctl-x-before-${name}.json`, "smartctl", ["-x", "-j", dev], {
    timeoutMs: t,
  });
  if (before.kind === "missing") {
    return { name: job, status: "UNSUPPORTED", reason: "smartctl not found", facts };
  }
  if (before.kind !== "exited") {
    return { name: job, status: "FAILED", reason: `smartctl: ${before.kind}`, facts };
  }
  const access = smartAccess(await ctx.read(`smartctl-x-before-${name}.json`), before.code);
  facts["protocol"] = access.protocol;
  if (access.unsupported && !ctrl) {
    return { name: job, status: "UNSUPPORTED", reason: access.unsupported, facts };
  }

  let state: SelfTestState | null = null;
  let poll: (() => Promise<SelfTestState | null>) | null = null;
  if (ctrl) {
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
      return {
        name: job,
        status: "UNSUPPORTED",
        reason: access.unsupported ?? "nvme-cli could not identify the controller",
        facts,
      };
    }
    if (!nvmeSupportsSelfTest(id)) {
      return {
        name: job,
        status: "UNSUPPORTED",
        reason: "controller has no Device Self-test (OACS bit 4)",
        facts,
      };
    }
    const start = await ctx.run(`nvme-self-test-start-${base}.txt`, "nvme", [
      "device-self-test",
      ctrl,
      "-n",
      "0xffffffff",
      "-s",
      "1",
    ], { timeoutMs: t });
    if (start.kind !== "exited" || start.code !== 0) return notStarted(job, "NVMe self-test", start, facts);
    poll = async () => {
      const r = await ctx.capture("nvme", ["self-test-log", ctrl, "-o", "json"], { timeoutMs: t });
      return r.kind === "exited" && r.code === 0 ? nvmeSelfTest(r.stdout) : null;
    };
  } else {
    if (access.passed === false) facts["health_before"] = "FAILED";
    if (!access.selfTest) {
      return { name: job, status: "UNSUPPORTED", reason: "the disk offers no SMART self-test", facts };
    }
    const start = await ctx.run(`smartctl-t-short-${name}.json`, "smartctl", ["-t", "short", "-j", dev], {
      timeoutMs: t,
    });
    if (start.kind !== "exited" || (start.code & 0b111) !== 0) {
      return notStarted(job, "short self-test", start, facts);
    }
    const ata = access.protocol === "ata";
    poll = async () => {
      const r = await ctx.capture(
        "smartctl",
        ata ? ["-j", "-c", "-l", "selftest", dev] : ["-j", "-l", "selftest", dev],
        { timeoutMs: t },
      );
      return r.kind === "exited" ? (ata ? ataSelfTest(r.stdout) : scsiSelfTest(r.stdout)) : null;
    };
  }
  const limit = Math.max(opts.selfTestTimeoutS, (access.pollingMinutes ?? 0) * 3 * 60);
  const t0 = performance.now();
  while (!ctx.signal.aborted) {
    await sleep(opts.pollS * 1000, ctx.signal);
    if (ctx.signal.aborted) break;
    state = await poll();
    if (state && !state.running) break;
    report(state?.running ? `${state.remainingPct ?? "?"}% left` : "waiting");
    if ((performance.now() - t0) / 1000 > limit) break;
  }
  // the log and the data after, whatever happened
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
  const afterAccess = after.kind === "exited"
    ? smartAccess(await ctx.read(`smartctl-x-after-${name}.json`), after.code)
    : null;
  if (ctx.signal.aborted) return { name: job, status: "FAILED", reason: "aborted", facts };
  if (!state) return { name: job, status: "FAILED", reason: "self-test status could not be read", facts };
  if (state.running) {
    return {
      name: job,
      status: "FAILED",
      reason: `self-test still running after ${Math.round(limit)} s`,
      facts,
    };
  }
  facts["self_test"] = state.text;
  if (state.passed === false) {
    return { name: job, status: "FAILED", reason: `self-test: ${state.text}`, facts };
  }
  if (afterAccess?.passed === false || access.passed === false) {
    return { name: job, status: "FAILED", reason: "SMART overall health: FAILED", facts };
  }
  if (state.passed === null) {
    return { name: job, status: "FAILED", reason: `self-test did not complete: ${state.text}`, facts };
  }
  return { name: job, status: "OK", facts };
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
