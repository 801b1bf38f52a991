// psu: FRU inventory (`ipmitool fru`) and sensor states (`ipmitool sdr elist`); skipped silently when
// the machine has no IPMI device node.
import { type Collector, type CollectorContext, CollectorStop } from "../../collect/collector.ts";
import { parseIpmiFru, parseIpmiSdr, unreadableFrus } from "../../parsers/ipmitool.ts";
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
    // many BMCs have a FRU id that cannot be read: ipmitool prints every other device and exits 1 — what it
    // printed is kept and the unreadable ones are named; only an empty answer is the collector's error
    const printed = fru.kind === "exited" && /^FRU Device Description/m.test(fru.stdout) ? fru.stdout : null;
    const fruText = printed ?? ctx.optional(fru);
    const sdrText = ctx.optional(sdr);
    const unreadable = printed ? unreadableFrus(printed) : [];
    return {
      fru: fruText === null ? null : parseIpmiFru(fruText),
      sensors: sdrText === null ? null : parseIpmiSdr(sdrText),
      ...(unreadable.length ? { fru_unreadable: unreadable } : {}),
    };
  },
};
