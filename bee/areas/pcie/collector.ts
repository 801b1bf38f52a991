// pcie: every PCI function from `lspci -vmm -D`, with driver, NUMA node and link state from sysfs.
import type { Collector, CollectorContext } from "../../collect/collector.ts";
import { normalizePciAddress, parseLspciVmm } from "../../parsers/lspci.ts";
import { parsePciSysfs, type PciSysfsAttrs } from "../../parsers/pci_sysfs.ts";
import type { PciDevice, Pcie } from "../../model/schema.ts";
import { parseAerTotal } from "../../parsers/aer.ts";

/** AER counters of one function (the kernel's aer_dev_* files, or aer/err_* where it moved them). */
async function aerCounts(ctx: CollectorContext, addr: string): Promise<PciDevice["aer"]> {
  const read = async (old: string, now: string) =>
    parseAerTotal(
      (await ctx.readText(`${PCI}/${addr}/${old}`)) ?? (await ctx.readText(`${PCI}/${addr}/aer/${now}`)),
    );
  const [correctable, nonfatal, fatal] = await Promise.all([
    read("aer_dev_correctable", "err_cor"),
    read("aer_dev_nonfatal", "err_nonfatal"),
    read("aer_dev_fatal", "err_fatal"),
  ]);
  return correctable === null && nonfatal === null && fatal === null
    ? null
    : { correctable, nonfatal, fatal };
}

const PCI = "/sys/bus/pci/devices";
const ATTRS = [
  "class",
  "vendor",
  "device",
  "numa_node",
  "current_link_speed",
  "max_link_speed",
  "current_link_width",
  "max_link_width",
] as const;

async function sysfsAttrs(ctx: CollectorContext, addr: string): Promise<PciSysfsAttrs> {
  const a: PciSysfsAttrs = {};
  await Promise.all(ATTRS.map(async (k) => {
    const v = await ctx.readText(`${PCI}/${addr}/${k}`);
    if (v !== null) a[k] = v.trim();
  }));
  const driver = await ctx.linkName(`${PCI}/${addr}/driver`);
  if (driver) a.driver = driver;
  return a;
}

export const pcie: Collector<Pcie> = {
  name: "pcie",
  async collect(ctx) {
    const r = await ctx.run("lspci", ["-vmm", "-D"]);
    if (r.kind === "missing") ctx.note("missing_tool", "lspci not found: device names not read");
    const text = r.kind === "missing" ? null : ctx.optional(r);
    const named = new Map((text === null ? [] : parseLspciVmm(text)).map((e) => [e.address, e]));
    const inSysfs = (await ctx.readDir(PCI)) ?? [];
    const addrs = [...new Set([...named.keys(), ...inSysfs.map(normalizePciAddress)])].sort();
    const devices: PciDevice[] = await Promise.all(addrs.map(async (addr) => {
      const [s, aer] = [parsePciSysfs(await sysfsAttrs(ctx, addr)), await aerCounts(ctx, addr)];
      const l = named.get(addr);
      return {
        address: addr,
        class: l?.class ?? null,
        class_id: s.class_id,
        vendor: l?.vendor ?? null,
        vendor_id: s.vendor_id,
        device: l?.device ?? null,
        device_id: s.device_id,
        subsystem_vendor: l?.subsystem_vendor ?? null,
        subsystem_device: l?.subsystem_device ?? null,
        revision: l?.revision ?? null,
        driver: s.driver ?? l?.driver ?? null,
        numa_node: s.numa_node,
        current_link_speed: s.current_link_speed,
        max_link_speed: s.max_link_speed,
        current_link_width: s.current_link_width,
        max_link_width: s.max_link_width,
        ...(aer ? { aer } : {}),
      };
    }));
    return { devices };
  },
};
