// psu: FRU inventory (`ipmitool fru`) and sensor states (`ipmitool sdr elist`); skipped silently when
// the machine has no IPMI device node.
import { type Collector, type CollectorContext, CollectorStop } from "../../collect/collector.ts";
import { parseIpmiFru, parseIpmiSdr } from "../../parsers/ipmitool.ts";
import type { Psu } from "../../model/schema.ts";

const IPMI_NODES = ["/dev/ipmi0", "/dev/ipmi/0", "/dev/ipmidev/0"];

/** Stops the collector (skipped) when the machine has no IPMI device node: no BMC to ask. */
export async function requireIpmi(ctx: CollectorContext): Promise<void> {
  const present = await Promise.all(IPMI_NODES.map((n) => ctx.exists(n)));
  if (!present.some(Boolean)) throw new CollectorStop("skipped", "no IPMI device (/dev/ipmi0)");
}

export const psu: Collector<Psu> = {
  name: "psu",
  async collect(ctx) {
    await requireIpmi(ctx);
    const [fru, sdr] = await Promise.all([
      ctx.run("ipmitool", ["fru"]),
      ctx.run("ipmitool", ["sdr", "elist"]),
    ]);
    if (fru.kind === "missing") throw new CollectorStop("missing_tool", "ipmitool not found");
    const fruText = ctx.optional(fru);
    const sdrText = ctx.optional(sdr);
    return {
      fru: fruText === null ? null : parseIpmiFru(fruText),
      sensors: sdrText === null ? null : parseIpmiSdr(sdrText),
    };
  },
};
