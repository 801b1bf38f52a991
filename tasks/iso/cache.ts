// The build cache's finished images (~/.cache/bee/iso/images/<inputs>.iso): which ones stay.

/**
 * A cached image's time is when a build last made or reused it. Its own mtime is SOURCE_DATE_EPOCH, the same for
 * every build of one commit: pruning by it once removed the image just built before it was published.
 */
export async function markUsed(path: string): Promise<void> {
  const now = new Date();
  // best effort: an image whose time cannot be set is still never pruned while it is the current one
  await Deno.utime(path, now, now).catch(() => {});
}

/** Keeps the `keep` most recently used images of the cache, and always `current`. */
export async function pruneCache(dir: string, keep: number, current: string): Promise<void> {
  const all: { p: string; m: number }[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".iso")) continue;
    const st = await Deno.stat(`${dir}/${e.name}`);
    all.push({ p: `${dir}/${e.name}`, m: st.mtime?.getTime() ?? 0 });
  }
  all.sort((a, b) => b.m - a.m);
  for (const x of all.slice(keep)) if (x.p !== current) await Deno.remove(x.p).catch(() => {});
}
