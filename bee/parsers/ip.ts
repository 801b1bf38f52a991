// Parses `ip -j addr` into addresses per interface, and sysfs net attributes into link facts.
import { clean, int } from "../lib/text.ts";

/** IPv4 and IPv6 addresses (with prefix length) per interface name. */
export function parseIpAddr(
  text: string,
): Map<string, { ipv4: string[]; ipv6: string[]; mac: string | null }> {
  const doc = JSON.parse(text);
  if (!Array.isArray(doc)) throw new Error("ip -j addr: not a JSON array");
  const out = new Map<string, { ipv4: string[]; ipv6: string[]; mac: string | null }>();
  for (const it of doc as Record<string, unknown>[]) {
    const name = clean(it["ifname"]);
    if (!name) continue;
    const entry = { ipv4: [] as string[], ipv6: [] as string[], mac: clean(it["address"]) };
    for (const a of (Array.isArray(it["addr_info"]) ? it["addr_info"] : []) as Record<string, unknown>[]) {
      const local = clean(a["local"]);
      if (!local) continue;
      const cidr = `${local}/${int(a["prefixlen"]) ?? ""}`.slice(0, 64);
      if (a["family"] === "inet") entry.ipv4.push(cidr);
      else if (a["family"] === "inet6") entry.ipv6.push(cidr);
    }
    out.set(name, entry);
  }
  return out;
}

/** Link facts of one /sys/class/net/<if> directory from its attribute texts. */
export function parseNetSysfs(
  a: { address?: string; operstate?: string; carrier?: string; speed?: string; mtu?: string },
) {
  const speed = int(a.speed);
  return {
    mac: clean(a.address),
    operstate: clean(a.operstate),
    carrier: a.carrier === undefined ? null : a.carrier.trim() === "1",
    speed_mbps: speed !== null && speed > 0 ? speed : null,
    mtu: int(a.mtu),
  };
}
