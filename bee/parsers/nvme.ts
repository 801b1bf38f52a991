// Parses nvme-cli JSON: `nvme id-ctrl -o json` and `nvme smart-log -o json` (1.x and 2.x key names).
import { clean, int } from "../lib/text.ts";
import { jsonObject, num, o } from "./json.ts";
import type { NvmeHealth } from "../model/schema.ts";
import type { SelfTestState } from "./smartctl.ts";

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

// ---- self-test state and SMART reachability, read by `bee sat storage` ----

const NVME_RESULTS: Record<number, string> = {
  0: "completed without error",
  1: "aborted by a Device Self-test command",
  2: "aborted by a controller reset",
  3: "aborted by a namespace removal",
  4: "aborted by a Format NVM command",
  5: "fatal or unknown test error",
  6: "completed with a failed segment (unknown which)",
  7: "completed with one or more failed segments",
  8: "aborted for unknown reason",
  9: "aborted by a sanitize operation",
};

/** NVMe: `nvme self-test-log DEV -o json` (nvme-cli) → running, or the newest result. */
export function nvmeSelfTest(text: string): SelfTestState | null {
  const doc = jsonObject(text);
  if (!doc) return null;
  const op = num(doc["Current Device Self-Test Operation"]);
  if (op === null) return null;
  if (op !== 0) {
    const done = num(doc["Current Device Self-Test Completion"]);
    return { running: true, remainingPct: done === null ? null : 100 - done };
  }
  const list = doc["List of Valid Reports"];
  const newest = Array.isArray(list) ? o(list[0]) : {};
  const res = num(newest["Self test result"]);
  if (res === null || res === 0xf) {
    return { running: false, passed: null, text: "no self-test result in the log" };
  }
  const passed = res === 0 ? true : res >= 5 && res <= 7 ? false : null;
  return { running: false, passed, text: NVME_RESULTS[res] ?? `result code ${res}` };
}

/** Optional Admin Command Support bit 4: the controller implements Device Self-test. */
export function nvmeSupportsSelfTest(idCtrlJson: string): boolean {
  const oacs = num(jsonObject(idCtrlJson)?.["oacs"]);
  return oacs !== null && (oacs & 0x10) !== 0;
}
