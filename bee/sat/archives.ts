// Lists the acceptance-test archives in the SAT directory and reads single files out of them
// (summary.txt, gpu-metrics.html) by streaming through the gzip'd tar — nothing is unpacked to disk.

import { extractFromTarGz } from "../lib/tar.ts";
import { ARCHIVE_NAME, parseSummary } from "./summary.ts";

export { ARCHIVE_NAME, extractFromTarGz, parseSummary };

/** One archive as the web page lists it. */
export interface SatArchive {
  name: string;
  size: number;
  mtime: Date | null;
  overall_status: string | null;
  summary: Record<string, string> | null;
}

// summaries by (path, size, mtime): after each listing only the archives still there are kept, so the cache
// is as large as the SAT folder and never thrown away whole (it was cleared above 1000 archives, which made
// every listing re-read every summary)
let cache = new Map<string, SatArchive>();
const inFlight = new Map<string, Promise<Record<string, string> | null>>();

/** How often archives were opened (for the tests: cached reads do not count). */
export const archiveReads = { summaries: 0, members: 0 };

/**
 * Decompressed bytes read looking for summary.txt. bee writes it first; archives from before that (or
 * not from bee) are not read to their end to find it — the listing then shows their status as unknown.
 */
export const SUMMARY_SCAN_BYTES = 4 * 1024 * 1024;

/** The summary of one archive, read once per (path, size, mtime) even when many requests ask at once. */
function summaryOf(path: string, key: string): Promise<Record<string, string> | null> {
  let p = inFlight.get(key);
  if (!p) {
    archiveReads.summaries++;
    p = extractFromTarGz(path, "/summary.txt", SUMMARY_SCAN_BYTES)
      .then((raw) => (raw ? parseSummary(new TextDecoder().decode(raw)) : null))
      .finally(() => inFlight.delete(key));
    inFlight.set(key, p);
  }
  return p;
}

/** Archives in `dir`, newest first; a missing directory is an empty list. */
export async function listSatArchives(dir: string): Promise<SatArchive[]> {
  const out: SatArchive[] = [];
  let entries: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(dir)) entries.push(e);
  } catch {
    return [];
  }
  entries = entries.filter((e) => e.isFile && ARCHIVE_NAME.test(e.name));
  const kept = new Map<string, SatArchive>();
  for (const e of entries) {
    const path = `${dir}/${e.name}`;
    let st: Deno.FileInfo;
    try {
      st = await Deno.lstat(path);
    } catch {
      continue;
    }
    if (!st.isFile) continue; // a FIFO or a link is never opened
    const key = `${path}|${st.size}|${st.mtime?.getTime()}`;
    let a = cache.get(key);
    if (!a) {
      const summary = await summaryOf(path, key);
      a = {
        name: e.name,
        size: st.size,
        mtime: st.mtime,
        overall_status: summary?.["overall_status"] ?? null,
        summary,
      };
    }
    kept.set(key, a);
    out.push(a);
  }
  cache = kept;
  return out.sort((x, y) =>
    (y.mtime?.getTime() ?? 0) - (x.mtime?.getTime() ?? 0) || y.name.localeCompare(x.name)
  );
}

/** Largest member the web page extracts (gpu-metrics.html is ~0.5 MiB for 24 h × 8 GPUs). */
export const MEMBER_MAX_BYTES = 32 * 1024 * 1024;
const MEMBER_SCAN_BYTES = 512 * 1024 * 1024;
const MEMBER_CACHE_BYTES = 64 * 1024 * 1024;
const members = new Map<string, Uint8Array | null>();
const membersInFlight = new Map<string, Promise<Uint8Array | null>>();

/**
 * One member of an archive (e.g. `/gpu-metrics.html`), inflated once per (path, size, mtime): parallel
 * requests share one read, later ones are served from a cache of at most 64 MiB (oldest out first).
 */
export async function archiveMember(path: string, suffix: string): Promise<Uint8Array | null> {
  const st = await Deno.lstat(path).catch(() => null);
  if (!st?.isFile) return null;
  const key = `${path}|${st.size}|${st.mtime?.getTime()}|${suffix}`;
  if (members.has(key)) {
    const v = members.get(key)!;
    members.delete(key); // most recently used last
    members.set(key, v);
    return v;
  }
  let p = membersInFlight.get(key);
  if (!p) {
    archiveReads.members++;
    p = extractFromTarGz(path, suffix, MEMBER_SCAN_BYTES, MEMBER_MAX_BYTES).then((v) => {
      members.set(key, v);
      let total = 0;
      for (const x of members.values()) total += x?.length ?? 0;
      for (const [k, x] of members) {
        if (total <= MEMBER_CACHE_BYTES) break;
        members.delete(k);
        total -= x?.length ?? 0;
      }
      return v;
    }).finally(() => membersInFlight.delete(key));
    membersInFlight.set(key, p);
  }
  return await p;
}
