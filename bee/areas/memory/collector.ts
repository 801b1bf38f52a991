// memory: every DIMM slot from `dmidecode -t 17`, MemTotal from /proc/meminfo and EDAC counters.
import { NO_SMBIOS } from "../board/collector.ts";
import type { Collector, CollectorContext } from "../../collect/collector.ts";
import { memorySlotsFromDmi, parseDmidecode } from "../../parsers/dmidecode.ts";
import { parseMeminfo } from "../../parsers/procfs.ts";
import { clean, int } from "../../lib/text.ts";
import type { Memory } from "../../model/schema.ts";

const EDAC_MC = "/sys/devices/system/edac/mc";

/** EDAC memory controllers with their error counts; null when EDAC is absent from sysfs. */
async function edac(ctx: CollectorContext): Promise<Memory["edac"]> {
  const names = await ctx.readDir(EDAC_MC);
  if (names === null) return null;
  const out: NonNullable<Memory["edac"]> = [];
  for (const n of names.filter((n) => /^mc\d+$/.test(n))) {
    const [ce, ue] = await Promise.all([
      ctx.readText(`${EDAC_MC}/${n}/ce_count`),
      ctx.readText(`${EDAC_MC}/${n}/ue_count`),
    ]);
    const dimms = ((await ctx.readDir(`${EDAC_MC}/${n}`)) ?? []).filter((d) => /^(dimm|rank)\d+$/.test(d));
    const perDimm = await Promise.all(dimms.map(async (d) => {
      const base = `${EDAC_MC}/${n}/${d}`;
      const [label, dce, due] = await Promise.all([
        ctx.readText(`${base}/dimm_label`),
        ctx.readText(`${base}/dimm_ce_count`),
        ctx.readText(`${base}/dimm_ue_count`),
      ]);
      return {
        dimm: d,
        label: clean(label),
        ce_count: int(dce),
        ue_count: int(due),
        slot: null as string | null,
      };
    }));
    out.push({
      controller: n,
      ce_count: int(ce),
      ue_count: int(ue),
      ...(perDimm.length ? { dimms: perDimm } : {}),
    });
  }
  return out;
}

export const memory: Collector<Memory> = {
  name: "memory",
  async collect(ctx) {
    const [dmi, meminfo, controllers] = await Promise.all([
      ctx.run("dmidecode", ["-t", "17"]),
      ctx.readText("/proc/meminfo"),
      edac(ctx),
    ]);
    if (dmi.kind === "missing") ctx.note("missing_tool", "dmidecode not found: DIMM slots not read");
    const noTable = dmi.kind === "exited" && dmi.code !== 0 && NO_SMBIOS.test(dmi.stdout + dmi.stderr);
    if (noTable) ctx.note("error", "no SMBIOS/DMI table on this machine");
    const out = dmi.kind === "missing" || noTable ? null : ctx.optional(dmi);
    let slots = out === null ? null : memorySlotsFromDmi(parseDmidecode(out));
    if (slots !== null && slots.length === 0) {
      // a server's SMBIOS lists its DIMM slots; none listed is a firmware/table problem, not "0 slots, fine"
      ctx.note("error", "dmidecode -t 17 listed no memory devices: DIMM slots unknown");
      slots = null;
    }
    if (meminfo === null) ctx.note("error", `cannot read ${ctx.path("/proc/meminfo")}`);
    const total = meminfo === null ? undefined : parseMeminfo(meminfo)["MemTotal"];
    // an EDAC DIMM label that names a slot's locator (e.g. "DIMM_A1" in "CPU0_DIMM_A1") points at that slot
    for (const mc of controllers ?? []) {
      for (const d of mc.dimms ?? []) {
        const hit = (slots ?? []).find((s) =>
          s.locator && d.label && d.label.toLowerCase().includes(s.locator.toLowerCase())
        );
        d.slot = hit?.locator ?? null;
      }
    }
    const dram = slots?.filter((s) => s.installed && s.kind !== "pmem") ?? [];
    const pmem = slots?.filter((s) => s.installed && s.kind === "pmem") ?? [];
    const installed = dram.length ? dram.reduce((sum, s) => sum + (s.size_bytes ?? 0), 0) : null;
    return {
      slots,
      installed_bytes: installed,
      ...(pmem.length ? { pmem_bytes: pmem.reduce((sum, s) => sum + (s.size_bytes ?? 0), 0) } : {}),
      os_total_bytes: total ?? null,
      edac: controllers,
    };
  },
};
