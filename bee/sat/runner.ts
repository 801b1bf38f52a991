// Runs one acceptance test (a plan of jobs) into a work folder and packs it as
// `bee-sat-<kind>-<serial>-<UTC timestamp>.tar.gz`: progress on stderr, every command logged,
// SIGINT/SIGTERM abort the running job (its process group is killed) and the archive is still
// written, saying `overall_status=FAILED` and `overall_reason=aborted`.
import { type ProcOptions, type ProcResult, runProc } from "../lib/proc.ts";
import type { ExecResult } from "../lib/exec.ts";
import { LiveMachine, type Machine, type MachineCall } from "../lib/machine.ts";
import { onTermSignals } from "../lib/signals.ts";
import { type SatStatus, writeSatStatus } from "./status.ts";
import { writeTarGz } from "../lib/tar.ts";
import { archiveTag, safeHost } from "../lib/names.ts";
import { UserError } from "../lib/errors.ts";
import { BEE_VERSION } from "../version.ts";
import { type JobResult, overallStatus, renderSummary, summaryKey } from "./summary.ts";

/** What a job may do while it runs. */
export interface SatContext {
  /** the work folder that becomes the archive */
  dir: string;
  signal: AbortSignal;
  /** extra environment for every command of this SAT */
  env: Record<string, string>;
  /** the current step, shown in progress and the status file */
  progress(detail: string, live?: Record<string, unknown>): void;
  /** appends a line to sat.log (the archive's narrative) */
  log(line: string): void;
  /** runs a command with stdout+stderr into `<dir>/<file>`; logged in commands.log */
  run(
    file: string | null,
    cmd: string,
    args: string[],
    opts: Partial<ProcOptions> & { timeoutMs: number },
  ): Promise<ProcResult>;
  /**
   * runs a short command through the machine interface and returns its output (status polls, help
   * texts); logged in commands.log like every other command
   */
  capture(cmd: string, args: string[], opts: { timeoutMs: number }): Promise<ExecResult>;
  /** reads a file of the work folder back (bounded), "" when absent */
  read(file: string, maxBytes?: number): Promise<string>;
  write(file: string, data: string): Promise<void>;
}

/** One job of a plan. */
export interface SatJob {
  name: string;
  /** planned seconds, for elapsed/planned progress */
  plannedS: number;
  /** one line for the plan (`--dry-run`): what the job does */
  describe?: string;
  /** the figures it measures and judges (names of the kind's reference table) */
  figures?: string[];
  run(ctx: SatContext): Promise<JobResult | JobResult[]>;
}

/** A whole SAT, built by the kind's planner before anything runs. */
export interface SatPlan {
  kind: string;
  jobs: SatJob[];
  /** extra header facts: options, overrides honoured */
  facts: Record<string, string | number | boolean | null>;
  /** env for every command (CUDA_VISIBLE_DEVICES…) */
  env?: Record<string, string>;
  /** what the planner asked the machine (GPU list, disk list), put first in commands.log */
  planCalls?: MachineCall[];
}

export interface RunSatOptions {
  outDir: string;
  /** the SAT lock (one SAT at a time); null runs without one (tests of the runner alone) */
  lockPath?: string | null;
  host: string;
  /** audit JSON text to copy into the archive, and the system serial from it */
  audit: { text: string | null; serial: string | null; source: string };
  /** JSON status file rewritten each second (for the TUI) */
  statusFile?: string | null;
  /** the machine short commands go through (default: this one) */
  machine?: Machine;
  /** abort from outside (the TUI); SIGINT/SIGTERM are always listened to */
  signal?: AbortSignal;
  /** progress line sink; defaults to stderr */
  onProgress?: (line: string, final: boolean) => void;
  now?: () => Date;
}

export interface SatOutcome {
  archive: string;
  status: "OK" | "FAILED" | "UNSUPPORTED";
  reason: string | null;
  jobs: JobResult[];
  aborted: string | null;
  summary: string;
}

/** `20261124T101500Z` */
export function utcStamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z").replace(/[-:]/g, "");
}

/** A host name safe inside a file name. */
function hms(s: number): string {
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
}

const enc = new TextEncoder();

/** Runs the plan; always returns the archive (unless the output folder itself is unusable). */
export async function runSat(plan: SatPlan, opts: RunSatOptions): Promise<SatOutcome> {
  const now = opts.now ?? (() => new Date());
  const started = now();
  const base = `bee-sat-${summaryKey(plan.kind).replace(/_/g, "-")}-${safeHost(opts.host)}-${
    utcStamp(started)
  }`;
  try {
    await Deno.mkdir(opts.outDir, { recursive: true });
  } catch (e) {
    throw new UserError(`cannot write to ${opts.outDir}: ${(e as Error).message}`);
  }
  const lock = opts.lockPath ? await takeSatLock(opts.lockPath, { kind: plan.kind, folder: base }) : null;
  try {
    return await runLocked(plan, opts, started, base, now);
  } finally {
    await lock?.release();
  }
}

/** Claims a work folder no other run has: `<base>`, else `<base>-2`, `-3`… (never an existing archive's name). */
async function claimFolder(outDir: string, base: string): Promise<{ folder: string; dir: string }> {
  for (let i = 1; i < 1000; i++) {
    const folder = i === 1 ? base : `${base}-${i}`;
    const dir = `${outDir}/.${folder}.work`;
    if (await exists(`${outDir}/${folder}.tar.gz`)) continue;
    try {
      await Deno.mkdir(dir); // not recursive: fails when another run holds this name
      return { folder, dir };
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) continue;
      throw new UserError(`cannot write to ${outDir}: ${(e as Error).message}`);
    }
  }
  throw new UserError(`cannot find a free archive name for ${base} in ${outDir}`);
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** What the SAT lock file holds. */
export interface SatLockInfo {
  pid: number;
  kind: string;
  folder: string;
  started: string;
  /** the holder's start time in clock ticks (/proc/<pid>/stat field 22): a reused PID has another */
  start_ticks?: number;
}

/** A process's start time in clock ticks since boot, or null when it is gone. */
async function startTicks(pid: number): Promise<number | null> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    if (/^\d+ \(.*\) Z/s.test(stat)) return null; // a zombie holds nothing
    // fields after the command name (which may hold spaces and parentheses): state is field 3, start 22
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const t = Number(rest[19]);
    return Number.isFinite(t) ? t : null;
  } catch {
    return null;
  }
}

/**
 * The SAT holding the lock, or null when none does: a lock left by a dead process, a zombie, or a PID the
 * kernel has since given to another process (its start time differs) does not count.
 */
export async function runningSat(lockPath: string): Promise<SatLockInfo | null> {
  let info: SatLockInfo;
  try {
    info = JSON.parse(await Deno.readTextFile(lockPath));
  } catch {
    return null;
  }
  if (!Number.isSafeInteger(info?.pid) || info.pid <= 0) return null;
  const ticks = await startTicks(info.pid);
  if (ticks === null) return null;
  if (typeof info.start_ticks === "number") return info.start_ticks === ticks ? info : null;
  // a lock of an older bee (no start time): the PID must at least be a `bee sat` now
  const cmd = await Deno.readTextFile(`/proc/${info.pid}/cmdline`).catch(() => "");
  return /\0sat\0/.test(`\0${cmd}`) ? info : null;
}

/**
 * Takes the one-SAT-at-a-time lock or refuses, naming the SAT that holds it. The check and the take happen
 * under an advisory lock (flock) on `<lock>.guard`, so two SATs never both find it free or stale; the lock
 * is written whole (temp file, then rename), so it is never seen empty.
 */
export async function takeSatLock(
  lockPath: string,
  what: { kind: string; folder: string },
): Promise<{ release(): Promise<void> }> {
  const slash = lockPath.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(lockPath.slice(0, slash), { recursive: true }).catch(() => {});
  const mine: SatLockInfo = {
    pid: Deno.pid,
    ...what,
    started: new Date().toISOString(),
    start_ticks: (await startTicks(Deno.pid)) ?? undefined,
  };
  let guard: Deno.FsFile;
  try {
    guard = await Deno.open(`${lockPath}.guard`, { read: true, write: true, create: true, mode: 0o644 });
  } catch (e) {
    throw new UserError(`cannot take the SAT lock ${lockPath}: ${(e as Error).message}`);
  }
  try {
    await guard.lock(true);
    const other = await runningSat(lockPath);
    if (other) {
      throw new UserError(
        `another SAT is running: ${String(other.kind).slice(0, 20)} (pid ${other.pid}, since ${
          String(other.started).slice(0, 30)
        }, ${String(other.folder).slice(0, 100)}); wait for it or stop it first`,
      );
    }
    const tmp = `${lockPath}.${Deno.pid}.tmp`;
    try {
      await Deno.writeTextFile(tmp, JSON.stringify(mine) + "\n", { mode: 0o644 });
      await Deno.rename(tmp, lockPath); // free or stale: replaced whole, in one step
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      throw new UserError(`cannot take the SAT lock ${lockPath}: ${(e as Error).message}`);
    }
  } finally {
    await guard.unlock().catch(() => {});
    guard.close();
  }
  return {
    async release() {
      // remove only our own lock
      try {
        const held = JSON.parse(await Deno.readTextFile(lockPath));
        if (held?.pid === Deno.pid && held?.start_ticks === mine.start_ticks) await Deno.remove(lockPath);
      } catch { /* gone */ }
    },
  };
}

/** Aborts the SAT on SIGINT/SIGTERM or the caller's signal; remembers the first reason. */
function abortWiring(opts: RunSatOptions) {
  const controller = new AbortController();
  let abortedBy: string | null = null;
  const abort = (why: string) => {
    if (abortedBy) return;
    abortedBy = why;
    controller.abort(why);
  };
  const stopListening = onTermSignals(abort);
  const external = () =>
    abort(typeof opts.signal?.reason === "string" ? opts.signal.reason : "abort requested");
  opts.signal?.addEventListener("abort", external, { once: true });
  if (opts.signal?.aborted) external();
  return {
    controller,
    abortedBy: () => abortedBy,
    release() {
      stopListening();
      opts.signal?.removeEventListener("abort", external);
    },
  };
}

/** What the SAT is doing now, shown as a progress line on stderr and written to the status file. */
class Reporter {
  current = { index: 0, name: "", detail: "", live: {} as Record<string, unknown> };
  readonly t0 = performance.now();
  readonly plannedS: number;
  private tick: ReturnType<typeof setInterval> | null = null;
  private readonly isTty: boolean;
  private readonly sink: (line: string, final: boolean) => void;

  constructor(
    readonly plan: SatPlan,
    readonly folder: string,
    readonly statusFile: string | null,
    readonly aborting: () => boolean,
    onProgress?: (line: string, final: boolean) => void,
  ) {
    this.plannedS = plan.jobs.reduce((s, j) => s + j.plannedS, 0);
    this.isTty = (() => {
      try {
        return Deno.stderr.isTerminal();
      } catch {
        return false;
      }
    })();
    this.sink = onProgress ?? ((line: string, final: boolean) => {
      Deno.stderr.writeSync(enc.encode(this.isTty && !final ? `\r\x1b[K${line.slice(0, 200)}` : `${line}\n`));
    });
  }

  elapsedS(): number {
    return (performance.now() - this.t0) / 1000;
  }

  line(): string {
    const c = this.current;
    return `bee sat ${this.plan.kind}: ${hms(this.elapsedS())} / ${
      hms(this.plannedS)
    }  [${c.index}/${this.plan.jobs.length}] ${c.name}${c.detail ? ` — ${c.detail}` : ""}`;
  }

  show(): void {
    this.sink(this.line(), false);
  }

  async status(extra: SatStatus = {}): Promise<void> {
    if (!this.statusFile) return;
    await writeSatStatus(this.statusFile, {
      kind: this.plan.kind,
      folder: this.folder,
      elapsed_s: Math.round(this.elapsedS()),
      planned_s: this.plannedS,
      job: this.current.name,
      job_index: this.current.index,
      jobs: this.plan.jobs.length,
      detail: this.current.detail,
      aborting: this.aborting(),
      ...this.current.live,
      ...extra,
    });
  }

  /** Every second: the status file; the progress line every second on a terminal, else every 10 s. */
  start(): void {
    let lastPrinted = 0;
    this.tick = setInterval(() => {
      const el = performance.now() - this.t0;
      if (this.isTty || el - lastPrinted >= 10_000) {
        lastPrinted = el;
        this.show();
      }
      this.status();
    }, 1000);
  }

  stop(): void {
    if (this.tick !== null) clearInterval(this.tick);
    this.tick = null;
  }
}

/** Reads a file of the work folder back (bounded), "" when absent. */
async function readBounded(path: string, maxBytes: number): Promise<string> {
  try {
    const f = await Deno.open(path, { read: true });
    try {
      const buf = new Uint8Array(maxBytes);
      let n = 0;
      while (n < maxBytes) {
        const r = await f.read(buf.subarray(n));
        if (r === null) break;
        n += r;
      }
      return new TextDecoder().decode(buf.subarray(0, n));
    } finally {
      f.close();
    }
  } catch {
    return "";
  }
}

/** The context jobs run in: commands into the work folder (logged), captures, reads, writes, progress. */
function makeContext(
  dir: string,
  plan: SatPlan,
  signal: AbortSignal,
  machine: Machine,
  reporter: Reporter,
  commands: string[],
  log: (l: string) => void,
): SatContext {
  const logged = (r: { durationMs: number; command: string }, how: string, tail: string) =>
    commands.push(
      `${new Date().toISOString()} ${(r.durationMs / 1000).toFixed(1)}s ${how} :: ${r.command}${tail}`,
    );
  return {
    dir,
    signal,
    env: plan.env ?? {},
    progress(detail, live) {
      reporter.current.detail = detail.slice(0, 160);
      if (live) reporter.current.live = live;
    },
    log,
    async run(file, cmd, args, o) {
      const r = await runProc(cmd, args, {
        ...o,
        env: { ...plan.env, ...o.env },
        signal: o.signal ?? signal,
        stdoutPath: file === null ? null : `${dir}/${file}`,
      });
      const how = r.kind === "missing"
        ? "not found"
        : r.kind === "denied"
        ? `cannot start: ${r.message}`
        : `${r.kind} code=${r.code}${r.signal ? ` signal=${r.signal}` : ""}`;
      logged(r, how, file ? ` > ${file}` : "");
      return r;
    },
    async capture(cmd, args, o) {
      const r = await machine.run(cmd, args, { timeoutMs: o.timeoutMs, env: plan.env, signal });
      logged(r, r.kind === "exited" ? `exited code=${r.code}` : r.kind, " (captured)");
      return r;
    },
    read: (file, maxBytes = 64 * 1024 * 1024) => readBounded(`${dir}/${file}`, maxBytes),
    async write(file, data) {
      await Deno.writeTextFile(`${dir}/${file}`, data);
    },
  };
}

/** Runs the jobs in order; a job that throws is FAILED with its message; after an abort nothing else runs. */
async function runJobs(
  plan: SatPlan,
  ctx: SatContext,
  reporter: Reporter,
  log: (l: string) => void,
): Promise<JobResult[]> {
  const results: JobResult[] = [];
  for (const [i, job] of plan.jobs.entries()) {
    reporter.current = { index: i + 1, name: job.name, detail: "", live: reporter.current.live };
    if (ctx.signal.aborted) {
      results.push({ name: job.name, status: "FAILED", reason: "aborted before it started" });
      continue;
    }
    reporter.show();
    reporter.status();
    log(`job ${job.name}: start`);
    let got: JobResult[];
    try {
      const r = await job.run(ctx);
      got = Array.isArray(r) ? r : [r];
    } catch (e) {
      got = [{ name: job.name, status: "FAILED", reason: `internal error: ${(e as Error).message ?? e}` }];
    }
    if (ctx.signal.aborted) {
      // whatever the job concluded, it did not run to its end
      got = got.map((g) => (g.status === "FAILED" ? g : { ...g, status: "FAILED", reason: "aborted" }));
    }
    for (const g of got) log(`job ${g.name}: ${g.status}${g.reason ? ` (${g.reason})` : ""}`);
    results.push(...got);
  }
  return results;
}

/** summary.txt first, then sat.log and commands.log; the archive; the work folder removed once it is safe. */
async function writeArchive(
  opts: RunSatOptions,
  ctx: SatContext,
  folder: string,
  reporter: Reporter,
  texts: { summary: string; satLog: string[]; commands: string[] },
): Promise<string> {
  const archive = `${opts.outDir}/${folder}.tar.gz`;
  try {
    await ctx.write("summary.txt", texts.summary);
    await ctx.write("sat.log", texts.satLog.join("\n") + "\n");
    await ctx.write("commands.log", texts.commands.join("\n") + (texts.commands.length ? "\n" : ""));
    // summary.txt first: readers find the verdict without reading the logs
    await writeTarGz(archive, ctx.dir, folder, ["summary.txt", "sat.log"]);
  } catch (e) {
    // nothing is lost: the work folder with every log stays, and bee says so
    const error = `archive not written (${
      (e as Error).message.split("\n")[0]!.slice(0, 200)
    }); results kept in ${ctx.dir}`;
    await reporter.status({
      done: true,
      overall_status: "FAILED",
      overall_reason: "archive not written",
      archive: null,
      error,
    });
    throw new UserError(error);
  }
  await Deno.remove(ctx.dir, { recursive: true }).catch(() => {});
  return archive;
}

async function runLocked(
  plan: SatPlan,
  opts: RunSatOptions,
  started: Date,
  base: string,
  now: () => Date,
): Promise<SatOutcome> {
  const { folder, dir } = await claimFolder(opts.outDir, base);
  const wiring = abortWiring(opts);
  const reporter = new Reporter(
    plan,
    folder,
    opts.statusFile ?? null,
    () => wiring.abortedBy() !== null,
    opts.onProgress,
  );
  reporter.start();
  const satLog: string[] = [];
  const log = (l: string) => satLog.push(`${new Date().toISOString()} ${l}`);
  const commands: string[] = (plan.planCalls ?? []).filter((c) => c.op === "run").map((c) =>
    `(plan) ${(c.duration_ms / 1000).toFixed(1)}s ${c.outcome} :: ${c.target}`
  );
  const ctx = makeContext(
    dir,
    plan,
    wiring.controller.signal,
    opts.machine ?? new LiveMachine(),
    reporter,
    commands,
    log,
  );
  log(
    `bee ${BEE_VERSION} sat ${plan.kind} on ${opts.host}; ${plan.jobs.length} jobs, planned ${reporter.plannedS} s`,
  );
  if (opts.audit.text !== null) await ctx.write("audit.json", opts.audit.text);
  log(`audit: ${opts.audit.source}`);
  const results = await runJobs(plan, ctx, reporter, log);
  reporter.stop();

  const abortedBy = wiring.abortedBy();
  let status = overallStatus(results);
  let reason: string | null = null;
  if (abortedBy) {
    status = "FAILED";
    reason = "aborted";
    log(`aborted by ${abortedBy}`);
  } else if (status !== "OK") {
    reason = results.filter((r) => r.status === status).map((r) => `${r.name}: ${r.reason ?? ""}`).join("; ")
      .slice(0, 400);
  }
  const summary = renderSummary(
    {
      bee_version: BEE_VERSION,
      kind: plan.kind,
      host: opts.host,
      system_serial: opts.audit.serial,
      started_utc: started.toISOString(),
      finished_utc: now().toISOString(),
      duration_s: Math.round(reporter.elapsedS()),
      audit: opts.audit.source,
      aborted_by: abortedBy,
      ...plan.facts,
    },
    results,
    { status, reason: reason ?? undefined },
  );
  wiring.release();
  const archive = await writeArchive(opts, ctx, folder, reporter, { summary, satLog, commands });
  await reporter.status({ done: true, overall_status: status, overall_reason: reason, archive, error: null });
  return { archive, status, reason, jobs: results, aborted: abortedBy, summary };
}

export { archiveTag, safeHost };
