// SMART of one device through `smartctl -j -a`, optionally through a controller (`-d megaraid,N`, …): the
// one place the storage collectors ask smartctl for a disk's health.
import type { CollectorContext } from "../../collect/collector.ts";
import { firstLine } from "../../collect/collector.ts";
import { parseSmartctl } from "../../parsers/smartctl.ts";
import type { Smart } from "../../model/schema.ts";

/** A disk's SMART; null when smartctl is missing or could not read it (`quiet`: without a note). */
export async function smartOf(
  ctx: CollectorContext,
  dev: string,
  through: string[] = [],
  quiet = false,
): Promise<Smart | null> {
  const r = await ctx.run("smartctl", ["-j", "-a", ...through, dev], { slow: true });
  if (r.kind === "missing") return null;
  if (r.kind !== "exited") {
    if (!quiet) ctx.optional(r);
    return null;
  }
  try {
    // non-zero exits are bit masks about the disk, not failures of the command
    return parseSmartctl(r.stdout, r.code);
  } catch (e) {
    if (quiet) return null;
    ctx.note("error", `smartctl ${dev}: unreadable output (${(e as Error).message}): ${firstLine(r.stdout)}`);
    return null;
  }
}
