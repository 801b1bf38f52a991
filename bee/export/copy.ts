// Copies the bundle files into a folder on the target (a mounted USB stick, or any directory): checked
// writes, fsync per file, a MANIFEST.sha256, and only then the rename to the folder's real name — so a full
// or read-only stick, or a stick pulled mid-way, never leaves something that looks like a finished export.
import { createHash } from "node:crypto";
import { writeAll } from "../lib/tar.ts";
import { UserError } from "../lib/errors.ts";
import { exec } from "../lib/exec.ts";
import { type BundleFile, manifestText } from "./bundle.ts";

export interface ExportResult {
  folder: string;
  files: number;
  bytes: number;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** Free bytes of the filesystem holding `dir` (`df`), or null when df cannot say. */
export async function freeBytes(dir: string): Promise<number | null> {
  const r = await exec("df", ["-B1", "--output=avail", dir], { timeoutMs: 10_000 });
  if (r.kind !== "exited" || r.code !== 0) return null;
  const n = Number(r.stdout.trim().split("\n").at(-1)?.trim());
  return Number.isFinite(n) ? n : null;
}

/** The OS error behind a failed write, in words an operator acts on. */
export function writeProblem(e: unknown, dest: string): string {
  const m = (e as Error)?.message ?? String(e);
  if (/os error 28|no space left/i.test(m)) return `${dest} is full`;
  if (/os error 30|read-only file system/i.test(m)) {
    return `${dest} is read-only (write-protect switch, or mounted read-only)`;
  }
  if (/os error 5\b|input\/output error/i.test(m)) return `I/O error on ${dest} (stick removed or failing)`;
  if (/os error 13|permission denied/i.test(m)) return `no permission to write to ${dest}`;
  return `${dest}: ${m.split("\n")[0]}`;
}

/** Copies `files` into `<dest>/<name>/` (+ MANIFEST.sha256); all or nothing under that name. */
export async function exportTo(
  dest: string,
  files: BundleFile[],
  name: string,
  progress: (line: string) => void = () => {},
): Promise<ExportResult> {
  const st = await Deno.stat(dest).catch(() => null);
  if (!st?.isDirectory) throw new UserError(`${dest} is not a directory`, 2);
  const total = files.reduce((n, f) => n + f.size, 0);
  const free = await freeBytes(dest);
  // what goes: the files, the manifest and directory blocks (a little slack for the filesystem)
  const need = total + 1024 * 1024;
  if (free !== null && free < need) {
    throw new UserError(
      `not enough space on ${dest}: the export needs ${mb(need)}, ${mb(free)} free; nothing was written`,
    );
  }
  const partial = `${dest}/.${name}.partial`;
  const final = `${dest}/${name}`;
  if (await Deno.stat(final).catch(() => null)) {
    throw new UserError(`${final} exists already; nothing was written`);
  }
  try {
    await Deno.mkdir(`${partial}/sat`, { recursive: true });
    const sums: { name: string; sha256: string }[] = [];
    let done = 0;
    for (const f of files) {
      progress(`  ${f.name} (${mb(f.size)}) …`);
      const src = await Deno.open(f.path, { read: true });
      const out = await Deno.open(`${partial}/${f.name}`, { write: true, createNew: true, mode: 0o644 });
      const h = createHash("sha256");
      let copied = 0;
      try {
        const buf = new Uint8Array(1024 * 1024);
        while (true) {
          const n = await src.read(buf);
          if (n === null) break;
          h.update(buf.subarray(0, n));
          await writeAll(out, buf.subarray(0, n));
          copied += n;
        }
        await out.sync();
      } finally {
        src.close();
        out.close();
      }
      if (copied !== f.size) throw new Error(`${f.path} changed size while it was copied`);
      sums.push({ name: f.name, sha256: h.digest("hex") });
      done += f.size;
      progress(`  ${f.name} done (${Math.round((done / Math.max(total, 1)) * 100)} %)`);
    }
    const m = await Deno.open(`${partial}/MANIFEST.sha256`, { write: true, createNew: true, mode: 0o644 });
    try {
      await writeAll(m, new TextEncoder().encode(manifestText(sums)));
      await m.sync();
    } finally {
      m.close();
    }
    await Deno.rename(partial, final);
    await exec("sync", ["-f", final], { timeoutMs: 120_000 });
  } catch (e) {
    await Deno.remove(partial, { recursive: true }).catch(() => {});
    if (e instanceof UserError) throw e;
    throw new UserError(`export not written: ${writeProblem(e, dest)}; nothing was left under ${name}`);
  }
  return { folder: final, files: files.length, bytes: total };
}
