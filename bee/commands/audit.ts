// `bee audit`: runs the collectors, writes the audit JSON atomically, prints the summary and QR code.
import { Command, InvalidArgumentError } from "commander";
import QRCode from "qrcode";
import { runAudit } from "../audit/run.ts";
import { qrText, terminalSummary } from "../audit/report.ts";
import { atomicWrite, notReplaceable } from "../lib/atomic_write.ts";
import { PATHS } from "../lib/paths.ts";
import { UserError } from "../lib/errors.ts";
import { LiveMachine, type Machine, RecordingMachine, SnapshotMachine } from "../lib/machine.ts";
import { killAllGroups } from "../lib/exec.ts";
import { forTerminal } from "../lib/text.ts";
import { exitCodeFor, onTermSignals } from "../lib/signals.ts";
import { loadExpect } from "../expect/load.ts";
import type { Expect } from "../model/expect.ts";
import type { Audit } from "../model/schema.ts";

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) {
    throw new InvalidArgumentError("expected seconds between 0 and 3600");
  }
  return n;
}

function colorWanted(): boolean {
  try {
    return Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  } catch {
    return false;
  }
}

/** Builds the `audit` command. */
export function auditCommand(): Command {
  return new Command("audit")
    .description("audit this machine's hardware and write the audit JSON with its PASS/WARN/FAIL verdict")
    .option("-o, --output <path>", "where to write the audit JSON ('-' for stdout)", PATHS.audit)
    .option(
      "--timeout <seconds>",
      "timeout for each external command (smartctl and nvidia-smi get twice this)",
      seconds,
      30,
    )
    .option(
      "--root <dir>",
      "directory standing for / when reading /sys, /proc and /dev (replays a captured machine)",
      "/",
    )
    .option("--snapshot <file.tar.gz>", "also save everything the collectors read (to reproduce this audit)")
    .option("--replay <file.tar.gz>", "audit a snapshot instead of this machine (nothing is run)")
    .option("--deadline <seconds>", "write the audit with what it has after this long", seconds, 600)
    .option(
      "--expect <file>",
      `expected bill of materials (YAML/JSON); default ${PATHS.expect} when it exists`,
    )
    .option("--no-expect", "do not compare with an expected bill of materials")
    .option("--qr", "print the QR summary even when stdout is not a terminal")
    .option("--no-qr", "never print the QR summary")
    .action(auditAction);
}

interface AuditOpts {
  output: string;
  timeout: number;
  root: string;
  qr?: boolean;
  snapshot?: string;
  replay?: string;
  deadline: number;
  expect?: string | false;
}

const progress = (line: string) => Deno.stderr.writeSync(new TextEncoder().encode(forTerminal(line) + "\n"));

/** The machine to audit: a snapshot to replay, or this one (files read under --root). */
async function machineFor(opts: AuditOpts): Promise<Machine> {
  if (!opts.replay) return new LiveMachine(opts.root);
  try {
    return await SnapshotMachine.load(opts.replay);
  } catch (e) {
    throw new UserError((e as Error).message, 2);
  }
}

/** The order: named on the command line, else the one the ISO carries (a missing default is no order). */
async function orderFor(opts: AuditOpts): Promise<{ expect: Expect; source: string } | undefined> {
  const expectPath = opts.expect === false
    ? null
    : opts.expect ?? (await Deno.stat(PATHS.expect).then(() => PATHS.expect, () => null));
  return expectPath ? { expect: await loadExpect(expectPath), source: expectPath } : undefined;
}

/**
 * Runs the audit with Ctrl-C / SIGTERM handled: every tool bee started is killed (whole process groups),
 * then bee exits 130/143 without writing.
 */
async function auditWithSignals(
  machine: Machine,
  opts: AuditOpts,
  expect: Awaited<ReturnType<typeof orderFor>>,
) {
  const abort = new AbortController();
  const stopListening = onTermSignals((sig) => {
    abort.abort(sig);
    killAllGroups();
    progress(`bee audit: ${sig}: stopped, every tool it started killed; no audit written`);
    Deno.exit(exitCodeFor(sig));
  });
  try {
    return await runAudit({
      machine,
      timeoutMs: opts.timeout * 1000,
      deadlineMs: opts.deadline * 1000,
      signal: abort.signal,
      expect,
      onProgress: (s, done, total) =>
        progress(
          `  ${`[${done}/${total}]`.padStart(7)} ${s.name.padEnd(10)} ${s.status.padEnd(12)} ${
            String(s.duration_ms).padStart(6)
          } ms${s.message ? `  ${s.message.slice(0, 120)}` : ""}`,
        ),
    });
  } finally {
    stopListening();
    killAllGroups(); // anything a tool left behind
  }
}

async function auditAction(opts: AuditOpts): Promise<void> {
  // `-` and /dev/stdout mean standard output; any other path that is not a regular file is refused
  // before the audit runs (a rename would replace the device or link), in one line
  const toStdout = opts.output === "-" || opts.output === "/dev/stdout";
  if (opts.replay && opts.root !== "/") throw new UserError("--replay and --root cannot be combined", 2);
  for (const p of [toStdout ? null : opts.output, opts.snapshot ?? null]) {
    const why = p === null ? null : notReplaceable(p);
    if (why) throw new UserError(why, 2);
  }
  const machine = await machineFor(opts);
  const expect = await orderFor(opts);
  const recorder = opts.snapshot ? new RecordingMachine(machine) : null;
  progress(
    opts.replay
      ? `bee audit: replaying snapshot ${opts.replay}…`
      : `bee audit: running collectors (timeout ${opts.timeout}s per command)…`,
  );
  const audit = await auditWithSignals(recorder ?? machine, opts, expect);
  if (recorder && opts.snapshot) {
    try {
      await recorder.save(opts.snapshot);
      progress(`bee audit: snapshot written to ${opts.snapshot}`);
    } catch (e) {
      throw new UserError(`cannot write snapshot ${opts.snapshot}: ${(e as Error).message}`);
    }
  }
  await report(audit, opts, toStdout);
}

/** Writes the audit (atomically, or to stdout), then the summary and the QR code. */
async function report(audit: Audit, opts: AuditOpts, toStdout: boolean): Promise<void> {
  const json = JSON.stringify(audit, null, 2) + "\n";
  if (toStdout) {
    await Deno.stdout.write(new TextEncoder().encode(json));
  } else {
    try {
      await atomicWrite(opts.output, json);
    } catch (e) {
      throw new UserError(`cannot write ${opts.output}: ${(e as Error).message}`);
    }
  }
  const color = !toStdout && colorWanted();
  const summary = terminalSummary(audit, color) + (toStdout ? "" : `\naudit written to ${opts.output}`);
  if (toStdout) progress(summary);
  else console.log(summary);
  const wantQr = opts.qr === true || (opts.qr !== false && !toStdout && Deno.stdout.isTerminal());
  if (wantQr && !toStdout) {
    console.log(await QRCode.toString(qrText(audit), { type: "terminal", small: true }));
  }
}
