// The kernel command line (/proc/cmdline) → how bee was booted and what it is to do unattended:
//   bee.sat=nvidia,memory,storage   which SATs run after the boot audit (any subset; nvidia, memory, storage order)
//   bee.sat.duration=1h             the NVIDIA SAT's duration (10m, 1h, 8h, 24h, seconds)
//   bee.sat.<setting>=N             each documented BEE_* override (bee.sat.memtester_size_mb=64 → BEE_MEMTESTER_SIZE_MB)
//   bee.after=poweroff|reboot|stay  what the machine does when the SATs are done (default stay)
// Pure: text in, typed data out. A bad value is a problem line and is left out; the rest still stands.
import { parseDuration } from "../lib/duration.ts";
import { overrideInt, SAT_OVERRIDES } from "../lib/overrides.ts";

export const SAT_KINDS = ["nvidia", "memory", "storage"] as const;
export type SatKind = typeof SAT_KINDS[number];
export const AFTER = ["stay", "poweroff", "reboot"] as const;
export type After = typeof AFTER[number];

export interface Unattended {
  sats: SatKind[];
  /** the NVIDIA SAT's duration in seconds; null: its default */
  duration_s: number | null;
  /** BEE_* override → value, each within its documented bounds */
  settings: Record<string, string>;
  after: After;
}

export interface BootParams {
  /** the squashfs URL of a network boot (live-boot fetch=), null when booted from a medium */
  fetch: string | null;
  /** null when no bee.sat= was given */
  unattended: Unattended | null;
  /** one line per bad bee.* parameter (what was given, what is accepted) */
  problems: string[];
}

const MAX_VALUE = 200;
const shown = (s: string) => JSON.stringify(s.slice(0, 60));

/** Splits a command line into key → value (the last one wins; a bare word has value ""). */
function words(cmdline: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const w of cmdline.trim().split(/\s+/).slice(0, 512)) {
    if (!w) continue;
    const i = w.indexOf("=");
    m.set(i < 0 ? w : w.slice(0, i), i < 0 ? "" : w.slice(i + 1, i + 1 + MAX_VALUE));
  }
  return m;
}

function parseSats(v: string, problems: string[]): SatKind[] {
  const asked = v.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const a of asked) {
    if (!(SAT_KINDS as readonly string[]).includes(a)) {
      problems.push(`bee.sat: unknown SAT ${shown(a)} (expected ${SAT_KINDS.join(", ")})`);
    }
  }
  return SAT_KINDS.filter((k) => asked.includes(k));
}

function parseSetting(key: string, v: string, settings: Record<string, string>, problems: string[]): void {
  const env = `BEE_${key.slice("bee.sat.".length).toUpperCase()}`;
  if (!/^BEE_[A-Z0-9_]{1,40}$/.test(env) || !SAT_OVERRIDES.some((o) => o.env === env)) {
    const known = SAT_OVERRIDES.map((o) => `bee.sat.${o.env.slice(4).toLowerCase()}`).join(", ");
    problems.push(`${key.slice(0, 60)}: not a bee setting (expected bee.sat.duration, ${known})`);
    return;
  }
  try {
    overrideInt(env, v);
    settings[env] = v;
  } catch (e) {
    problems.push(`${key}: ${(e as Error).message}`);
  }
}

/** The boot parameters bee reads from a kernel command line. */
export function parseBootParams(cmdline: string): BootParams {
  const w = words(cmdline);
  const problems: string[] = [];
  const settings: Record<string, string> = {};
  let duration: number | null = null;
  let after: After = "stay";
  for (const [k, v] of w) {
    if (k === "bee.sat.duration") {
      duration = parseDuration(v);
      if (duration === null) {
        problems.push(`bee.sat.duration=${shown(v)}: expected 10m, 1h, 8h, 24h or seconds (1 s to 7 days)`);
      }
    } else if (k.startsWith("bee.sat.")) parseSetting(k, v, settings, problems);
    else if (k === "bee.after") {
      if ((AFTER as readonly string[]).includes(v)) after = v as After;
      else problems.push(`bee.after=${shown(v)}: expected poweroff, reboot or stay (staying)`);
    } else if (k.startsWith("bee.") && k !== "bee.sat" && k !== "bee.squashfs_sha256") {
      problems.push(
        `${k.slice(0, 60)}: not a bee parameter (expected bee.sat, bee.sat.<setting>, bee.after)`,
      );
    }
  }
  const satWord = w.get("bee.sat");
  const sats = satWord === undefined ? [] : parseSats(satWord, problems);
  if (satWord !== undefined && !sats.length) {
    problems.push("bee.sat: no known SAT given: nothing runs unattended");
  }
  const fetch = w.get("fetch") || null;
  return {
    fetch,
    unattended: sats.length ? { sats, duration_s: duration, settings, after } : null,
    problems,
  };
}
