// boot: the kernel command line — a network boot's squashfs URL and the unattended acceptance asked for
// (bee.sat=…, bee.sat.<setting>=…, bee.after=…), with every bad value named, so the audit says what the
// machine was told to do before the SATs start.
import type { Collector } from "../../collect/collector.ts";
import { parseBootParams } from "../../parsers/cmdline.ts";
import type { Boot } from "../../model/schema.ts";

export const boot: Collector<Boot> = {
  name: "boot",
  async collect(ctx) {
    const text = await ctx.readText("/proc/cmdline");
    if (text === null) return { cmdline: null, fetch: null, unattended: null, problems: [] };
    const p = parseBootParams(text);
    return {
      cmdline: text.trim().slice(0, 4096),
      fetch: p.fetch?.slice(0, 512) ?? null,
      unattended: p.unattended,
      problems: p.problems.map((l) => l.slice(0, 512)),
    };
  },
};
