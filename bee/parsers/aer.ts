// Parses a PCIe AER statistics file of sysfs (`aer_dev_correctable`, `aer_dev_nonfatal`, `aer_dev_fatal`,
// or `aer/err_*` on kernels that moved them): `<ErrorName> <count>` lines and a `TOTAL_ERR_*` line.
import { int } from "../lib/text.ts";

/** The total of one AER file: its TOTAL_ERR_* line, else the sum of its counters; null when unreadable. */
export function parseAerTotal(text: string | null): number | null {
  if (text === null) return null;
  let sum = 0, seen = false;
  for (const line of text.split("\n")) {
    const m = line.trim().match(/^(\S+)\s+(\d+)$/);
    if (!m) continue;
    const n = int(m[2]);
    if (n === null) continue;
    if (/^TOTAL_ERR_/.test(m[1]!)) return n;
    sum += n;
    seen = true;
  }
  return seen ? sum : null;
}
