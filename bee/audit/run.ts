// Runs every collector concurrently through one machine (live or a snapshot) and assembles the audit
// document with its verdict. Each collector's section is validated on its own: a value out of range costs
// its field (set to null and noted), or at worst its collector — never the whole audit. An audit-wide
// deadline writes the audit with what it has when a tool never answers.
import { COLLECTORS, SECTIONS } from "../areas/index.ts";
import { type CollectorRun, runCollector } from "../collect/collector.ts";
import { Audit, type CollectorName, type CollectorStatus, SCHEMA_VERSION } from "../model/schema.ts";
import { judge, summarize } from "./verdict.ts";
import type { Expect } from "../model/expect.ts";
import type { Finding } from "../model/schema.ts";
import { BEE_VERSION, gitCommit } from "../version.ts";
import { clean } from "../lib/text.ts";
import { LiveMachine, type Machine } from "../lib/machine.ts";
import { longTimeout } from "../lib/timer.ts";

export interface AuditOptions {
  /** The machine to audit (default: this one, files read under `root`). */
  machine?: Machine;
  /** Directory standing for `/` when reading /sys, /proc and /dev (default "/"), for the live machine. */
  root?: string;
  /** Per-command timeout in milliseconds (default 30 000). */
  timeoutMs?: number;
  /** The whole audit's limit in milliseconds (default 10 minutes): then it is written with what it has. */
  deadlineMs?: number;
  /** Called as each collector finishes. */
  onProgress?: (status: CollectorStatus, done: number, total: number) => void;
  /** The expected bill of materials: differences become bom.* findings and the audit's `expect` block. */
  expect?: { expect: Expect; source: string };
  /** Aborts the audit from outside (SIGINT/SIGTERM): running commands are killed, collectors stop. */
  signal?: AbortSignal;
}

/** Sets the field at `path` to null; false when there is nothing to null (then nulling cannot help). */
function nullAt(obj: unknown, path: PropertyKey[]): boolean {
  let at = obj as Record<PropertyKey, unknown>;
  for (const k of path.slice(0, -1)) {
    if (at === null || typeof at !== "object") return false;
    at = at[k] as Record<PropertyKey, unknown>;
  }
  if (at === null || typeof at !== "object" || path.length === 0) return false;
  const last = path[path.length - 1]!;
  if (at[last] === null) return false;
  at[last] = null;
  return true;
}

/**
 * Checks one collector's data against its schema. Offending fields become null (at most 50 tries);
 * when that does not make it valid the section is dropped. Returns the data and what was dropped.
 */
export function validateSection(
  name: CollectorName,
  data: unknown,
): { data: unknown; dropped: string[]; failed: string | null } {
  if (data === null) return { data, dropped: [], failed: null };
  const schema = SECTIONS[name];
  let copy: unknown;
  try {
    copy = structuredClone(data);
  } catch {
    return { data: null, dropped: [], failed: "data cannot be copied" };
  }
  const dropped: string[] = [];
  for (let i = 0; i < 50; i++) {
    const r = schema.safeParse(copy);
    if (r.success) return { data: r.data, dropped, failed: null };
    const issue = r.error.issues[0]!;
    const where = issue.path.map(String).join(".");
    // null the field; when it cannot be null, the nearest enclosing value that can
    let depth = issue.path.length;
    while (depth > 0 && !nullAt(copy, issue.path.slice(0, depth))) depth--;
    if (depth === 0) return { data: null, dropped, failed: `${where || "(section)"}: ${issue.message}` };
    dropped.push(`${where} (${issue.message.slice(0, 80)})`);
  }
  return { data: null, dropped, failed: "too many invalid fields" };
}

async function hostText(machine: Machine, p: string): Promise<string | null> {
  return (await machine.readText(p))?.trim() ?? null;
}

function sysOr(fn: () => string): string | null {
  try {
    return fn();
  } catch {
    return null;
  }
}

/** The audit's `expect` block: whether the machine is as ordered, and how many differences. */
export function expectOutcome(e: Expect, source: string, findings: Finding[]) {
  const differences = findings.filter((f) => f.code.startsWith("bom.")).length;
  const lines = (["cpus", "memory", "disks", "gpus", "nics", "psus"] as const)
    .reduce((n, k) => n + (e[k]?.length ?? 0), 0) + (e.system ? 1 : 0) + (e.bios ? 1 : 0) + (e.bmc ? 1 : 0);
  return {
    name: clean(e.name ?? null),
    source: clean(source),
    as_ordered: differences === 0,
    differences,
    lines,
  };
}

/** Default audit-wide deadline. */
export const AUDIT_DEADLINE_MS = 10 * 60_000;

/** Runs the audit and returns the validated document; collector failures are recorded, never thrown. */
export async function runAudit(opts: AuditOptions = {}): Promise<Audit> {
  const machine = opts.machine ?? new LiveMachine(opts.root ?? "/");
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const started = performance.now();
  const collectedAt = new Date().toISOString();
  const stop = new AbortController();
  const deadlineMs = opts.deadlineMs ?? AUDIT_DEADLINE_MS;
  const deadline = longTimeout(() => stop.abort("deadline"), deadlineMs);
  const onOuter = () => stop.abort("aborted");
  opts.signal?.addEventListener("abort", onOuter, { once: true });
  if (opts.signal?.aborted) onOuter();
  // a collector that does not return after its commands were killed is cut off a little later
  const cutoff = new Promise<"cutoff">((resolve) => {
    stop.signal.addEventListener("abort", () => setTimeout(() => resolve("cutoff"), 2_000), { once: true });
  });
  let done = 0;
  const runs = await Promise.all(COLLECTORS.map(async (c) => {
    const t0 = performance.now();
    const running = runCollector(c as Parameters<typeof runCollector>[0], machine, timeoutMs, stop.signal);
    const first = await Promise.race([running, cutoff]);
    let r: CollectorRun<unknown>;
    if (first === "cutoff") {
      r = {
        data: null,
        status: {
          name: c.name,
          status: "timeout",
          duration_ms: Math.round(performance.now() - t0),
          message: stop.signal.reason === "deadline"
            ? `audit deadline (${Math.round(deadlineMs / 1000)} s) reached: collector stopped`
            : "audit aborted: collector stopped",
          commands: [],
        },
      };
    } else {
      r = first as CollectorRun<unknown>;
      const v = validateSection(c.name, r.data);
      if (v.failed || v.dropped.length) {
        const msg = v.failed
          ? `section dropped, invalid data: ${v.failed}`
          : `invalid values dropped: ${v.dropped.join("; ")}`;
        r = {
          data: v.data,
          status: {
            ...r.status,
            status: r.status.status === "ok" ? "error" : r.status.status,
            message: [r.status.message, msg].filter(Boolean).join("; ").slice(0, 500),
          },
        };
      } else r = { ...r, data: v.data };
    }
    opts.onProgress?.(r.status, ++done, COLLECTORS.length);
    return r;
  }));
  deadline.clear();
  opts.signal?.removeEventListener("abort", onOuter);
  const data = Object.fromEntries(COLLECTORS.map((c, i) => [c.name, runs[i]!.data]));
  const collectors = runs.map((r) => r.status);
  const hardware = { ...data } as Omit<Audit["hardware"], "summary">;
  const findings = judge(hardware, collectors, opts.expect?.expect ?? null, Date.parse(collectedAt));
  const summary = summarize(findings);
  const live = machine.kind === "live";
  const doc = {
    schema_version: SCHEMA_VERSION,
    bee: { version: BEE_VERSION, git_commit: gitCommit() },
    host: {
      hostname: clean(
        (await hostText(machine, "/proc/sys/kernel/hostname")) ??
          (live ? sysOr(() => Deno.hostname()) : null),
      ),
      kernel: clean(
        (await hostText(machine, "/proc/sys/kernel/osrelease")) ??
          (live ? sysOr(() => Deno.osRelease()) : null),
      ),
      collected_at: collectedAt,
      duration_ms: Math.round(performance.now() - started),
    },
    hardware: { ...hardware, summary },
    collectors,
    ...(opts.expect ? { expect: expectOutcome(opts.expect.expect, opts.expect.source, findings) } : {}),
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
