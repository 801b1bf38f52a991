// bmc: the BMC's identity and firmware (`ipmitool mc info`) and its System Event Log (`ipmitool sel
// elist`, the latest SEL_KEEP entries kept); skipped silently when the machine has no IPMI device node.
import { type Collector, CollectorStop, firstLine } from "../../collect/collector.ts";
import { parseMcInfo, parseSelElist } from "../../parsers/ipmitool.ts";
import type { Bmc } from "../../model/schema.ts";
import { requireIpmi } from "../psu/collector.ts";

/** SEL entries kept in the audit (the newest); the count of all of them is kept too. */
export const SEL_KEEP = 200;

export const bmc: Collector<Bmc> = {
  name: "bmc",
  async collect(ctx) {
    await requireIpmi(ctx);
    const [mc, sel] = await Promise.all([
      ctx.run("ipmitool", ["mc", "info"]),
      ctx.run("ipmitool", ["sel", "elist"], { slow: true }),
    ]);
    if (mc.kind === "missing") throw new CollectorStop("missing_tool", "ipmitool not found");
    const mcText = ctx.optional(mc);
    let info: Bmc["info"] = null;
    if (mcText !== null) {
      try {
        info = parseMcInfo(mcText);
      } catch (e) {
        ctx.note("error", `ipmitool mc info: ${(e as Error).message}: ${firstLine(mcText)}`);
      }
    }
    const selText = ctx.optional(sel);
    let selOut: Bmc["sel"] = null;
    if (selText !== null) {
      const events = parseSelElist(selText);
      if (!events.length && selText.trim() && !/no entries/i.test(selText)) {
        ctx.note("error", `ipmitool sel elist: no entries understood: ${firstLine(selText)}`);
      } else selOut = { entries: events.length, events: events.slice(-SEL_KEEP) };
    }
    return { info, sel: selOut };
  },
};
