// The collector contract and the context collectors work through: every command and file read goes
// through the one machine interface (live, or a snapshot), commands are recorded, and problems become a
// status, not a throw.
import type { ExecResult } from "../lib/exec.ts";
import { stripEscapes } from "../lib/text.ts";
import type { Machine } from "../lib/machine.ts";
import type { CollectorName, CollectorStatus, CommandRecord } from "../model/schema.ts";

type Status = CollectorStatus["status"];

/** Thrown by a collector to stop with a status (its data is then null). */
export class CollectorStop extends Error {
  constructor(readonly status: Exclude<Status, "ok">, message: string) {
    super(message);
  }
}

const RANK: Record<Status, number> = { ok: 0, skipped: 0, missing_tool: 1, error: 2, timeout: 3 };

/** What a collector sees of the machine. */
export class CollectorContext {
  readonly commands: CommandRecord[] = [];
  readonly notes: string[] = [];
  worst: Status = "ok";

  constructor(
    /** The machine (live, or replayed from a snapshot). */
    readonly machine: Machine,
    /** Per-command timeout in ms; `slow` commands (smartctl, nvidia-smi) get twice this. */
    readonly timeoutMs: number,
    /** Aborted at the audit-wide deadline: nothing new starts after it. */
    readonly deadline?: AbortSignal,
  ) {}

  /** Runs a command with the collector timeout and records it. Never throws. */
  async run(cmd: string, args: string[], opts: { slow?: boolean } = {}): Promise<ExecResult> {
    const raw: ExecResult = this.deadline?.aborted
      ? { kind: "timeout", command: [cmd, ...args].join(" "), durationMs: 0, stdout: "", stderr: "" }
      : await this.machine.run(cmd, args, {
        timeoutMs: this.timeoutMs * (opts.slow ? 2 : 1),
        signal: this.deadline,
      });
    // parsers see text: terminal escapes some tools print (colours, bold headers) are removed here, once
    // for every collector (a snapshot keeps the raw output)
    const r: ExecResult = "stdout" in raw
      ? { ...raw, stdout: stripEscapes(raw.stdout), stderr: stripEscapes(raw.stderr) }
      : raw;
    const outcome: CommandRecord["outcome"] = r.kind === "exited" ? (r.code === 0 ? "ok" : "failed") : r.kind;
    this.commands.push({
      command: r.command.slice(0, 1024),
      outcome,
      exit_code: r.kind === "exited" ? r.code : null,
      duration_ms: r.durationMs,
    });
    return r;
  }

  /** Records a problem that does not stop the collector; the worst one sets its status. */
  note(status: Exclude<Status, "ok" | "skipped">, message: string): void {
    this.notes.push(message);
    if (RANK[status] > RANK[this.worst]) this.worst = status;
  }

  /** Output of a command that must have run (exit 0 unless `okCodes` says otherwise), or a stop. */
  require(r: ExecResult, okCodes: number[] = [0]): string {
    switch (r.kind) {
      case "missing":
        throw new CollectorStop("missing_tool", `${r.command.split(" ")[0]} not found`);
      case "denied":
        throw new CollectorStop("error", `${r.command}: ${r.message}`);
      case "timeout":
        throw new CollectorStop("timeout", `${r.command} timed out after ${r.durationMs} ms`);
      case "exited":
        if (!okCodes.includes(r.code)) {
          throw new CollectorStop(
            "error",
            `${r.command} exited ${r.code}: ${firstLine(r.stderr || r.stdout)}`,
          );
        }
        return r.stdout;
    }
  }

  /** Output of a secondary command, or null after noting why there is none. */
  optional(r: ExecResult, okCodes: number[] = [0]): string | null {
    try {
      return this.require(r, okCodes);
    } catch (e) {
      if (e instanceof CollectorStop) {
        this.note(e.status === "skipped" ? "error" : e.status, e.message);
        return null;
      }
      throw e;
    }
  }

  /** How a path is named in messages. */
  path(p: string): string {
    return this.machine.describe(p);
  }

  /** Text of a regular file, or null when it cannot be read. */
  readText(p: string): Promise<string | null> {
    return this.machine.readText(p);
  }

  /** Names in a directory (sorted), or null when it does not exist. */
  readDir(p: string): Promise<string[] | null> {
    return this.machine.readDir(p);
  }

  /** Basename of a symlink's target, or null. */
  async linkName(p: string): Promise<string | null> {
    const t = await this.machine.readLink(p);
    return t?.split("/").filter(Boolean).pop() ?? null;
  }

  /** Whether a path exists. */
  exists(p: string): Promise<boolean> {
    return this.machine.exists(p);
  }
}

/** First non-empty line of a text, bounded. */
export function firstLine(s: string): string {
  return (s.split("\n").map((l) => l.trim()).find(Boolean) ?? "(no output)").slice(0, 300);
}

/** A collector: one per hardware area, each in its own file under collectors/. */
export interface Collector<T> {
  name: CollectorName;
  collect(ctx: CollectorContext): Promise<T | null>;
}

/** The result of running one collector. */
export interface CollectorRun<T> {
  data: T | null;
  status: CollectorStatus;
}

/** Runs a collector and turns every outcome, exceptions included, into a status record. */
export async function runCollector<T>(
  c: Collector<T>,
  machine: Machine,
  timeoutMs: number,
  deadline?: AbortSignal,
): Promise<CollectorRun<T>> {
  const ctx = new CollectorContext(machine, timeoutMs, deadline);
  const started = performance.now();
  let data: T | null = null;
  let status: Status = "ok";
  let message: string | null = null;
  try {
    data = await c.collect(ctx);
    status = ctx.worst;
  } catch (e) {
    if (e instanceof CollectorStop) {
      status = e.status;
      message = e.message;
    } else {
      status = "error";
      message = `collector failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    data = null;
  }
  const all = [message, ...ctx.notes].filter((m): m is string => !!m);
  return {
    data,
    status: {
      name: c.name,
      status,
      duration_ms: Math.round(performance.now() - started),
      message: all.length ? all.join("; ").slice(0, 500) : null,
      // in a stable order (by command line), not completion order: the same machine, live or replayed from
      // a snapshot, gives the same audit
      commands: [...ctx.commands].sort((
        a,
        b,
      ) => (a.command < b.command ? -1 : a.command > b.command ? 1 : 0)),
    },
  };
}
