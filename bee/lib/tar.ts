// Reads and writes gzip'd ustar archives as streams: SAT archives are written without a `tar` binary
// and read back (by the web page, the TUI and the tests) without unpacking anything to disk.
import { atomicRename } from "./atomic_write.ts";

const BLOCK = 512;
const enc = new TextEncoder();
const dec = new TextDecoder();

function octal(b: Uint8Array): number {
  const s = dec.decode(b).replace(/\0.*$/s, "").trim();
  return s ? parseInt(s, 8) : 0;
}

/** One entry as the reader meets it. */
export interface TarEntry {
  name: string;
  size: number;
  type: "file" | "dir" | "other";
}

/**
 * Streams a .tar.gz and calls `visit` for every entry; when `visit` returns true the entry's content
 * (at most `maxBytes`) is read and handed to `onData`. Stops early when `onData` returns "stop".
 * Returns false when the archive is corrupt or truncated.
 */
export async function readTarGz(
  path: string,
  visit: (e: TarEntry) => boolean,
  onData: (e: TarEntry, data: Uint8Array) => "stop" | void,
  maxBytes = 16 * 1024 * 1024,
  /** stop (returning false) after this many decompressed bytes: a gzip bomb never stalls a reader */
  maxScan = Infinity,
): Promise<boolean> {
  const file = await Deno.open(path, { read: true });
  return await readTarStream(
    file.readable.pipeThrough(new DecompressionStream("gzip")),
    visit,
    onData,
    maxBytes,
    maxScan,
  );
}

/** The same over an uncompressed tar stream (a bee bundle as it arrives over HTTP or from a file). */
export async function readTarStream(
  stream: ReadableStream<Uint8Array>,
  visit: (e: TarEntry) => boolean,
  onData: (e: TarEntry, data: Uint8Array) => "stop" | void,
  maxBytes = 16 * 1024 * 1024,
  maxScan = Infinity,
): Promise<boolean> {
  const reader = stream.getReader();
  // `buf` is a view of the unread bytes inside `store`, which grows geometrically (doubling), so reading
  // a large member costs linear time, not a copy of everything so far per chunk
  let store = new Uint8Array(64 * 1024);
  let buf = store.subarray(0, 0);
  let scanned = 0;
  const need = async (n: number): Promise<boolean> => {
    while (buf.length < n) {
      const { done, value } = await reader.read();
      if (done) return false;
      scanned += value.length;
      if (scanned > maxScan) return false;
      const start = buf.byteOffset - store.byteOffset, len = buf.length;
      if (start + len + value.length > store.length) {
        if (len + value.length > store.length / 2) {
          let cap = store.length;
          while (cap < 2 * (len + value.length)) cap *= 2;
          const next = new Uint8Array(cap);
          next.set(buf);
          store = next;
        } else store.copyWithin(0, start, start + len); // room enough once the read part is dropped
        buf = store.subarray(0, len);
      }
      const at = buf.byteOffset - store.byteOffset;
      store.set(value, at + len);
      buf = store.subarray(at, at + len + value.length);
    }
    return true;
  };
  let paxPath: string | null = null;
  try {
    while (await need(BLOCK)) {
      const h = buf.subarray(0, BLOCK);
      if (h.every((x) => x === 0)) return true;
      const name = dec.decode(h.subarray(0, 100)).replace(/\0.*$/s, "");
      const prefix = dec.decode(h.subarray(345, 500)).replace(/\0.*$/s, "");
      const t = String.fromCharCode(h[156] ?? 48);
      const size = octal(h.subarray(124, 136));
      buf = buf.subarray(BLOCK);
      if (t === "x" && size <= 64 * 1024) {
        // a PAX extended header: its path (if any) names the next entry
        if (!(await need(Math.ceil(size / BLOCK) * BLOCK))) return false;
        paxPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(dec.decode(buf.subarray(0, size)))?.[1] ?? null;
        buf = buf.subarray(Math.ceil(size / BLOCK) * BLOCK);
        continue;
      }
      const entry: TarEntry = {
        name: paxPath ?? (prefix ? `${prefix}/${name}` : name),
        size,
        type: t === "0" || t === "\0" ? "file" : t === "5" ? "dir" : "other",
      };
      paxPath = null;
      let skip = Math.ceil(entry.size / BLOCK) * BLOCK;
      if (entry.type === "file" && entry.size <= maxBytes && visit(entry)) {
        if (!(await need(entry.size))) return false;
        const data = buf.slice(0, entry.size);
        if (onData(entry, data) === "stop") return true;
      }
      while (skip > 0) {
        if (buf.length === 0 && !(await need(1))) return false;
        const n = Math.min(skip, buf.length);
        buf = buf.subarray(n);
        skip -= n;
      }
    }
    return false; // no end-of-archive blocks
  } catch {
    return false;
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** The content of the first file whose name ends with `suffix`, or null (also for corrupt archives). */
export async function extractFromTarGz(
  path: string,
  suffix: string,
  maxScan = Infinity,
  maxBytes = 16 * 1024 * 1024,
): Promise<Uint8Array | null> {
  let found: Uint8Array | null = null;
  try {
    await readTarGz(
      path,
      (e) => e.name.endsWith(suffix),
      (_e, data) => {
        found = data;
        return "stop";
      },
      maxBytes,
      maxScan,
    );
  } catch {
    return null; // vanished or unreadable
  }
  return found;
}

/** Every file of an archive with its content (for tests and small archives). */
export async function readAllTarGz(path: string): Promise<Map<string, Uint8Array> | null> {
  const out = new Map<string, Uint8Array>();
  const ok = await readTarGz(path, () => true, (e, data) => {
    out.set(e.name, data);
  }, 256 * 1024 * 1024);
  return ok ? out : null;
}

function field(h: Uint8Array, at: number, len: number, value: string): void {
  h.set(enc.encode(value).subarray(0, len), at);
}

function octalField(h: Uint8Array, at: number, len: number, n: number): void {
  field(h, at, len, n.toString(8).padStart(len - 1, "0") + "\0");
}

/** The ustar prefix/name split of `name`, or null when it does not fit (base over 100 or prefix over 155 bytes). */
function ustarSplit(name: string): { prefix: string; base: string } | null {
  if (enc.encode(name).length <= 100) return { prefix: "", base: name };
  for (let cut = name.lastIndexOf("/"); cut > 0; cut = name.lastIndexOf("/", cut - 1)) {
    const prefix = name.slice(0, cut), base = name.slice(cut + 1);
    if (enc.encode(base).length > 100) return null; // a shorter prefix only makes the base longer
    if (enc.encode(prefix).length <= 155) return { prefix, base };
  }
  return null;
}

/** One ustar header block for a name that fits (see ustarSplit). */
function ustarBlock(
  prefix: string,
  base: string,
  size: number,
  type: "0" | "5" | "x",
  mode: number,
  mtime: number,
): Uint8Array<ArrayBuffer> {
  const h = new Uint8Array(BLOCK);
  field(h, 0, 100, base);
  octalField(h, 100, 8, mode);
  octalField(h, 108, 8, 0);
  octalField(h, 116, 8, 0);
  octalField(h, 124, 12, size);
  octalField(h, 136, 12, Math.floor(mtime / 1000));
  field(h, 148, 8, "        ");
  field(h, 156, 1, type);
  field(h, 257, 6, "ustar\0");
  field(h, 263, 2, "00");
  field(h, 265, 32, "root");
  field(h, 297, 32, "root");
  field(h, 345, 155, prefix);
  let sum = 0;
  for (const b of h) sum += b;
  field(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

/** A PAX record `LEN key=value\n` (LEN counts itself). */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = enc.encode(body).length + 1;
  while (String(len).length + enc.encode(body).length !== len) len++;
  return `${len}${body}`;
}

/**
 * The header of one entry: a ustar block where the name fits (split into prefix/name at a slash), else a PAX
 * extended header carrying the whole path (POSIX.1-2001, read by GNU tar, bsdtar and bee) followed by a
 * ustar block with a shortened name. Any length of serial or archive name works.
 */
export function tarHeader(
  name: string,
  size: number,
  type: "0" | "5",
  mode: number,
  mtime: number,
): Uint8Array<ArrayBuffer> {
  const fit = ustarSplit(name);
  if (fit) return ustarBlock(fit.prefix, fit.base, size, type, mode, mtime);
  const pax = enc.encode(paxRecord("path", name));
  const out = new Uint8Array(BLOCK + Math.ceil(pax.length / BLOCK) * BLOCK + BLOCK);
  const short = `PaxHeaders/${name.replace(/\/$/, "").split("/").at(-1)!}`.slice(0, 99);
  out.set(ustarBlock("", short, pax.length, "x", 0o644, mtime), 0);
  out.set(pax, BLOCK);
  const tail = name.slice(-99).replace(/^[^/]*\//, "") || name.slice(-99);
  out.set(ustarBlock("", tail, size, type, mode, mtime), out.length - BLOCK);
  return out;
}

/** Bytes `tarHeader` takes for `name` (one block, or more with a PAX header). */
export function tarHeaderLength(name: string): number {
  return tarHeader(name, 0, "0", 0o644, 0).length;
}

/** Files under `dir`, depth first, relative paths; symlinks and special files are skipped. */
async function walk(dir: string, rel = ""): Promise<{ rel: string; isDir: boolean }[]> {
  const names: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(dir + (rel ? `/${rel}` : ""))) names.push(e);
  names.sort((a, b) => a.name.localeCompare(b.name));
  const out: { rel: string; isDir: boolean }[] = [];
  for (const e of names) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) {
      out.push({ rel: r, isDir: true });
      out.push(...await walk(dir, r));
    } else if (e.isFile) out.push({ rel: r, isDir: false });
  }
  return out;
}

/** Writes every byte or throws (a short write on a full disk is an ENOSPC error, never silent). */
export async function writeAll(f: Deno.FsFile, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const n = await f.write(data.subarray(off));
    if (n <= 0) throw new Error("short write: no space left on device?");
    off += n;
  }
}

/** A gzip'd tar being written to a temp file with checked writes; `finish` syncs, verifies and renames. */
class TarGzSink {
  private gz = new CompressionStream("gzip");
  private w = this.gz.writable.getWriter() as WritableStreamDefaultWriter<Uint8Array<ArrayBuffer>>;
  private drained: Promise<void>;
  constructor(private out: Deno.FsFile) {
    const reader = this.gz.readable.getReader();
    this.drained = (async () => {
      while (true) {
        const { done, value } = await reader.read();
        if (done) return;
        await writeAll(this.out, value);
      }
    })();
    this.drained.catch(() => {}); // surfaced by write/close below
  }
  /** `p`, unless writing the file failed first (then that error): a dead drain never leaves us waiting. */
  private guarded(p: Promise<void>): Promise<void> {
    const failed = this.drained.then(() => new Promise<void>(() => {})); // never resolves on success
    return Promise.race([p, failed]);
  }
  async write(b: Uint8Array<ArrayBuffer>): Promise<void> {
    await this.guarded(this.w.write(b));
  }
  async close(): Promise<void> {
    await this.guarded(this.w.close());
    await this.drained;
    await this.out.sync();
  }
  async abort(e: unknown): Promise<void> {
    this.w.abort(e).catch(() => {}); // may never settle once the drain is gone: do not wait for it
    await this.drained.catch(() => {});
  }
}

/** Writes `entries` through `fill` into `outPath`; the archive appears complete and verified, or not at all. */
async function writeArchive(outPath: string, fill: (sink: TarGzSink) => Promise<void>): Promise<void> {
  const tmp = `${outPath}.${Deno.pid}.partial`;
  const out = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o644 });
  const sink = new TarGzSink(out);
  try {
    await fill(sink);
    await sink.write(new Uint8Array(BLOCK * 2));
    await sink.close();
    out.close();
  } catch (e) {
    await sink.abort(e);
    try {
      out.close();
    } catch { /* closed */ }
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  // read it back: a report names only an archive that gunzips and lists to its end
  if (!(await readTarGz(tmp, () => false, () => {}))) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`archive ${outPath} did not verify after writing (disk full or failing?)`);
  }
  await atomicRename(tmp, outPath);
}

/**
 * Packs directory `srcDir` into `outPath` as `<top>/…` (gzip'd ustar), streaming each file; names in
 * `first` go first (a reader finds summary.txt without reading the logs). The archive appears under its
 * final name only when complete and verified (temp file, checked writes, fsync, read back, rename).
 */
export async function writeTarGz(
  outPath: string,
  srcDir: string,
  top: string,
  first: string[] = [],
): Promise<void> {
  const all = await walk(srcDir);
  const rank = (rel: string) => {
    const i = first.indexOf(rel);
    return i < 0 ? first.length : i;
  };
  const files = all.filter((e) => !e.isDir).sort((a, b) => rank(a.rel) - rank(b.rel));
  await writeArchive(outPath, async (w) => {
    const now = Date.now();
    await w.write(tarHeader(`${top}/`, 0, "5", 0o755, now));
    for (const e of all.filter((e) => e.isDir)) {
      await w.write(tarHeader(`${top}/${e.rel}/`, 0, "5", 0o755, now));
    }
    for (const e of files) {
      const path = `${srcDir}/${e.rel}`;
      const st = await Deno.stat(path);
      const f = await Deno.open(path, { read: true });
      let left = st.size; // a file still growing is cut at the size the header promised
      await w.write(tarHeader(`${top}/${e.rel}`, st.size, "0", 0o644, st.mtime?.getTime() ?? now));
      try {
        const chunk = new Uint8Array(64 * 1024);
        while (left > 0) {
          const n = await f.read(chunk.subarray(0, Math.min(chunk.length, left)));
          if (n === null) break;
          await w.write(chunk.slice(0, n));
          left -= n;
        }
      } finally {
        f.close();
      }
      if (left > 0) await w.write(new Uint8Array(left)); // file shrank: keep the archive consistent
      const pad = (BLOCK - (st.size % BLOCK)) % BLOCK;
      if (pad) await w.write(new Uint8Array(pad));
    }
  });
}

/** Packs in-memory files into `outPath` (same guarantees as writeTarGz); long names get PAX headers. */
export async function writeTarGzEntries(
  outPath: string,
  entries: { name: string; data: Uint8Array }[],
  mtime = Date.now(),
): Promise<void> {
  await writeArchive(outPath, async (w) => {
    for (const e of entries) {
      await w.write(tarHeader(e.name, e.data.length, "0", 0o644, mtime));
      await w.write(new Uint8Array(e.data));
      const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
      if (pad) await w.write(new Uint8Array(pad));
    }
  });
}
