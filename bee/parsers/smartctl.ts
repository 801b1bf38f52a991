// Parses `smartctl -j` output (ATA, SCSI/SAS and NVMe) and decodes its exit-status bits.
import { clean, int } from "../lib/text.ts";
import { jsonObject, num, o, str } from "./json.ts";
import type { NvmeHealth, Smart } from "../model/schema.ts";

/** Meaning of each smartctl exit-status bit (smartctl(8), "RETURN VALUES"). */
export const SMARTCTL_EXIT_BITS: Record<number, string> = {
  0: "command line did not parse",
  1: "device open failed or device did not return an IDENTIFY response",
  2: "some SMART or other ATA command to the disk failed",
  3: "SMART status check returned DISK FAILING",
  4: "prefail attributes at or below threshold",
  5: "SMART status OK but usage/age attributes at or below threshold in the past",
  6: "device error log contains records of errors",
  7: "device self-test log contains records of errors",
};

/** The set bits of a smartctl exit status, lowest first. */
export function exitBits(status: number): number[] {
  const bits: number[] = [];
  for (let b = 0; b < 8; b++) if (status & (1 << b)) bits.push(b);
  return bits;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | null => (v && typeof v === "object" && !Array.isArray(v) ? v as Json : null);

function attrRaw(table: Json[], id: number): number | null {
  const a = table.find((t) => t["id"] === id);
  if (!a) return null;
  return int(obj(a["raw"])?.["value"]);
}

/** NVMe health from smartctl's `nvme_smart_health_information_log`. */
function nvmeFromSmartctl(log: Json): NvmeHealth {
  return {
    critical_warning: int(log["critical_warning"]),
    temperature_c: int(log["temperature"]),
    available_spare: int(log["available_spare"]),
    available_spare_threshold: int(log["available_spare_threshold"]),
    percentage_used: int(log["percentage_used"]),
    media_errors: int(log["media_errors"]),
    num_err_log_entries: int(log["num_err_log_entries"]),
    power_on_hours: int(log["power_on_hours"]),
    unsafe_shutdowns: int(log["unsafe_shutdowns"]),
  };
}

/**
 * Parses one `smartctl -j -a|-x DEV` document. `exitCode` is the process exit status (the JSON's
 * own `smartctl.exit_status` is used when present). Throws when the text is not smartctl JSON.
 */
export function parseSmartctl(text: string, exitCode: number | null = null): Smart {
  const doc = JSON.parse(text) as Json;
  const meta = obj(doc["smartctl"]);
  if (!meta) throw new Error("not smartctl JSON (no smartctl block)");
  const status = int(meta["exit_status"]) ?? exitCode;
  const bits = status === null ? [] : exitBits(status);
  const messages = Array.isArray(meta["messages"])
    ? (meta["messages"] as Json[]).map((m) => clean(m["string"])).filter((s): s is string => !!s)
    : [];
  const device = obj(doc["device"]);
  const smartStatus = obj(doc["smart_status"]);
  // bits 0 and 1: smartctl could not talk to the device at all (virtual disk, hidden by a bridge)
  const available = !(bits.includes(0) || bits.includes(1)) &&
    (smartStatus !== null || doc["nvme_smart_health_information_log"] !== undefined ||
      doc["ata_smart_attributes"] !== undefined || doc["scsi_grown_defect_list"] !== undefined);
  const table = (obj(doc["ata_smart_attributes"])?.["table"] as Json[] | undefined) ?? [];
  const errLog = obj(doc["scsi_error_counter_log"]);
  const nvmeLog = obj(doc["nvme_smart_health_information_log"]);
  return {
    available,
    message: messages.length ? messages.join("; ").slice(0, 500) : null,
    exit_status: status,
    exit_bits: bits,
    protocol: clean(device?.["protocol"]),
    model: clean(doc["model_name"] ?? doc["scsi_model_name"]),
    serial: clean(doc["serial_number"]),
    firmware: clean(doc["firmware_version"] ?? doc["revision"]),
    passed: typeof smartStatus?.["passed"] === "boolean" ? smartStatus["passed"] as boolean : null,
    temperature_c: int(obj(doc["temperature"])?.["current"]),
    power_on_hours: int(obj(doc["power_on_time"])?.["hours"]),
    reallocated_sectors: attrRaw(table, 5),
    pending_sectors: attrRaw(table, 197),
    offline_uncorrectable: attrRaw(table, 198),
    grown_defects: int(doc["scsi_grown_defect_list"]),
    uncorrected_read_errors: int(obj(errLog?.["read"])?.["total_uncorrected_errors"]),
    uncorrected_write_errors: int(obj(errLog?.["write"])?.["total_uncorrected_errors"]),
    nvme_health: nvmeLog ? nvmeFromSmartctl(nvmeLog) : null,
  };
}

// ---- self-test state and SMART reachability, read by `bee sat storage` ----

/** What one `smartctl -x -j` says about reaching SMART and running a self-test. */
export interface SmartAccess {
  /** null when SMART is readable; else why not (smartctl's own words) */
  unsupported: string | null;
  protocol: "ata" | "scsi" | "nvme" | null;
  passed: boolean | null;
  selfTest: boolean;
  pollingMinutes: number | null;
}

/** Reads SMART reachability from `smartctl -x -j` output and its exit status. */
export function smartAccess(text: string, exitCode: number | null): SmartAccess {
  const doc = jsonObject(text);
  const none = (why: string): SmartAccess => ({
    unsupported: why,
    protocol: null,
    passed: null,
    selfTest: false,
    pollingMinutes: null,
  });
  if (!doc) return none(`smartctl printed no JSON (exit ${exitCode ?? "?"})`);
  const meta = o(doc["smartctl"]);
  const msgs = Array.isArray(meta["messages"])
    ? (meta["messages"] as Json[]).map((m) => str(m["string"]))
    : [];
  const status = num(meta["exit_status"]) ?? exitCode ?? 0;
  const proto = str(o(doc["device"])["protocol"])?.toLowerCase();
  if (status & 0b10 || !proto) {
    return none(`smartctl: ${msgs.filter(Boolean).join("; ") || "device open failed"}`);
  }
  const support = o(doc["smart_support"]);
  if (support["available"] === false) return none("SMART not available on this device");
  if (support["enabled"] === false) return none("SMART is disabled on this device");
  const passed = typeof o(doc["smart_status"])["passed"] === "boolean"
    ? o(doc["smart_status"])["passed"] as boolean
    : null;
  if (proto === "ata") {
    const sd = o(doc["ata_smart_data"]);
    return {
      unsupported: null,
      protocol: "ata",
      passed,
      selfTest: o(sd["capabilities"])["self_tests_supported"] === true,
      pollingMinutes: num(o(o(sd["self_test"])["polling_minutes"])["short"]),
    };
  }
  if (proto === "scsi") {
    return { unsupported: null, protocol: "scsi", passed, selfTest: true, pollingMinutes: null };
  }
  if (proto === "nvme") {
    return { unsupported: null, protocol: "nvme", passed, selfTest: false, pollingMinutes: null };
  }
  return none(`unknown protocol ${proto}`);
}

/** A self-test's state: running (with % remaining), or finished with its verdict. */
export type SelfTestState =
  | { running: true; remainingPct: number | null }
  | { running: false; passed: boolean | null; text: string };

/** ATA: `smartctl -j -c` (or -a/-x) → is a self-test running; `-l selftest` → newest log entry. */
export function ataSelfTest(text: string): SelfTestState | null {
  const doc = jsonObject(text);
  if (!doc) return null;
  const st = o(o(o(doc["ata_smart_data"])["self_test"])["status"]);
  const v = num(st["value"]);
  if (v !== null && v >> 4 === 0xf) {
    return { running: true, remainingPct: num(st["remaining_percent"]) ?? (v & 0xf) * 10 };
  }
  const table = o(o(doc["ata_smart_self_test_log"])["standard"])["table"];
  const newest = Array.isArray(table) ? o(table[0]) : null;
  if (newest && Object.keys(newest).length) {
    const status = o(newest["status"]);
    const passed = typeof status["passed"] === "boolean" ? status["passed"] as boolean : null;
    return {
      running: false,
      passed,
      text: `${str(o(newest["type"])["string"]) ?? "self-test"}: ${str(status["string"]) ?? "?"}`,
    };
  }
  if (v !== null) {
    return {
      running: false,
      passed: v === 0 ? true : v >> 4 <= 2 ? null : false,
      text: str(st["string"]) ?? "",
    };
  }
  return null;
}

/** SCSI/SAS: `smartctl -j -l selftest` → newest entry (result 15 = in progress). */
export function scsiSelfTest(text: string): SelfTestState | null {
  const doc = jsonObject(text);
  const e = o(doc?.["scsi_self_test_0"]);
  const r = o(e["result"]);
  const v = num(r["value"]);
  if (v === null) return null;
  if (v === 15) return { running: true, remainingPct: null };
  return {
    running: false,
    passed: v === 0,
    text: `${str(o(e["code"])["string"]) ?? "self-test"}: ${str(r["string"]) ?? v}`,
  };
}

/** One line of `smartctl --scan-open`: the device name, its `-d` type and smartctl's description. */
export interface ScannedDevice {
  name: string;
  type: string;
  info: string;
}

/** `smartctl --scan-open` ("/dev/bus/0 -d megaraid,8 # /dev/bus/0 [megaraid_disk_08], SCSI device"). */
export function parseSmartctlScan(text: string): ScannedDevice[] {
  const out: ScannedDevice[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\/dev\/[\w/.-]{1,48}) -d (\S{1,32})(?: # (.*))?$/.exec(line.trim());
    if (m && out.length < 512) out.push({ name: m[1]!, type: m[2]!, info: (m[3] ?? "").slice(0, 128) });
  }
  return out;
}
