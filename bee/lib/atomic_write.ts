// Writes a file so that readers see either the old or the whole new content: temp file in the
// same directory, fsync, then rename over the target. Only ever over a regular file or nothing: a device
// node (/dev/full), a symlink (/dev/stdout), a FIFO or a directory at the path is refused, never replaced.

/** Why `path` must not be replaced by a rename (it exists and is not a regular file), or null. */
export function notReplaceable(path: string): string | null {
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(path);
  } catch {
    return null; // absent (or unreadable: the write itself will say)
  }
  if (st.isFile) return null;
  const what = st.isSymlink
    ? "a symbolic link"
    : st.isDirectory
    ? "a directory"
    : st.isFifo
    ? "a FIFO"
    : st.isCharDevice || st.isBlockDevice
    ? "a device"
    : st.isSocket
    ? "a socket"
    : "not a regular file";
  return `${path} exists and is ${what}; bee writes only regular files (give another path)`;
}

function refuseOther(path: string): void {
  const why = notReplaceable(path);
  if (why) throw new Error(why);
}

/** Writes `data` to `path` atomically; throws with the OS error if it cannot. */
export async function atomicWrite(path: string, data: string | Uint8Array): Promise<void> {
  refuseOther(path);
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash) || "/" : ".";
  const base = slash >= 0 ? path.slice(slash + 1) : path;
  const tmp = `${dir}/.${base}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
  try {
    let off = 0;
    while (off < bytes.length) off += await file.write(bytes.subarray(off));
    await file.sync();
  } catch (e) {
    file.close();
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  file.close();
  try {
    refuseOther(path);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** fsyncs a finished temp file and renames it over `path` (removing the temp file on failure). */
export async function atomicRename(tmp: string, path: string): Promise<void> {
  try {
    refuseOther(path);
    const f = await Deno.open(tmp, { read: true });
    try {
      await f.sync();
    } finally {
      f.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
