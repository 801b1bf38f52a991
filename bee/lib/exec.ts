import { longTimeout } from "./timer.ts";

// Runs one external command with a timeout and gives back what happened, never throwing:
// a missing binary is `missing`, a hang is `timeout` (the process is killed), everything else `exited`.

/** What running a command produced. */
export type ExecResult =
  | { kind: "missing"; command: string; durationMs: number }
  | { kind: "timeout"; command: string; durationMs: number; stdout: string; stderr: string }
  | { kind: "denied"; command: string; durationMs: number; message: string }
  | {
    kind: "exited";
    command: string;
    durationMs: number;
    code: number;
    signal: string | null;
    stdout: string;
    stderr: string;
    truncated: boolean;
  };

export interface ExecOptions {
  /** Kill the command after this many milliseconds. */
  timeoutMs: number;
  /** Extra environment (LC_ALL=C is always set). */
  env?: Record<string, string>;
  /** Cap on captured bytes per stream; the rest is read and dropped. */
  maxBytes?: number;
  /** Aborting kills the command as a timeout would (an audit-wide deadline). */
  signal?: AbortSignal;
}

/** How long to wait for a killed command to be reaped before giving up on it (uninterruptible sleep). */
export const REAP_LIMIT_MS = 5_000;

/** Process groups started and not yet known to be gone: every exit path kills them all. */
const LIVE_GROUPS = new Set<number>();

/** SIGKILLs every process group bee started that may still be running (called on SIGINT/SIGTERM). */
export function killAllGroups(): number {
  let n = 0;
  for (const pid of LIVE_GROUPS) {
    try {
      Deno.kill(-pid, "SIGKILL");
      n++;
    } catch { /* gone */ }
  }
  LIVE_GROUPS.clear();
  return n;
}

/** Process groups still tracked (for tests). */
export function liveGroups(): number[] {
  return [...LIVE_GROUPS];
}

/** Forgets a group once its leader is reaped and the group swept. */
export function forgetGroup(pid: number): void {
  LIVE_GROUPS.delete(pid);
}

/** SIGKILLs what is left of a group whose leader has exited (background children it started). */
export function sweepGroup(pid: number): void {
  try {
    Deno.kill(-pid, "SIGKILL");
  } catch { /* empty group */ }
}

/** Resolves with the exit status, or null when the process is not reaped within `ms`. */
export function statusWithin(child: Deno.ChildProcess, ms: number): Promise<Deno.CommandStatus | null> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    child.status.catch(() => null),
    new Promise<null>((r) => t = setTimeout(() => r(null), ms)),
  ]).finally(() => clearTimeout(t));
}

const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/** Reads a stream to text, keeping at most `max` bytes; resolves when the stream ends or is cancelled. */
async function drain(
  stream: ReadableStream<Uint8Array>,
  max: number,
  readers: ReadableStreamDefaultReader<Uint8Array>[],
): Promise<{ text: string; truncated: boolean }> {
  const reader = stream.getReader();
  readers.push(reader);
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.length > max) {
        truncated = true;
        const room = max - size;
        if (room > 0) chunks.push(value.subarray(0, room));
        size = max;
        continue;
      }
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // cancelled after a timeout: keep what was read
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return { text: new TextDecoder().decode(all), truncated };
}

/** Kills the command's whole process group where permitted, else the command itself. */
function killTree(child: Deno.ChildProcess): void {
  try {
    Deno.kill(-child.pid, "SIGKILL");
    return;
  } catch {
    // scoped --allow-run cannot signal a group; fall back to the direct child
  }
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * Starts `cmd` as the leader of its own process group (so a timeout or abort can kill everything it
 * started), with LC_ALL=C, stdin closed and both outputs piped. Throws what Deno.Command throws.
 */
export function spawnGroup(cmd: string, args: string[], env?: Record<string, string>): Deno.ChildProcess {
  const child = new Deno.Command(cmd, {
    args,
    env: { LC_ALL: "C", LANG: "C", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
  LIVE_GROUPS.add(child.pid);
  return child;
}

/** Runs `cmd args…` with LC_ALL=C and a timeout; never throws. */
export async function exec(cmd: string, args: string[], opts: ExecOptions): Promise<ExecResult> {
  const command = [cmd, ...args].join(" ");
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let child: Deno.ChildProcess;
  try {
    child = spawnGroup(cmd, args, opts.env);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { kind: "missing", command, durationMs: elapsed() };
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      return { kind: "denied", command, durationMs: elapsed(), message: (e as Error).message };
    }
    return { kind: "denied", command, durationMs: elapsed(), message: String(e) };
  }
  const max = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
  const out = drain(child.stdout, max, readers);
  const err = drain(child.stderr, max, readers);
  let timer: { clear(): void } | undefined;
  let onAbort: (() => void) | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = longTimeout(() => resolve("timeout"), opts.timeoutMs);
    onAbort = () => resolve("timeout");
    if (opts.signal?.aborted) resolve("timeout");
    opts.signal?.addEventListener("abort", onAbort, { once: true });
  });
  const first = await Promise.race([child.status, timedOut]);
  timer?.clear();
  if (onAbort) opts.signal?.removeEventListener("abort", onAbort);
  if (first === "timeout") {
    killTree(child);
    // a grandchild may still hold the pipes open: stop reading instead of waiting for it
    for (const r of readers) r.cancel().catch(() => {});
    // a process in uninterruptible sleep is not reaped even by SIGKILL: wait a bounded time only
    if (await statusWithin(child, REAP_LIMIT_MS)) forgetGroup(child.pid);
    const [o, e] = await Promise.all([out, err]);
    return { kind: "timeout", command, durationMs: elapsed(), stdout: o.text, stderr: e.text };
  }
  const status = first;
  // the command exited: whatever it left running in its group goes too
  sweepGroup(child.pid);
  forgetGroup(child.pid);
  // the direct child exited; give lingering writers a moment, then stop reading
  const settle = setTimeout(() => readers.forEach((r) => r.cancel().catch(() => {})), 2000);
  const [o, e] = await Promise.all([out, err]);
  clearTimeout(settle);
  return {
    kind: "exited",
    command,
    durationMs: elapsed(),
    code: status.code,
    signal: status.signal ?? null,
    stdout: o.text,
    stderr: e.text,
    truncated: o.truncated || e.truncated,
  };
}
