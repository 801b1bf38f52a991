// The memory jobs of `bee sat nvidia`: the GPU memory pattern test (bee-gpu-stress --memtest) and the
// bandwidth job (--bandwidth: HBM STREAM, pinned host↔device copies alone and all at once). Folding their
// JSON lines and judging them is pure; the job factories only run the tool.
import type { SatJob } from "../runner.ts";
import type { JobResult } from "../summary.ts";
import type { Gpu } from "../../model/schema.ts";
import type { ProcResult } from "../../lib/proc.ts";
import { finding } from "../../audit/verdict.ts";
import { physicalIndex } from "../gpu_stress.ts";
import { cudaBlocked, judgeMeasured, type NvidiaRun } from "./jobs.ts";
import { identities } from "./measure.ts";
import { judgeHealth } from "../gpu_health.ts";
import { parseNvidiaSmiQ } from "../../parsers/nvidia_smi.ts";
import type { Measurement } from "./figures.ts";
import { MEMTEST_MIN_COVERAGE, PCIE_MIN_SHARE, pcieLinkGbs } from "./references.ts";

export interface MemtestGpu {
  device: number;
  pci_bus_id: string | null;
  bytes: number;
  free_bytes: number;
  coverage: number;
  passes: number;
  errors: number;
  first_error_offset: number;
  last_error_offset: number;
  seconds: number;
}

export interface ToolState<T> {
  results: T[];
  errors: string[];
  end: { status: string; exit_code: number } | null;
}

const num = (v: unknown): number => typeof v === "number" && Number.isFinite(v) ? v : NaN;

/** One line of --memtest or --bandwidth output into the state; returns the event name or null. */
export function foldToolLine<T>(
  s: ToolState<T>,
  line: string,
  event: string,
  take: (o: Record<string, unknown>) => T,
) {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof o !== "object" || o === null) return null;
  if (o.event === event) s.results.push(take(o));
  else if (o.event === "error" && s.errors.length < 50) s.errors.push(String(o.message ?? "").slice(0, 300));
  else if (o.event === "end") s.end = { status: String(o.status ?? ""), exit_code: num(o.exit_code) };
  return typeof o.event === "string" ? o.event : null;
}

export const memtestLine = (o: Record<string, unknown>): MemtestGpu => ({
  device: num(o.device),
  pci_bus_id: typeof o.pci_bus_id === "string" ? o.pci_bus_id.slice(0, 32) : null,
  bytes: num(o.bytes),
  free_bytes: num(o.free_bytes),
  coverage: num(o.coverage),
  passes: num(o.passes),
  errors: num(o.errors),
  first_error_offset: num(o.first_error_offset),
  last_error_offset: num(o.last_error_offset),
  seconds: num(o.seconds),
});

export interface BandwidthFigure {
  device: number;
  figure: string;
  value: number;
}

export const bandwidthLine = (o: Record<string, unknown>): BandwidthFigure => ({
  device: num(o.device),
  figure: String(o.figure ?? "").slice(0, 32),
  value: num(o.value),
});

/** A tool run that did not end cleanly: the reason, or null. */
export function toolProblem(
  proc: ProcResult,
  end: ToolState<unknown>["end"],
  errors: string[],
): string | null {
  if (proc.kind === "missing") return "bee-gpu-stress not found";
  if (proc.kind !== "exited") return `bee-gpu-stress ${proc.kind}`;
  if (errors.length) return errors.slice(0, 3).join("; ");
  if (!end) return `bee-gpu-stress exited ${proc.code} without an end line`;
  return null;
}

const serialOf = (before: Gpu[] | null, gpu: number) => before?.find((g) => g.index === gpu)?.serial ?? null;

/** Judges --memtest: any mismatch FAILs naming the GPU; under 90 % of the free memory covered FAILs too. */
export function judgeMemtest(
  proc: ProcResult,
  s: ToolState<MemtestGpu>,
  selected: number[],
  before: Gpu[] | null,
): JobResult {
  const name = "gpu_memtest";
  const facts: Record<string, string | number | null> = {};
  const problems: string[] = [];
  const findings = [];
  for (const r of s.results) {
    const gpu = physicalIndex(selected, r.device);
    // a result line without its counts (a truncated or foreign tool) is never read as "no errors"
    if (![r.errors, r.coverage, r.bytes].every(Number.isFinite)) {
      problems.push(`GPU ${gpu}: memory test result without its error count, coverage or size`);
      continue;
    }
    facts[`gpu${gpu}_bytes`] = r.bytes;
    facts[`gpu${gpu}_coverage`] = r.coverage;
    facts[`gpu${gpu}_passes`] = r.passes;
    facts[`gpu${gpu}_errors`] = r.errors;
    const serial = serialOf(before, gpu);
    const who = `GPU ${gpu}${serial ? ` (serial ${serial}` : " ("}${serial ? ", " : ""}bus ${
      r.pci_bus_id ?? "?"
    })`;
    if (r.errors > 0) {
      const where = `first at offset 0x${r.first_error_offset.toString(16)}, last at 0x${
        r.last_error_offset.toString(16)
      }`;
      problems.push(`${who}: ${r.errors} memory errors (${where})`);
      findings.push(
        finding(
          "nvidia.memtest_errors",
          `nvidia:${r.pci_bus_id ?? `GPU${gpu}`}`,
          `${r.errors} mismatching words, ${where}`,
        ),
      );
    }
    if (!(r.coverage >= MEMTEST_MIN_COVERAGE)) {
      problems.push(
        `${who}: tested ${(r.coverage * 100).toFixed(0)} % of its free memory, under ${
          MEMTEST_MIN_COVERAGE * 100
        } %`,
      );
    }
  }
  for (const g of selected) {
    if (!s.results.some((r) => physicalIndex(selected, r.device) === g)) {
      problems.push(`GPU ${g}: no memory test result`);
    }
  }
  const tool = toolProblem(proc, s.end, s.errors);
  if (tool) problems.unshift(tool);
  return problems.length
    ? { name, status: "FAILED", reason: problems.slice(0, 6).join("; "), facts, findings }
    : { name, status: "OK", facts, findings };
}

/** The judged figures of --bandwidth, and the GPUs whose host copies say their PCIe link is degraded. */
export function bandwidthFindings(
  figs: BandwidthFigure[],
  selected: number[],
  before: Gpu[] | null,
): { measured: Omit<Measurement, "name" | "serial">[]; linkProblems: string[] } {
  const measured: Omit<Measurement, "name" | "serial">[] = [];
  const linkProblems: string[] = [];
  const map: Record<string, Measurement["figure"]> = {
    hbm_triad_tbs: "hbm_tbs",
    h2d_gbs: "h2d_gbs",
    d2h_gbs: "d2h_gbs",
  };
  for (const f of figs) {
    const gpu = physicalIndex(selected, f.device);
    const figure = map[f.figure];
    if (figure && Number.isFinite(f.value)) measured.push({ gpu, figure, value: f.value });
    if ((f.figure === "h2d_gbs" || f.figure === "d2h_gbs") && Number.isFinite(f.value)) {
      const g = before?.find((x) => x.index === gpu);
      const carries = pcieLinkGbs(g?.pcie_gen_max ?? null, g?.pcie_width_max ?? null);
      if (carries !== null && f.value < carries * PCIE_MIN_SHARE) {
        const now = g?.pcie_width_current != null
          ? ` (now x${g.pcie_width_current}, Gen${g.pcie_gen_current ?? "?"})`
          : "";
        linkProblems.push(
          `GPU ${gpu}: ${f.value.toFixed(1)} GB/s ${
            f.figure === "h2d_gbs" ? "host→device" : "device→host"
          }, ${Math.round(f.value / carries * 100)} % of the ${carries} GB/s its Gen${g!.pcie_gen_max} x${
            g!.pcie_width_max
          } link carries${now}`,
        );
      }
    }
  }
  return { measured, linkProblems };
}

/** Seconds the memory test gets: 15 % of the stress duration, at least 60 s, at most an hour. */
export function memtestSeconds(stressS: number): number {
  return Math.max(60, Math.min(3600, Math.round(stressS * 0.15)));
}

export async function runTool<T>(
  run: NvidiaRun,
  ctx: Parameters<SatJob["run"]>[0],
  file: string,
  args: string[],
  timeoutS: number,
  event: string,
  take: (o: Record<string, unknown>) => T,
  progress: (s: ToolState<T>) => string,
): Promise<{ proc: ProcResult; state: ToolState<T> }> {
  const state: ToolState<T> = { results: [], errors: [], end: null };
  ctx.log(`bee-gpu-stress ${args.join(" ")} with CUDA_VISIBLE_DEVICES=${run.env.CUDA_VISIBLE_DEVICES}`);
  const proc = await ctx.run(file, "bee-gpu-stress", args, {
    timeoutMs: timeoutS * 1000,
    stderrPath: `${ctx.dir}/${file.replace(/\.jsonl$/, "")}.stderr.txt`,
    graceMs: 15_000,
    onLine: (l) => {
      const ev = foldToolLine(state, l, event, take);
      if (ev && ev !== "end") ctx.progress(progress(state));
    },
  });
  return { proc, state };
}

/** bee-gpu-stress --memtest on every selected GPU at once. */
export function memtestJob(run: NvidiaRun): SatJob {
  const seconds = memtestSeconds(run.seconds);
  return {
    name: "gpu_memtest",
    plannedS: seconds + 60,
    describe: `memory patterns over ≥ 90 % of each GPU's free memory for ${seconds} s (walking ones/zeros, ` +
      "address-in-address, seeded random, each as a moving inversion); any mismatch FAILs naming the GPU",
    async run(ctx): Promise<JobResult> {
      const blocked = cudaBlocked(run);
      if (blocked) return { name: "gpu_memtest", status: "UNSUPPORTED", reason: blocked };
      const { proc, state } = await runTool(
        run,
        ctx,
        "gpu-memtest.jsonl",
        ["--memtest", "--seconds", String(seconds)],
        seconds + 600,
        "memtest_result",
        memtestLine,
        (s) => `memory test: ${s.results.length}/${run.selected.length} GPUs done`,
      );
      const result = judgeMemtest(proc, state, run.selected, run.before?.gpus ?? null);
      return await withCountersAfter(run, ctx, result);
    },
  };
}

/**
 * ECC, retired pages and remapped rows read again right after the memory test and compared with the state
 * before the run (gpu_health's rules): HBM that corrects or remaps rows under the patterns fails the test that
 * found it, not only the health check at the end.
 */
async function withCountersAfter(
  run: NvidiaRun,
  ctx: Parameters<SatJob["run"]>[0],
  result: JobResult,
): Promise<JobResult> {
  if (!run.before) return result;
  const r = await ctx.run("nvidia-smi-q-after-memtest.txt", "nvidia-smi", ["-q"], {
    timeoutMs: run.timeoutMs * 2,
  });
  if (r.kind !== "exited" || r.code !== 0) {
    ctx.log(`nvidia-smi -q after the memory test: ${r.kind}; the counters are compared by gpu_health only`);
    return result;
  }
  let health: JobResult;
  try {
    health = judgeHealth(
      run.before,
      parseNvidiaSmiQ(await ctx.read("nvidia-smi-q-after-memtest.txt")),
      run.selected,
    );
  } catch (e) {
    ctx.log(`unreadable nvidia-smi -q after the memory test: ${(e as Error).message}`);
    return result;
  }
  const facts = { ...result.facts };
  for (const [k, v] of Object.entries(health.facts ?? {})) {
    if (/_new$/.test(k)) facts[k.replace(/^gpu(\d+)_/, "gpu$1_memtest_")] = v;
  }
  if (health.status !== "FAILED") return { ...result, facts };
  const why = `after the memory test: ${health.reason ?? "GPU counters changed"}`;
  return {
    ...result,
    status: "FAILED",
    reason: result.status === "FAILED" ? `${result.reason}; ${why}` : why,
    facts,
  };
}

/** bee-gpu-stress --bandwidth: HBM TB/s and host↔device GB/s per GPU, judged as figures and against the link. */
export function bandwidthJob(run: NvidiaRun): SatJob {
  return {
    name: "gpu_bandwidth",
    plannedS: 20 + 10 * run.selected.length,
    describe:
      "STREAM copy/triad on each GPU's memory (best of 10); pinned 256 MiB host↔device copies per GPU " +
      `alone and all at once, against what each GPU's PCIe link carries (FAIL under ${
        PCIE_MIN_SHARE * 100
      } %)`,
    figures: ["hbm_tbs", "h2d_gbs", "d2h_gbs"],
    async run(ctx): Promise<JobResult> {
      const blocked = cudaBlocked(run);
      if (blocked) return { name: "gpu_bandwidth", status: "UNSUPPORTED", reason: blocked };
      const { proc, state } = await runTool(
        run,
        ctx,
        "gpu-bandwidth.jsonl",
        ["--bandwidth"],
        600 + 60 * run.selected.length,
        "bandwidth",
        bandwidthLine,
        (s) => {
          const l = s.results.at(-1);
          return l
            ? `bandwidth GPU${physicalIndex(run.selected, l.device)} ${l.figure} ${l.value.toFixed(2)}`
            : "";
        },
      );
      const facts: Record<string, number> = {};
      for (const f of state.results) {
        facts[`gpu${physicalIndex(run.selected, f.device)}_${f.figure}`] = f.value;
      }
      const before = run.before?.gpus ?? null;
      const { measured, linkProblems } = bandwidthFindings(state.results, run.selected, before);
      const tool = toolProblem(proc, state.end, state.errors);
      const problems = [...(tool ? [tool] : []), ...linkProblems];
      const result: JobResult = problems.length
        ? { name: "gpu_bandwidth", status: "FAILED", reason: problems.join("; ").slice(0, 800), facts }
        : { name: "gpu_bandwidth", status: "OK", facts };
      result.findings = linkProblems.map((p) =>
        finding("nvidia.pcie_bandwidth_low", `nvidia:${p.split(":")[0]}`, p)
      );
      const who = identities(run.names, before);
      const fresh = measured.flatMap((m) => {
        const id = who.get(m.gpu);
        return id ? [{ ...m, ...id }] : [];
      });
      return await judgeMeasured(run, ctx, fresh, result);
    },
  };
}
