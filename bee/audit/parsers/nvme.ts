// Parses nvme-cli JSON: `nvme id-ctrl -o json` and `nvme smart-log -o json` (1.x and 2.x key names).
import { clean, int } from "../../lib/text.ts";
import type { NvmeHealth } from "../schema.ts";

type Json = Record<string, unknown>;

function parseObject(text: string, what: string): Json {
  const doc = JSON.parse(text);
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new Error(`${what}: not a JSON object`);
  return doc as Json;
}

/** Kelvin (as NVMe reports temperatures) to Celsius; 0 means "not reported". */
function kelvinToC(k: number | null): number | null {
  return k === null || k <= 0 ? null : k - 273;
}

/** Identity of one controller from `nvme id-ctrl -o json`. */
export interface NvmeIdCtrl {
  model: string | null;
  serial: string | null;
  firmware: string | null;
  pci_vendor_id: number | null;
  warning_temp_c: number | null;
  critical_temp_c: number | null;
}

/** Parses `nvme id-ctrl -o json`. */
export function parseNvmeIdCtrl(text: string): NvmeIdCtrl {
  const d = parseObject(text, "nvme id-ctrl");
  return {
    model: clean(d["mn"]),
    serial: clean(d["sn"]),
    firmware: clean(d["fr"]),
    pci_vendor_id: int(d["vid"]),
    warning_temp_c: kelvinToC(int(d["wctemp"])),
    critical_temp_c: kelvinToC(int(d["cctemp"])),
  };
}

/** Parses `nvme smart-log -o json`; numbers may come as strings (nvme-cli 2.x). */
export function parseNvmeSmartLog(text: string): NvmeHealth {
  const d = parseObject(text, "nvme smart-log");
  if (!("critical_warning" in d)) throw new Error("nvme smart-log: no critical_warning field");
  // nvme-cli 2.11+ prints some fields as objects ({"value": 4, "available_spare": 1, …}): read the value
  const value = (
    v: unknown,
  ) => (v !== null && typeof v === "object" && "value" in v ? (v as { value: unknown }).value : v);
  const pick = (...keys: string[]) => {
    for (const k of keys) if (k in d) return int(value(d[k]));
    return null;
  };
  return {
    critical_warning: pick("critical_warning"),
    temperature_c: kelvinToC(pick("temperature")),
    available_spare: pick("avail_spare", "available_spare"),
    available_spare_threshold: pick("spare_thresh", "available_spare_threshold"),
    percentage_used: pick("percent_used", "percentage_used"),
    media_errors: pick("media_errors"),
    num_err_log_entries: pick("num_err_log_entries"),
    power_on_hours: pick("power_on_hours"),
    unsafe_shutdowns: pick("unsafe_shutdowns"),
  };
}
