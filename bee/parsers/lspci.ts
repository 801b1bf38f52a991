// Parses `lspci -vmm -D` (and `-nvmm -D` for numeric IDs) into one record per PCI function.
import { clean } from "../lib/text.ts";

/** One PCI function as lspci names it. */
export interface LspciEntry {
  address: string;
  class: string | null;
  vendor: string | null;
  device: string | null;
  subsystem_vendor: string | null;
  subsystem_device: string | null;
  revision: string | null;
  driver: string | null;
}

/** Normalises a PCI address to `dddd:bb:dd.f` in lower case (nvidia-smi prints an 8-digit domain). */
export function normalizePciAddress(addr: string): string {
  const m = addr.trim().match(/^(?:([0-9a-f]{4,8}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i);
  if (!m) return addr.trim().toLowerCase();
  const domain = (m[1] ?? "0000").slice(-4).padStart(4, "0");
  return `${domain}:${m[2]}:${m[3]}.${m[4]}`.toLowerCase();
}

/** Parses lspci's machine-readable (-vmm) records, separated by blank lines. */
export function parseLspciVmm(text: string): LspciEntry[] {
  const out: LspciEntry[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const f: Record<string, string> = {};
    for (const line of block.split("\n")) {
      const m = line.match(/^(\w+):\s*(.*)$/);
      if (m) f[m[1]!] = m[2]!;
    }
    if (!f["Slot"]) continue;
    out.push({
      address: normalizePciAddress(f["Slot"]),
      class: clean(f["Class"]),
      vendor: clean(f["Vendor"]),
      device: clean(f["Device"]),
      subsystem_vendor: clean(f["SVendor"]),
      subsystem_device: clean(f["SDevice"]),
      revision: clean(f["Rev"]),
      driver: clean(f["Driver"]),
    });
  }
  return out;
}
