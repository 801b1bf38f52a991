// Parses `ethtool -i IFACE` (driver information): driver, firmware version and the bus address.
import { clean } from "../lib/text.ts";

export interface EthtoolInfo {
  driver: string | null;
  firmware: string | null;
  /** the PCI function, when bus-info is one (`0000:00:03.0`) */
  pci_address: string | null;
}

/** Parses `ethtool -i` output; empty or "N/A" values are null. */
export function parseEthtoolInfo(text: string): EthtoolInfo {
  const f: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([a-z-]+):\s*(.*)$/.exec(line.trim());
    if (m) f[m[1]!] = m[2]!.trim();
  }
  if (!("driver" in f)) throw new Error("no driver: line");
  const val = (v: string | undefined) => (v && !/^(n\/a|none)$/i.test(v) ? clean(v) : null);
  const bus = val(f["bus-info"]);
  return {
    driver: val(f["driver"]),
    firmware: val(f["firmware-version"]),
    pci_address: bus && /^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i.test(bus) ? bus.toLowerCase() : null,
  };
}
