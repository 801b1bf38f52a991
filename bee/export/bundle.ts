// What leaves the machine: the audit and every SAT archive (they live in RAM on a toram boot), with a
// MANIFEST.sha256 that `sha256sum -c` checks on any other machine. Two ways out share this list: the web
// page's one-click bundle (a tar streamed with its length known up front) and `bee export` to a USB stick.
import { createHash } from "node:crypto";
import { ARCHIVE_NAME } from "../sat/summary.ts";
import { tarHeader, tarHeaderLength } from "../lib/tar.ts";
import { archiveTag } from "../lib/names.ts";
import type { Audit } from "../model/schema.ts";

const BLOCK = 512;

/** One file of the bundle: where it is and its name inside the bundle folder. */
export interface BundleFile {
  path: string;
  name: string;
  size: number;
  mtime: number;
}

/** The audit (when it is a regular file) and every archive of the SAT directory (regular files only). */
export async function bundleFiles(auditPath: string, satDir: string): Promise<BundleFile[]> {
  const out: BundleFile[] = [];
  const add = async (path: string, name: string) => {
    const st = await Deno.lstat(path).catch(() => null);
    if (st?.isFile) out.push({ path, name, size: st.size, mtime: st.mtime?.getTime() ?? Date.now() });
  };
  await add(auditPath, "bee-audit.json");
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(satDir)) if (e.isFile && ARCHIVE_NAME.test(e.name)) names.push(e.name);
  } catch { /* no SAT directory: no archives */ }
  for (const n of names.sort()) await add(`${satDir}/${n}`, `sat/${n}`);
  return out;
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");

/** The bundle's folder name: `bee-<serial>-<UTC time>` (the hostname when the serial is unset). */
export function bundleName(audit: Audit | null, now: Date): string {
  return `bee-${
    archiveTag(audit?.hardware.board?.system.serial ?? null, audit?.host.hostname ?? "unknown")
  }-${stamp(now)}`;
}

/** `sha256sum` lines for the files (the manifest's text). */
export function manifestText(sums: { name: string; sha256: string }[]): string {
  return sums.map((s) => `${s.sha256}  ${s.name}\n`).join("");
}

const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/**
 * The bundle as an uncompressed tar (the archives are gzip'd already) streamed file by file, hashing as
 * it goes; MANIFEST.sha256 comes last. Its length is known before the first byte (Content-Length): a
 * file that shrinks or grows while it streams breaks the stream rather than sending a wrong bundle.
 */
export function bundleTar(
  files: BundleFile[],
  top: string,
): { length: number; stream: ReadableStream<Uint8Array> } {
  const manifestLength = files.reduce((n, f) => n + 64 + 2 + new TextEncoder().encode(f.name).length + 1, 0);
  // headers are one block, or more where a long name needs a PAX header (a 62-character serial does)
  const length = tarHeaderLength(`${top}/`) +
    files.reduce((n, f) => n + tarHeaderLength(`${top}/${f.name}`) + padded(f.size), 0) +
    tarHeaderLength(`${top}/MANIFEST.sha256`) + padded(manifestLength) +
    2 * BLOCK;
  const now = Date.now();
  const sums: { name: string; sha256: string }[] = [];
  let i = -1;
  let file: Deno.FsFile | null = null;
  let left = 0;
  let hash: ReturnType<typeof createHash> | null = null;
  let done = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (done) return;
      if (i === -1) {
        c.enqueue(tarHeader(`${top}/`, 0, "5", 0o755, now));
        i = 0;
        return;
      }
      if (file) {
        const buf = new Uint8Array(Math.min(256 * 1024, left));
        const n = left > 0 ? await file.read(buf) : null;
        if (left > 0 && (n === null || n === 0)) {
          file.close();
          throw new Error(`${files[i]!.path} shrank while it was being sent`);
        }
        if (n) {
          const chunk = buf.subarray(0, n);
          hash!.update(chunk);
          left -= n;
          c.enqueue(chunk);
        }
        if (left === 0) {
          // a file that grew is as wrong as one that shrank: the manifest would verify a cut copy
          const more = await file.read(new Uint8Array(1));
          file.close();
          file = null;
          if (more !== null && more > 0) throw new Error(`${files[i]!.path} grew while it was being sent`);
          sums.push({ name: files[i]!.name, sha256: hash!.digest("hex") });
          const pad = padded(files[i]!.size) - files[i]!.size;
          if (pad) c.enqueue(new Uint8Array(pad));
          i++;
        }
        return;
      }
      if (i < files.length) {
        const f = files[i]!;
        file = await Deno.open(f.path, { read: true });
        left = f.size;
        hash = createHash("sha256");
        c.enqueue(tarHeader(`${top}/${f.name}`, f.size, "0", 0o644, f.mtime));
        if (left === 0) {
          file.close();
          file = null;
          sums.push({ name: f.name, sha256: hash.digest("hex") });
          i++;
        }
        return;
      }
      const m = new TextEncoder().encode(manifestText(sums));
      c.enqueue(tarHeader(`${top}/MANIFEST.sha256`, m.length, "0", 0o644, now));
      c.enqueue(m);
      c.enqueue(new Uint8Array(padded(m.length) - m.length + 2 * BLOCK));
      done = true;
      c.close();
    },
    cancel() {
      try {
        file?.close();
      } catch { /* closed */ }
    },
  });
  return { length, stream };
}
