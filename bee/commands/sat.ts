// `bee sat nvidia|memory|storage`: plans the acceptance test, runs it into an archive and prints
// the summary; the last line printed names the archive. Exit 0 OK, 1 FAILED (also aborted),
// 3 UNSUPPORTED, 2 bad arguments.
import { Command, InvalidArgumentError } from "commander";
import { PATHS } from "../lib/paths.ts";
import { ExitStatus, UserError } from "../lib/errors.ts";
import { runAudit } from "../audit/run.ts";
import { loadAudit } from "../model/load.ts";
import { archiveTag, runSat, type SatPlan } from "../sat/runner.ts";
import { parseDuration, parseGpuSelection, planNvidia } from "../sat/nvidia/plan.ts";
import { planText } from "../sat/nvidia/dryrun.ts";
import { PEER_FAIL_PCT } from "../sat/nvidia/figures.ts";
import { planMemory } from "../sat/memory.ts";
import { planStorage } from "../sat/storage.ts";
import { killAllGroups } from "../lib/exec.ts";
import { forTerminal } from "../lib/text.ts";
import { notReplaceable } from "../lib/atomic_write.ts";
import { onTermSignals } from "../lib/signals.ts";
import { writeSatStatus } from "../sat/status.ts";
import { SAT_OVERRIDES } from "../lib/overrides.ts";
import { parseBootParams } from "../parsers/cmdline.ts";
import { runUnattended } from "../sat/unattended.ts";
import { runProc } from "../lib/proc.ts";

/**
 * SIGINT/SIGTERM from the very start (GPU list, fresh audit): the tools running are killed and the SAT
 * still writes its `aborted` archive. The runner installs its own handlers once jobs run.
 */
function earlyAbort(): { signal: AbortSignal; done(): void } {
  const c = new AbortController();
  const done = onTermSignals((sig) => {
    c.abort(sig);
    killAllGroups();
  });
  return { signal: c.signal, done };
}

/**
 * Runs one `bee sat` kind; a SAT that ends without an archive (a bad override, the SAT lock, a full disk…)
 * still leaves its final status record, with the error, for whoever watches the status file.
 */
async function withFinalStatus(o: CommonOpts, kind: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    if (o.statusFile && e instanceof UserError) {
      await writeSatStatus(o.statusFile, { kind, done: true, archive: null, error: `bee: ${e.message}` });
    }
    throw e;
  }
}

interface CommonOpts {
  out: string;
  audit: string;
  statusFile?: string;
  lock: string;
}

const ENV_KEYS = SAT_OVERRIDES.map((o) => o.env);

function overrides(): Record<string, string | undefined> {
  return Object.fromEntries(ENV_KEYS.map((k) => [k, Deno.env.get(k)]));
}

/**
 * The audit to copy into the archive: the file when it is a good audit (through the one audit reader), else a
 * fresh audit of this machine — a missing or unreadable file is said in `source`.
 */
async function auditFor(
  path: string,
  signal: AbortSignal,
): Promise<{ text: string | null; serial: string | null; source: string }> {
  const l = await loadAudit(path);
  if (l.kind === "ok") {
    const serial = l.audit.hardware.board?.system.serial ?? null;
    return { text: l.raw, serial: serial === null ? null : serial.slice(0, 128), source: path };
  }
  const why = l.kind === "missing" ? `no audit at ${path}` : l.problem;
  Deno.stderr.writeSync(new TextEncoder().encode(forTerminal(`bee sat: ${why}; running one now…`) + "\n"));
  try {
    const audit = await runAudit({ signal });
    return {
      text: JSON.stringify(audit, null, 2) + "\n",
      serial: audit.hardware.board?.system.serial ?? null,
      source: `fresh audit (${why.slice(0, 160)})`,
    };
  } catch (e) {
    return { text: null, serial: null, source: `none: ${(e as Error).message}` };
  }
}

async function execute(
  plan: SatPlan,
  o: CommonOpts,
  early: { signal: AbortSignal; done(): void },
): Promise<never> {
  for (const k of ENV_KEYS) {
    const v = Deno.env.get(k);
    if (v !== undefined) plan.facts[`env_${k}`] = v;
  }
  let outcome;
  try {
    const audit = await auditFor(o.audit, early.signal);
    outcome = await runSat(plan, {
      outDir: o.out,
      lockPath: o.lock,
      // archives are named after the machine (its system serial), not the live CD's hostname
      host: archiveTag(audit.serial, Deno.hostname()),
      audit,
      statusFile: o.statusFile ?? null,
      signal: early.signal,
    });
  } finally {
    early.done();
  }
  const lines = outcome.summary.split("\n").filter((l) => /_status=|_reason=|^overall_/.test(l));
  console.log(forTerminal(lines.join("\n")));
  console.log(`archive: ${outcome.archive}`);
  throw new ExitStatus(outcome.status === "OK" ? 0 : outcome.status === "UNSUPPORTED" ? 3 : 1);
}

function common(c: Command): Command {
  return c
    .option("--out <dir>", "directory for the archive", PATHS.satDir)
    .option(
      "--audit <file>",
      "audit JSON copied into the archive (a fresh audit runs when missing)",
      PATHS.audit,
    )
    .option(
      "--status-file <file>",
      "JSON status rewritten every second while it runs (used by the TUI)",
      statusFileArg,
    )
    .option("--lock <file>", "lock file allowing one SAT at a time", PATHS.satLock);
}

function durationArg(v: string): number {
  const s = parseDuration(v);
  if (s === null) throw new InvalidArgumentError("expected 10m, 1h, 8h, 24h or seconds (1 s to 7 days)");
  return s;
}

/** A status file path: refused up front when something other than a regular file is there. */
function statusFileArg(v: string): string {
  const why = notReplaceable(v);
  if (why) throw new InvalidArgumentError(why);
  return v;
}

function gpusArg(v: string): number[] {
  const g = parseGpuSelection(v);
  if (!g) throw new InvalidArgumentError("expected GPU indices like 0,2");
  return g;
}

function pollArg(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0.05 || n > 600) {
    throw new InvalidArgumentError("expected seconds between 0.05 and 600");
  }
  return n;
}

/** `bee sat nvidia --dry-run`: lists the GPUs (nvidia-smi), prints the plan; no lock, no archive. */
async function dryRun(o: { duration?: number; gpus?: number[] }): Promise<void> {
  const plan = await planNvidia({ durationS: o.duration ?? null, gpus: o.gpus ?? null, env: overrides() });
  console.log(planText(plan, Number(plan.facts["peer_fail_pct"] ?? PEER_FAIL_PCT)).join("\n"));
  if (plan.facts["preflight"]) Deno.exit(3);
}

/** One line to stdout (the unit sends it to the journal and tty1) and, with --kmsg, the kernel log. */
function sayer(kmsg: boolean): (line: string) => void {
  return (line) => {
    const l = forTerminal(`bee-sat-auto: ${line}`).slice(0, 400);
    console.log(l);
    if (!kmsg) return;
    try {
      Deno.writeTextFileSync("/dev/kmsg", `<5>${l}\n`, { append: true });
    } catch { /* not root: stdout is enough */ }
  };
}

/** `bee sat auto`: the unattended plan of the kernel command line, then power off, reboot or stay. */
async function auto(
  o: { cmdline: string; out: string; audit: string; lock: string; kmsg?: boolean },
): Promise<void> {
  const sayEverywhere = sayer(!!o.kmsg);
  const text = await Deno.readTextFile(o.cmdline).catch(() => {
    throw new UserError(`cannot read the kernel command line ${o.cmdline}`, 2);
  });
  const p = parseBootParams(text);
  const bee = Deno.env.get("BEE_LAUNCHER") || new URL("../../bin/bee", import.meta.url).pathname;
  const c = new AbortController();
  const done = onTermSignals(() => c.abort());
  let state;
  try {
    state = await runUnattended(p, {
      satDir: o.out,
      audit: o.audit,
      lock: o.lock,
      bee,
      say: sayEverywhere,
      signal: c.signal,
    });
  } finally {
    done();
  }
  if (!state) return; // no bee.sat=: nothing to run (bad bee.* parameters were said above)
  const bad = state.results.filter((r) => r.status !== "OK");
  sayEverywhere(`finished: ${state.results.map((r) => `${r.kind}=${r.status}`).join(" ")}`);
  if (state.after !== "stay" && !c.signal.aborted) {
    sayEverywhere(`bee.after=${state.after}: ${state.after === "poweroff" ? "powering off" : "rebooting"}`);
    await runProc("systemctl", [state.after], { timeoutMs: 60_000 });
  }
  if (bad.length) throw new ExitStatus(1);
}

/** Builds the `sat` command with its three kinds. */
export function satCommand(): Command {
  const sat = new Command("sat").description(
    "acceptance tests that leave a diagnostic archive (bee-sat-<kind>-<serial>-<UTC time>.tar.gz)",
  );
  sat.addCommand(
    common(new Command("nvidia"))
      .description(
        "nvidia-smi -q, bee-gpu-stress with per-second GPU metrics, ECC/XID check, nvidia-bug-report",
      )
      .option("--duration <time>", "stress duration: 10m, 1h, 8h, 24h or seconds (default 10m)", durationArg)
      .option("--gpus <list>", "GPU indices to test, e.g. 0,2 (default: all)", gpusArg)
      .option("--dry-run", "print the plan (jobs, durations, figures, references and gates) and run nothing")
      .action((o: CommonOpts & { duration?: number; gpus?: number[]; dryRun?: boolean }) =>
        o.dryRun ? dryRun(o) : withFinalStatus(o, "nvidia", async () => {
          const early = earlyAbort();
          const plan = await planNvidia({
            durationS: o.duration ?? null,
            gpus: o.gpus ?? null,
            env: overrides(),
            signal: early.signal,
          });
          await execute(plan, o, early);
        })
      ),
  );
  sat.addCommand(
    common(new Command("memory"))
      .description("memtester over free memory (BEE_MEMTESTER_SIZE_MB, BEE_MEMTESTER_PASSES override)")
      .action((o: CommonOpts) =>
        withFinalStatus(o, "memory", async () => {
          const early = earlyAbort();
          await execute(await planMemory({ env: overrides() }), o, early);
        })
      ),
  );
  sat.addCommand(
    common(new Command("storage"))
      .description("SMART/NVMe data, a short self-test per disk where supported, data after")
      .option("--poll <seconds>", "seconds between self-test status polls", pollArg, 10)
      .option(
        "--self-test-timeout <seconds>",
        "give up waiting for a short self-test after this long",
        pollArg,
        600,
      )
      .action((o: CommonOpts & { poll: number; selfTestTimeout: number }) =>
        withFinalStatus(o, "storage", async () => {
          const early = earlyAbort();
          await execute(
            await planStorage({ pollS: o.poll, selfTestTimeoutS: o.selfTestTimeout, signal: early.signal }),
            o,
            early,
          );
        })
      ),
  );
  sat.addCommand(
    new Command("auto")
      .description(
        "the SATs the kernel command line asks for (bee.sat=, bee.sat.duration=, bee.sat.<setting>=), then bee.after=",
      )
      .option("--cmdline <file>", "where the kernel command line is read", "/proc/cmdline")
      .option("--out <dir>", "directory for the archives and unattended.json", PATHS.satDir)
      .option("--audit <file>", "audit JSON copied into each archive", PATHS.audit)
      .option("--lock <file>", "lock file allowing one SAT at a time", PATHS.satLock)
      .option("--kmsg", "also write each line to the kernel log (the boot unit: serial consoles see it)")
      .action((o: { cmdline: string; out: string; audit: string; lock: string; kmsg?: boolean }) => auto(o)),
  );
  sat.action(() => {
    throw new UserError("name a kind: bee sat nvidia | memory | storage (see bee sat --help)", 2);
  });
  return sat;
}
