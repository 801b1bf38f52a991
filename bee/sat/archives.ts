// Lists the acceptance-test archives in the SAT directory and reads single files out of them
// (summary.txt, gpu-metrics.html) by streaming through the gzip'd tar — nothing is unpacked to disk.

import { extractFromTarGz } from "../lib/tar.ts";
import { ARCHIVE_NAME, parseSummary } from "../sat/summary.ts";

export { ARCHIVE_NAME, extractFromTarGz, parseSummary };

/** One archive as the web page lists it. */
export interface SatArchive {
  name: string;
  size: number;
  mtime: Date | null;
  overall_status: string | null;
  summary: Record<string, string> | null;
}

const cache = new Map<string, SatArchive>();
const inFlight = new Map<string, Promise<Record<string, string> | null>>();

/**
 * Decompressed bytes read looking for summary.txt. bee writes it first; archives from before that (or
 * not from bee) are not read to their end to find it — the listing then shows their status as unknown.
 */
export const SUMMARY_SCAN_BYTES = 4 * 1024 * 1024;

/** The summary of one archive, read once per (path, size, mtime) even when many requests ask at once. */
function summaryOf(path: string, key: string): Promise<Record<string, string> | null> {
  let p = inFlight.get(key);
  if (!p) {
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
      if (cache.size > 1000) cache.clear();
      cache.set(key, a);
    }
    out.push(a);
  }
  return out.sort((x, y) =>
    (y.mtime?.getTime() ?? 0) - (x.mtime?.getTime() ?? 0) || y.name.localeCompare(x.name)
  );
}
