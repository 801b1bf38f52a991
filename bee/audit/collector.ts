// The collector contract and the context collectors work through: commands run with timeouts and
// are recorded, files are read under a configurable root, and problems become a status, not a throw.
import { exec, type ExecResult } from "../lib/exec.ts";
import type { CollectorName, CollectorStatus, CommandRecord } from "./schema.ts";

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
    /** Directory that stands for `/` when reading /sys, /proc and /dev. */
    readonly root: string,
    /** Per-command timeout in ms; `slow` commands (smartctl, nvidia-smi) get twice this. */
    readonly timeoutMs: number,
  ) {}

  /** Runs a command with the collector timeout and records it. Never throws. */
  async run(cmd: string, args: string[], opts: { slow?: boolean } = {}): Promise<ExecResult> {
    const r = await exec(cmd, args, { timeoutMs: this.timeoutMs * (opts.slow ? 2 : 1) });
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

  /** Absolute path of `p` under the root. */
  path(p: string): string {
    return this.root === "/" ? p : `${this.root.replace(/\/+$/, "")}/${p.replace(/^\/+/, "")}`;
  }

  /** Text of a file under the root, or null when it cannot be read. */
  async readText(p: string): Promise<string | null> {
    try {
      return await Deno.readTextFile(this.path(p));
    } catch {
      return null;
    }
  }

  /** Names in a directory under the root (sorted), or null when it does not exist. */
  async readDir(p: string): Promise<string[] | null> {
    try {
      const names: string[] = [];
      for await (const e of Deno.readDir(this.path(p))) names.push(e.name);
      return names.sort();
    } catch {
      return null;
    }
  }

  /** Basename of a symlink's target under the root, or null. */
  async linkName(p: string): Promise<string | null> {
    try {
      const t = await Deno.readLink(this.path(p));
      return t.split("/").filter(Boolean).pop() ?? null;
    } catch {
      return null;
    }
  }

  /** Whether a path exists under the root. */
  async exists(p: string): Promise<boolean> {
    try {
      await Deno.lstat(this.path(p));
      return true;
    } catch {
      return false;
    }
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
  root: string,
  timeoutMs: number,
): Promise<CollectorRun<T>> {
  const ctx = new CollectorContext(root, timeoutMs);
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
      commands: ctx.commands,
    },
  };
}
