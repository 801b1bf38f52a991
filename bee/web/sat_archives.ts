// Lists the acceptance-test archives in the SAT directory and reads single files out of them
// (summary.txt, gpu-metrics.html) by streaming through the gzip'd tar — nothing is unpacked to disk.

/** One archive as the web page lists it. */
export interface SatArchive {
  name: string;
  size: number;
  mtime: Date | null;
  overall_status: string | null;
  summary: Record<string, string> | null;
}

export const ARCHIVE_NAME = /^bee-sat-[A-Za-z0-9._-]+\.tar\.gz$/;
const MAX_ENTRY = 16 * 1024 * 1024;

function octal(b: Uint8Array): number {
  const s = new TextDecoder().decode(b).replace(/\0.*$/s, "").trim();
  return s ? parseInt(s, 8) : 0;
}

/** Streams a .tar.gz and returns the content of the first entry whose name ends with `suffix`. */
export async function extractFromTarGz(path: string, suffix: string): Promise<Uint8Array | null> {
  const file = await Deno.open(path, { read: true });
  const reader = file.readable.pipeThrough(new DecompressionStream("gzip")).getReader();
  let buf = new Uint8Array(0);
  const need = async (n: number): Promise<boolean> => {
    while (buf.length < n) {
      const { done, value } = await reader.read();
      if (done) return false;
      const next = new Uint8Array(buf.length + value.length);
      next.set(buf);
      next.set(value, buf.length);
      buf = next;
    }
    return true;
  };
  try {
    while (await need(512)) {
      const h = buf.subarray(0, 512);
      if (h.every((x) => x === 0)) return null;
      const dec = new TextDecoder();
      const name = dec.decode(h.subarray(0, 100)).replace(/\0.*$/s, "");
      const prefix = dec.decode(h.subarray(345, 500)).replace(/\0.*$/s, "");
      const full = prefix ? `${prefix}/${name}` : name;
      const size = octal(h.subarray(124, 136));
      const type = String.fromCharCode(h[156] ?? 48);
      const padded = Math.ceil(size / 512) * 512;
      buf = buf.subarray(512);
      if ((type === "0" || type === "\0") && full.endsWith(suffix)) {
        if (size > MAX_ENTRY || !(await need(size))) return null;
        return buf.slice(0, size);
      }
      // skip the entry's data without keeping it
      let skip = padded;
      while (skip > 0) {
        if (buf.length === 0 && !(await need(1))) return null;
        const n = Math.min(skip, buf.length);
        buf = buf.subarray(n);
        skip -= n;
      }
    }
    return null;
  } catch {
    return null; // corrupt or truncated archive
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** Parses `key=value` lines of a SAT summary.txt. */
export function parseSummary(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = line.match(/^([A-Za-z0-9_.-]{1,64})=(.*)$/);
    if (m && Object.keys(out).length < 200) out[m[1]!] = m[2]!.slice(0, 500);
  }
  return out;
}

const cache = new Map<string, SatArchive>();

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
      st = await Deno.stat(path);
    } catch {
      continue;
    }
    const key = `${path}|${st.size}|${st.mtime?.getTime()}`;
    let a = cache.get(key);
    if (!a) {
      const raw = await extractFromTarGz(path, "/summary.txt");
      const summary = raw ? parseSummary(new TextDecoder().decode(raw)) : null;
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
