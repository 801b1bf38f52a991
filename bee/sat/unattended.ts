// Unattended acceptance (`bee sat auto`): the SATs the kernel command line asks for (bee.sat=…), one after
// the other through the same `bee sat <kind>` a person runs (so the same lock, archive and status file), then
// bee.after=poweroff|reboot|stay. Its state is one JSON file in the SAT folder, rewritten whole at every
// step, that the web page, /metrics and tty1 read; the running SAT's live status file sits beside it.
import { z } from "zod";
import { atomicWrite } from "../lib/atomic_write.ts";
import { readValidatedJson } from "../lib/machine.ts";
import { runProc } from "../lib/proc.ts";
import type { BootParams, SatKind } from "../parsers/cmdline.ts";
import { readSatStatus } from "./status.ts";
import { runningSat } from "./runner.ts";

/** The unattended state file and the running SAT's status file, inside the SAT folder (the web may read it). */
export const unattendedFile = (satDir: string) => `${satDir}/unattended.json`;
export const liveStatusFile = (satDir: string) => `${satDir}/running.json`;

const Result = z.object({
  kind: z.enum(["nvidia", "memory", "storage"]),
  /** pending, running, then the SAT's overall status (OK, FAILED, UNSUPPORTED) or "error" (no archive) */
  status: z.string().max(32),
  archive: z.string().max(512).nullable(),
  error: z.string().max(512).nullable(),
  started_at: z.string().max(64).nullable(),
  finished_at: z.string().max(64).nullable(),
});

export const UnattendedStateSchema = z.object({
  state: z.enum(["running", "done"]),
  started_at: z.string().max(64),
  finished_at: z.string().max(64).nullable(),
  after: z.enum(["stay", "poweroff", "reboot"]),
  duration_s: z.number().nullable(),
  settings: z.record(z.string().max(64), z.string().max(200)),
  problems: z.array(z.string().max(512)),
  results: z.array(Result),
});
export type UnattendedState = z.infer<typeof UnattendedStateSchema>;

/** The unattended state, or null (none, unreadable, not a state). */
export async function readUnattended(satDir: string): Promise<UnattendedState | null> {
  return await readValidatedJson(unattendedFile(satDir), UnattendedStateSchema, 1024 * 1024);
}

export interface AutoOptions {
  satDir: string;
  audit: string;
  lock: string;
  /** the bee launcher (bin/bee or /usr/local/bin/bee) */
  bee: string;
  /** one line per step, for the console */
  say: (line: string) => void;
  signal?: AbortSignal;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

/** Waits while another SAT (one started by hand) holds the lock. */
async function waitForLock(o: AutoOptions): Promise<void> {
  let told = false;
  while (!o.signal?.aborted) {
    const held = await runningSat(o.lock);
    if (!held) return;
    if (!told) o.say(`waiting for the running SAT (${held.kind}, pid ${held.pid}) to finish`);
    told = true;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** Runs one `bee sat <kind>` and returns its result from the final status record. */
async function runOne(
  kind: SatKind,
  p: BootParams,
  o: AutoOptions,
): Promise<{ status: string; archive: string | null; error: string | null }> {
  const live = liveStatusFile(o.satDir);
  await Deno.remove(live).catch(() => {});
  const u = p.unattended!;
  const args = [
    o.bee,
    "sat",
    kind,
    "--out",
    o.satDir,
    "--audit",
    o.audit,
    "--status-file",
    live,
    "--lock",
    o.lock,
  ];
  if (kind === "nvidia" && u.duration_s !== null) args.push("--duration", String(u.duration_s));
  const r = await runProc("/bin/sh", args, {
    timeoutMs: 8 * 24 * 3600 * 1000,
    signal: o.signal,
    graceMs: 30 * 60 * 1000,
    env: u.settings,
    stdoutPath: `${o.satDir}/.auto-${kind}.log`,
  });
  const final = await readSatStatus(live);
  if (final?.done && final.archive) {
    return { status: final.overall_status ?? "?", archive: final.archive, error: null };
  }
  const why = final?.error ??
    `bee sat ${kind} ended (${r.kind}${"code" in r ? ` ${r.code}` : ""}) without an archive`;
  return { status: "error", archive: null, error: why.slice(0, 512) };
}

/**
 * Runs the unattended plan of `p` and returns the final state; the caller powers off or reboots after. A
 * machine without bee.sat= gets no state file.
 */
export async function runUnattended(p: BootParams, o: AutoOptions): Promise<UnattendedState | null> {
  const u = p.unattended;
  for (const line of p.problems) o.say(`bad boot parameter: ${line}`);
  if (!u) return null;
  const state: UnattendedState = {
    state: "running",
    started_at: now(),
    finished_at: null,
    after: u.after,
    duration_s: u.duration_s,
    settings: u.settings,
    problems: p.problems,
    results: u.sats.map((kind) => ({
      kind,
      status: "pending",
      archive: null,
      error: null,
      started_at: null,
      finished_at: null,
    })),
  };
  // the state file is for the watchers (tty1, web, fleet): one that cannot be written (a full RAM disk) is
  // said once and the SATs still run — each writes its own archive or says why it could not
  let told = false;
  const save = () =>
    atomicWrite(unattendedFile(o.satDir), JSON.stringify(state, null, 2) + "\n").catch((e) => {
      if (!told) o.say(`cannot write ${unattendedFile(o.satDir)}: ${(e as Error).message}; the SATs go on`);
      told = true;
    });
  await Deno.mkdir(o.satDir, { recursive: true }).catch(() => {});
  await save();
  o.say(`unattended: ${u.sats.join(", ")} then ${u.after}`);
  for (const res of state.results) {
    if (o.signal?.aborted) {
      res.status = "error";
      res.error = "not run: stopped";
      continue;
    }
    await waitForLock(o);
    res.status = "running";
    res.started_at = now();
    await save();
    o.say(`SAT ${res.kind}: started`);
    Object.assign(res, await runOne(res.kind, p, o));
    res.finished_at = now();
    await save();
    o.say(
      `SAT ${res.kind}: ${res.status}${res.archive ? ` ${res.archive}` : ""}${
        res.error ? ` (${res.error})` : ""
      }`,
    );
  }
  state.state = "done";
  state.finished_at = now();
  await save();
  await Deno.remove(liveStatusFile(o.satDir)).catch(() => {});
  return state;
}
