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

/** Thrown when a signal stops the export mid-way (the partial folder is removed first). */
export class ExportAborted extends Error {
  constructor(readonly signal: string) {
    super(`stopped by ${signal}`);
  }
}

/** Whether anything (a file, a folder, a link — dangling or not) is at `path`. */
async function present(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/**
 * The folder name to use under `dest`: `name`, else `name-2`, `name-3`… when an export of the same second
 * is there already (two runs in one second both succeed).
 */
async function freeName(dest: string, name: string): Promise<string> {
  for (let i = 1; i < 100; i++) {
    const n = i === 1 ? name : `${name}-${i}`;
    if (!(await present(`${dest}/${n}`))) return n;
  }
  throw new UserError(
    `${dest}/${name} and 98 more exports of that second exist already; nothing was written`,
  );
}

/**
 * Renames the finished partial folder to the first free name (`name`, `name-2`…). Another export that took
 * the same name meanwhile holds files there, so the rename fails (ENOTEMPTY/EEXIST) and the next name is tried;
 * nothing is ever renamed over a link or a file.
 */
async function land(partial: string, dest: string, name: string): Promise<string> {
  for (let i = 1; i < 100; i++) {
    const final = `${dest}/${i === 1 ? name : `${name}-${i}`}`;
    if (await present(final)) continue;
    try {
      await Deno.rename(partial, final);
      return final;
    } catch (e) {
      if (
        !(e instanceof Deno.errors.AlreadyExists) &&
        !/not empty|os error 39|os error 17|os error 20/i.test(String(e))
      ) {
        throw e;
      }
    }
  }
  throw new Error(`no free name for ${name} under ${dest}`);
}

/**
 * Makes `dir` as a new directory, never through a link: a non-recursive mkdir fails on anything already
 * there (a planted symlink included), and the result is checked to be a real directory where it was asked.
 */
async function makeOwnDir(dir: string): Promise<void> {
  await Deno.mkdir(dir, { mode: 0o755 });
  const st = await Deno.lstat(dir);
  const parent = await Deno.realPath(dir.slice(0, dir.lastIndexOf("/")) || "/");
  if (!st.isDirectory || (await Deno.realPath(dir)) !== `${parent}/${dir.slice(dir.lastIndexOf("/") + 1)}`) {
    throw new Error(`${dir} is not where it was made`);
  }
}

/** Copies `files` into `<dest>/<name>/` (+ MANIFEST.sha256); all or nothing under that name. */
export async function exportTo(
  dest: string,
  files: BundleFile[],
  name: string,
  progress: (line: string) => void = () => {},
  signal?: AbortSignal,
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
  const folder = await freeName(dest, name);
  // this process's own partial folder: another export of the same second never touches it
  const partial = `${dest}/.${folder}.${Deno.pid}.partial`;
  let final = `${dest}/${folder}`;
  let made = false;
  const stop = () => {
    if (signal?.aborted) throw new ExportAborted(String(signal.reason ?? "a signal"));
  };
  try {
    await makeOwnDir(partial);
    made = true;
    await makeOwnDir(`${partial}/sat`);
    const sums: { name: string; sha256: string }[] = [];
    let done = 0;
    for (const f of files) {
      stop();
      progress(`  ${f.name} (${mb(f.size)}) …`);
      sums.push({ name: f.name, sha256: await copyOne(f, `${partial}/${f.name}`, stop) });
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
    stop();
    final = await land(partial, dest, name);
    made = false;
    await exec("sync", ["-f", final], { timeoutMs: 120_000 });
  } catch (e) {
    // only what this run made is removed (never a folder or link that was there before)
    if (made) await Deno.remove(partial, { recursive: true }).catch(() => {});
    if (e instanceof UserError || e instanceof ExportAborted) throw e;
    throw new UserError(`export not written: ${writeProblem(e, dest)}; nothing was left under ${folder}`);
  }
  return { folder: final, files: files.length, bytes: total };
}

/** Copies one file (new file only, never through a link), fsyncs it; its SHA-256. `stop` throws on a signal. */
async function copyOne(f: BundleFile, to: string, stop: () => void): Promise<string> {
  const src = await Deno.open(f.path, { read: true });
  let out: Deno.FsFile;
  try {
    out = await Deno.open(to, { write: true, createNew: true, mode: 0o644 });
  } catch (e) {
    src.close();
    throw e;
  }
  const h = createHash("sha256");
  let copied = 0;
  try {
    const buf = new Uint8Array(1024 * 1024);
    while (true) {
      stop();
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
  return h.digest("hex");
}
