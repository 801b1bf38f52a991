// The SAT summary.txt contract: `key=value` lines, per-job status OK|FAILED|UNSUPPORTED, and the
// overall status derived from them. Pure functions: results in, text out (and back).
import type { Finding } from "../model/schema.ts";

/** The only three values a job or the whole SAT may have. */
export type JobStatus = "OK" | "FAILED" | "UNSUPPORTED";

/** What one job concluded, with the extra key=value facts it wants in the summary. */
export interface JobResult {
  /** summary key prefix: `<name>_status`, `<name>_reason` (lower-case, [a-z0-9_]) */
  name: string;
  status: JobStatus;
  /** why it is not OK (required then); kept to one line */
  reason?: string;
  /** extra facts, written as `<key>=<value>` in insertion order */
  facts?: Record<string, string | number | boolean | null>;
  /** findings in the audit's own type and codes (rows of bee/audit/verdict.ts) */
  findings?: Finding[];
}

/** Archive file names: `bee-sat-<kind>-<serial>-<UTC timestamp>.tar.gz`. */
export const ARCHIVE_NAME = /^bee-sat-[A-Za-z0-9._-]+\.tar\.gz$/;

/** FAILED if any job failed, UNSUPPORTED if every job was (or there were none), else OK. */
export function overallStatus(jobs: JobResult[]): JobStatus {
  if (jobs.some((j) => j.status === "FAILED")) return "FAILED";
  if (jobs.every((j) => j.status === "UNSUPPORTED")) return "UNSUPPORTED";
  return "OK";
}

/** A job/summary key made safe: lower-case letters, digits and underscores. */
export function summaryKey(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 64) || "job";
}

/** One line, printable, bounded: values come from hardware and tools and are untrusted. */
export function summaryValue(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return "";
  // deno-lint-ignore no-control-regex -- control characters are what is being removed
  return String(v).replace(/[\r\n]+/g, " ").replace(/[\x00-\x1f\x7f]/g, "").trim().slice(0, 400);
}

/** The header facts every summary starts with. */
export interface SummaryHeader {
  bee_version: string;
  kind: string;
  host: string;
  system_serial: string | null;
  started_utc: string;
  finished_utc: string;
  [key: string]: string | number | boolean | null;
}

/** Renders summary.txt; `overall_reason` is given when the SAT was aborted or otherwise not OK. */
export function renderSummary(
  header: SummaryHeader,
  jobs: JobResult[],
  overall: { status: JobStatus; reason?: string },
): string {
  const lines: string[] = [];
  const put = (k: string, v: string | number | boolean | null | undefined) =>
    lines.push(`${summaryKey(k)}=${summaryValue(v)}`);
  for (const [k, v] of Object.entries(header)) put(k, v);
  put("overall_status", overall.status);
  if (overall.reason) put("overall_reason", overall.reason);
  put("jobs", jobs.map((j) => summaryKey(j.name)).join(","));
  for (const j of jobs) {
    const name = summaryKey(j.name);
    put(`${name}_status`, j.status);
    if (j.status !== "OK" || j.reason) put(`${name}_reason`, j.reason || "no reason recorded");
    for (const [k, v] of Object.entries(j.facts ?? {})) put(`${name}_${k}`, v);
    const fs = j.findings ?? [];
    if (fs.length) {
      put(`${name}_findings`, fs.map((f) => f.code).join(","));
      fs.slice(0, 10).forEach((f, i) =>
        put(`${name}_finding_${i + 1}`, `${f.severity} ${f.code} ${f.component}: ${f.message} → ${f.action}`)
      );
    }
  }
  return lines.join("\n") + "\n";
}

/** Parses `key=value` lines of a summary.txt (bounded: at most 500 keys, 500 characters a value). */
export function parseSummary(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = line.match(/^([A-Za-z0-9_.-]{1,64})=(.*)$/);
    if (m && Object.keys(out).length < 500) out[m[1]!] = m[2]!.slice(0, 500);
  }
  return out;
}
