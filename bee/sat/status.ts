// The contract between `bee sat --status-file F` and whoever watches it (the TUI): one type, written whole
// (atomically) every second by the SAT, read back through one bounded reader. The final record (done: true)
// carries the archive's path, or the error that kept the SAT from producing one — so nothing ever parses
// bee sat's stdout or stderr.
import { z } from "zod";
import { atomicWrite } from "../lib/atomic_write.ts";
import { readValidatedJson } from "../lib/machine.ts";

const GpuLive = z.object({
  gpu: z.number(),
  temperature_c: z.number().nullable(),
  utilization_pct: z.number().nullable(),
  power_w: z.number().nullable(),
  sm_clock_mhz: z.number().nullable(),
});

export const SatStatusSchema = z.object({
  kind: z.string().optional(),
  folder: z.string().optional(),
  elapsed_s: z.number().optional(),
  planned_s: z.number().optional(),
  job: z.string().optional(),
  job_index: z.number().optional(),
  jobs: z.number().optional(),
  detail: z.string().optional(),
  aborting: z.boolean().optional(),
  /** the last record: the SAT has ended */
  done: z.boolean().optional(),
  overall_status: z.string().optional(),
  overall_reason: z.string().nullable().optional(),
  /** the archive written, null when none could be */
  archive: z.string().nullable().optional(),
  /** bee sat's one-line error when it ended without an archive (bad override, SAT lock, full disk…) */
  error: z.string().nullable().optional(),
  /** live figures a job shares (the NVIDIA SAT: the latest metrics row per GPU) */
  metrics: z.array(GpuLive.partial().extend({ gpu: z.number() })).optional(),
}).passthrough();
export type SatStatus = z.infer<typeof SatStatusSchema>;

/** Writes one status record whole; a status file that cannot be written never stops the SAT. */
export async function writeSatStatus(path: string, s: SatStatus): Promise<void> {
  await atomicWrite(path, JSON.stringify(s) + "\n").catch(() => {});
}

/** The latest record, or null (absent, not a regular file, not JSON, not a status). */
export async function readSatStatus(path: string): Promise<SatStatus | null> {
  return await readValidatedJson(path, SatStatusSchema, 4 * 1024 * 1024);
}
