// Runs every collector concurrently and assembles the audit document with its verdict.
import { COLLECTORS } from "./collectors/index.ts";
import { type CollectorRun, runCollector } from "./collector.ts";
import { Audit, type CollectorStatus, SCHEMA_VERSION } from "./schema.ts";
import { judge, summarize } from "./verdict.ts";
import { BEE_VERSION, gitCommit } from "../version.ts";
import { clean } from "../lib/text.ts";

export interface AuditOptions {
  /** Directory standing for `/` when reading /sys, /proc and /dev (default "/"). */
  root?: string;
  /** Per-command timeout in milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Called as each collector finishes. */
  onProgress?: (status: CollectorStatus, done: number, total: number) => void;
}

async function readUnder(root: string, p: string): Promise<string | null> {
  try {
    return (await Deno.readTextFile(root === "/" ? p : `${root.replace(/\/+$/, "")}${p}`)).trim();
  } catch {
    return null;
  }
}

function sysOr(fn: () => string): string | null {
  try {
    return fn();
  } catch {
    return null;
  }
}

/** Runs the audit and returns the validated document; collector failures are recorded, never thrown. */
export async function runAudit(opts: AuditOptions = {}): Promise<Audit> {
  const root = opts.root ?? "/";
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const started = performance.now();
  const collectedAt = new Date().toISOString();
  let done = 0;
  const runs = await Promise.all(COLLECTORS.map(async (c) => {
    const r = await runCollector(c as Parameters<typeof runCollector>[0], root, timeoutMs) as CollectorRun<
      unknown
    >;
    opts.onProgress?.(r.status, ++done, COLLECTORS.length);
    return r;
  }));
  const data = Object.fromEntries(COLLECTORS.map((c, i) => [c.name, runs[i]!.data]));
  const collectors = runs.map((r) => r.status);
  const hardware = { ...data } as Omit<Audit["hardware"], "summary">;
  const summary = summarize(judge(hardware, collectors));
  const doc = {
    schema_version: SCHEMA_VERSION,
    bee: { version: BEE_VERSION, git_commit: gitCommit() },
    host: {
      hostname: clean((await readUnder(root, "/proc/sys/kernel/hostname")) ?? sysOr(() => Deno.hostname())),
      kernel: clean((await readUnder(root, "/proc/sys/kernel/osrelease")) ?? sysOr(() => Deno.osRelease())),
      collected_at: collectedAt,
      duration_ms: Math.round(performance.now() - started),
    },
    hardware: { ...hardware, summary },
    collectors,
  };
  const parsed = Audit.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `audit document does not match its schema at ${issue?.path.join(".")}: ${issue?.message}`,
    );
  }
  return parsed.data;
}
