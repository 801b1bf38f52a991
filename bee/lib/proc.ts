// Runs one long external command (a stress tool, memtester, a metrics poller) whose output goes to
// files as it comes, with a timeout and an abort signal. The command gets its own process group;
// on timeout or abort the whole group gets SIGTERM, then SIGKILL after a grace period, and when the
// command ends its group is swept so nothing it started outlives it. Never throws.

import { forgetGroup, REAP_LIMIT_MS, spawnGroup, statusWithin } from "./exec.ts";
import { longTimeout } from "./timer.ts";

/** How a long command ended. */
export type ProcResult =
  | { kind: "missing"; command: string; durationMs: number }
  | { kind: "denied"; command: string; durationMs: number; message: string }
  | {
    kind: "exited" | "timeout" | "aborted";
    command: string;
    durationMs: number;
    code: number;
    signal: string | null;
  };

export interface ProcOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Extra environment (LC_ALL=C is always set); the rest of the environment is inherited. */
  env?: Record<string, string>;
  /** stdout goes here (appended); null discards it */
  stdoutPath?: string | null;
  /** stderr goes here (appended); defaults to stdoutPath */
  stderrPath?: string | null;
  /** called with each complete stdout line (without the newline), as it arrives */
  onLine?: (line: string) => void;
  /** seconds between SIGTERM and SIGKILL on timeout or abort */
  graceMs?: number;
}

function signalGroup(pid: number, sig: Deno.Signal): boolean {
  try {
    Deno.kill(-pid, sig);
    return true;
  } catch {
    return false; // group already empty, or not permitted
  }
}

async function pump(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  file: Deno.FsFile | null,
  onLine?: (line: string) => void,
): Promise<void> {
  const dec = new TextDecoder();
  let pending = "";
  try {
    while (true) {
      const { done, value: chunk } = await reader.read();
      if (done) break;
      if (file) {
        let off = 0;
        while (off < chunk.length) off += await file.write(chunk.subarray(off));
      }
      if (onLine) {
        pending += dec.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = pending.indexOf("\n")) >= 0) {
          onLine(pending.slice(0, nl).replace(/\r$/, ""));
          pending = pending.slice(nl + 1);
        }
        if (pending.length > 1024 * 1024) pending = pending.slice(-1024 * 1024); // a line without end
      }
    }
  } catch {
    // stream cancelled
  }
  if (onLine && pending) onLine(pending);
}

async function openOut(path: string | null | undefined): Promise<Deno.FsFile | null> {
  if (!path) return null;
  return await Deno.open(path, { write: true, create: true, append: true, mode: 0o644 });
}

/** Runs `cmd args…` streaming its output; see the file comment for how it is stopped. */
export async function runProc(cmd: string, args: string[], opts: ProcOptions): Promise<ProcResult> {
  const command = [cmd, ...args].join(" ");
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  if (opts.signal?.aborted) return { kind: "aborted", command, durationMs: 0, code: -1, signal: null };
  let child: Deno.ChildProcess;
  try {
    child = spawnGroup(cmd, args, opts.env);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { kind: "missing", command, durationMs: elapsed() };
    return { kind: "denied", command, durationMs: elapsed(), message: (e as Error).message ?? String(e) };
  }
  const out = await openOut(opts.stdoutPath);
  const sameFile = opts.stderrPath === undefined || opts.stderrPath === opts.stdoutPath;
  const err = sameFile ? out : await openOut(opts.stderrPath);
  const readers = [child.stdout.getReader(), child.stderr.getReader()];
  const pumps = [pump(readers[0]!, out, opts.onLine), pump(readers[1]!, err)];

  let why: "timeout" | "aborted" | null = null;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  let onStop = () => {};
  const stopCalled = new Promise<"stopped">((resolve) => onStop = () => resolve("stopped"));
  const stop = (reason: "timeout" | "aborted") => {
    if (why) return;
    why = reason;
    onStop();
    if (!signalGroup(child.pid, "SIGTERM")) {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
    }
    killTimer = setTimeout(() => {
      if (!signalGroup(child.pid, "SIGKILL")) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }
    }, opts.graceMs ?? 5000);
  };
  const timer = longTimeout(() => stop("timeout"), opts.timeoutMs);
  const onAbort = () => stop("aborted");
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) onAbort(); // aborted while the outputs were being opened

  // once stopped, the wait is bounded: a tool in uninterruptible sleep may never be reaped
  const first = await Promise.race([child.status, stopCalled]);
  const reaped = first === "stopped"
    ? await statusWithin(child, (opts.graceMs ?? 5000) + REAP_LIMIT_MS)
    : first;
  const status = reaped ?? { code: -1, signal: "SIGKILL" as Deno.Signal, success: false };
  timer.clear();
  clearTimeout(killTimer);
  opts.signal?.removeEventListener("abort", onAbort);
  // sweep whatever the command left running in its group, then stop reading pipes they held
  signalGroup(child.pid, "SIGKILL");
  if (reaped) forgetGroup(child.pid);
  const settle = setTimeout(() => readers.forEach((r) => r.cancel().catch(() => {})), 2000);
  await Promise.all(pumps);
  clearTimeout(settle);
  out?.close();
  if (err && err !== out) err.close();
  return {
    kind: why ?? "exited",
    command,
    durationMs: elapsed(),
    code: status.code,
    signal: status.signal ?? null,
  };
}
