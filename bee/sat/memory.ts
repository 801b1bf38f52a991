// `bee sat memory`: memtester over the free memory minus a reserve the kernel needs, one pass by
// default. FAILED on any FAILURE line or a non-zero exit; UNSUPPORTED only when memtester is absent.
import { parseMeminfo } from "../parsers/procfs.ts";
import { overrideInt } from "../lib/overrides.ts";
import type { SatPlan } from "./runner.ts";
import type { JobResult } from "./summary.ts";

const MiB = 1024 * 1024;

/**
 * memtester size in MiB: MemFree minus max(min_free_kbytes + 10 MiB, 0.77 % of MemTotal), so the
 * kernel keeps its watermark and the test does not push the machine into the OOM killer.
 */
export function memtesterSizeMb(meminfo: Record<string, number>, minFreeKbytes: number | null): number {
  const free = meminfo["MemFree"] ?? 0;
  const total = meminfo["MemTotal"] ?? 0;
  const reserve = Math.max((minFreeKbytes ?? 0) * 1024 + 10 * MiB, total * 0.0077);
  return Math.max(0, Math.floor((free - reserve) / MiB));
}

/** What memtester said: FAILURE lines (backspace progress removed) and whether it locked memory. */
export interface MemtesterReport {
  failures: string[];
  locked: boolean | null;
  loopsDone: number;
}

/** Parses memtester output (its progress spinners use backspaces; they are dropped). */
export function parseMemtester(text: string): MemtesterReport {
  // deno-lint-ignore no-control-regex -- control characters are what is being removed
  const clean = text.replace(/.\x08/g, "").replace(/\x08/g, "");
  const failures = clean.split("\n").filter((l) => /FAILURE/.test(l)).map((l) => l.trim().slice(0, 200));
  const locked = /trying mlock \.\.\.locked/.test(clean)
    ? true
    : /mlock|unable to lock/i.test(clean)
    ? false
    : null;
  const loopsDone = (clean.match(/^Loop \d+/gm) ?? []).length;
  return { failures: failures.slice(0, 100), locked, loopsDone };
}

export interface MemorySatOptions {
  env: Record<string, string | undefined>;
  /** directory standing for / (tests) */
  root?: string;
}

/** Seconds one MiB takes for one memtester pass (measured: 16 MiB in 2.3 s on a 2-core VM). */
const SECONDS_PER_MIB_PASS = 0.15;

/** Plans `bee sat memory` (size and passes from /proc and the overrides). */
export async function planMemory(opts: MemorySatOptions): Promise<SatPlan> {
  const root = (opts.root ?? "/").replace(/\/$/, "");
  const facts: Record<string, string | number | null> = {};
  let sizeMb: number;
  const envSize = opts.env["BEE_MEMTESTER_SIZE_MB"];
  if (envSize !== undefined) {
    sizeMb = overrideInt("BEE_MEMTESTER_SIZE_MB", envSize)!;
    facts["size_mb_source"] = "BEE_MEMTESTER_SIZE_MB";
  } else {
    const meminfo = parseMeminfo(await Deno.readTextFile(`${root}/proc/meminfo`).catch(() => ""));
    const minFree = Number(
      (await Deno.readTextFile(`${root}/proc/sys/vm/min_free_kbytes`).catch(() => "")).trim(),
    );
    sizeMb = memtesterSizeMb(meminfo, Number.isFinite(minFree) && minFree > 0 ? minFree : null);
    facts["size_mb_source"] = "MemFree minus reserve";
    facts["mem_free_mb"] = Math.floor((meminfo["MemFree"] ?? 0) / MiB);
  }
  let passes = 1;
  const envPasses = opts.env["BEE_MEMTESTER_PASSES"];
  if (envPasses !== undefined) {
    passes = overrideInt("BEE_MEMTESTER_PASSES", envPasses)!;
    facts["passes_source"] = "BEE_MEMTESTER_PASSES";
  }
  facts["size_mb"] = sizeMb;
  facts["passes"] = passes;
  const planned = Math.ceil(sizeMb * passes * SECONDS_PER_MIB_PASS);
  return {
    kind: "memory",
    facts,
    jobs: [{
      name: "memtester",
      plannedS: planned,
      async run(ctx): Promise<JobResult> {
        if (sizeMb < 1) return { name: "memtester", status: "FAILED", reason: "no free memory left to test" };
        ctx.progress(`memtester ${sizeMb}M × ${passes}`);
        const r = await ctx.run("memtester.log", "memtester", [`${sizeMb}M`, String(passes)], {
          timeoutMs: (planned * 4 + 600) * 1000,
        });
        const rep = parseMemtester(await ctx.read("memtester.log"));
        const facts = { failures: rep.failures.length, memory_locked: rep.locked, loops: rep.loopsDone };
        if (r.kind === "missing") {
          return { name: "memtester", status: "UNSUPPORTED", reason: "memtester not found" };
        }
        if (r.kind === "denied") return { name: "memtester", status: "FAILED", reason: r.message, facts };
        if (r.kind === "aborted") return { name: "memtester", status: "FAILED", reason: "aborted", facts };
        if (r.kind === "timeout") return { name: "memtester", status: "FAILED", reason: "timeout", facts };
        if (rep.failures.length) {
          return {
            name: "memtester",
            status: "FAILED",
            reason: `${rep.failures.length} failures: ${rep.failures[0]}`,
            facts,
          };
        }
        if (r.signal) {
          return { name: "memtester", status: "FAILED", reason: `memtester killed by ${r.signal}`, facts };
        }
        if (r.code !== 0) {
          return { name: "memtester", status: "FAILED", reason: `memtester exit status ${r.code}`, facts };
        }
        if (rep.loopsDone < passes) {
          return {
            name: "memtester",
            status: "FAILED",
            reason: `only ${rep.loopsDone} of ${passes} passes ran`,
            facts,
          };
        }
        return { name: "memtester", status: "OK", facts };
      },
    }],
  };
}
