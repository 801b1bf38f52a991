// network: interfaces with MAC, link state and speed from /sys/class/net, addresses from `ip -j addr`.
import type { Collector } from "../../collect/collector.ts";
import { parseIpAddr, parseNetSysfs } from "../../parsers/ip.ts";
import type { NetInterface, Network } from "../../model/schema.ts";
import { firstLine } from "../../collect/collector.ts";
import { type EthtoolInfo, parseEthtoolInfo } from "../../parsers/ethtool.ts";

const NET = "/sys/class/net";

export const network: Collector<Network> = {
  name: "network",
  async collect(ctx) {
    const [names, ipr] = await Promise.all([ctx.readDir(NET), ctx.run("ip", ["-j", "addr"])]);
    if (ipr.kind === "missing") ctx.note("missing_tool", "ip not found: addresses not read");
    const ipText = ipr.kind === "missing" ? null : ctx.optional(ipr);
    let addrs: ReturnType<typeof parseIpAddr> | null = null;
    if (ipText !== null) {
      try {
        addrs = parseIpAddr(ipText);
      } catch (e) {
        ctx.note("error", `ip -j addr: ${(e as Error).message}: ${firstLine(ipText)}`);
      }
    }
    const all = new Set([...(names ?? []), ...(addrs?.keys() ?? [])]);
    const interfaces: NetInterface[] = await Promise.all(
      [...all].sort().map(async (name) => {
        const read = async (a: string) => (await ctx.readText(`${NET}/${name}/${a}`))?.trim();
        const [address, operstate, carrier, speed, mtu, physical, driver, devLink] = await Promise.all([
          read("address"),
          read("operstate"),
          read("carrier"),
          read("speed"),
          read("mtu"),
          ctx.exists(`${NET}/${name}/device`),
          ctx.linkName(`${NET}/${name}/device/driver`),
          ctx.linkName(`${NET}/${name}/device`),
        ]);
        // firmware and the PCI function from the driver (virtio's device link names virtioN, not the PCI
        // function; ethtool's bus-info does)
        let eth: EthtoolInfo | null = null;
        if (physical) {
          const r = await ctx.run("ethtool", ["-i", name]);
          const text = r.kind === "missing" ? null : ctx.optional(r);
          if (text !== null) {
            try {
              eth = parseEthtoolInfo(text);
            } catch { /* not every driver answers -i: firmware unknown */ }
          }
        }
        const pciLink = devLink && /^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i.test(devLink)
          ? devLink
          : null;
        const s = parseNetSysfs({ address, operstate, carrier, speed, mtu });
        const a = addrs?.get(name);
        return {
          name: name.slice(0, 64),
          mac: s.mac ?? a?.mac ?? null,
          operstate: s.operstate,
          carrier: s.carrier,
          speed_mbps: s.speed_mbps,
          mtu: s.mtu,
          physical,
          driver,
          ipv4: addrs ? a?.ipv4 ?? [] : null,
          ipv6: addrs ? a?.ipv6 ?? [] : null,
          ...(physical ? { pci_address: eth?.pci_address ?? pciLink, firmware: eth?.firmware ?? null } : {}),
        };
      }),
    );
    return { interfaces };
  },
};
