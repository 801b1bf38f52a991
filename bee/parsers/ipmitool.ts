// Parses `ipmitool fru` (FRU inventory) and `ipmitool sdr elist` (sensor records with status).
import { clean, int } from "../lib/text.ts";
import type { SdrSensor, SelEvent } from "../model/schema.ts";

/** One FRU device and its `Key : Value` fields. */
export interface FruInfo {
  id: number | null;
  description: string | null;
  fields: Record<string, string>;
}

/** Parses `ipmitool fru print` output. */
export function parseIpmiFru(text: string): FruInfo[] {
  const out: FruInfo[] = [];
  let cur: FruInfo | null = null;
  for (const line of text.split("\n")) {
    const head = line.match(/^FRU Device Description\s*:\s*(.*?)\s*(?:\(ID\s*(\d+)\))?\s*$/);
    if (head) {
      cur = {
        id: head[2] !== undefined ? parseInt(head[2], 10) : null,
        description: clean(head[1]),
        fields: {},
      };
      out.push(cur);
      continue;
    }
    const f = line.match(/^\s+([^:]+?)\s+:\s*(.*)$/);
    if (cur && f && Object.keys(cur.fields).length < 64) {
      const v = clean(f[2]);
      if (v) cur.fields[f[1]!.trim().slice(0, 128)] = v;
    }
  }
  return out;
}

/**
 * FRU devices ipmitool printed a header for but could not read (`Device not present (…)`, `Unknown FRU header`,
 * `Error …`): `ipmitool fru` then exits 1 after printing every other device, which stay usable.
 */
export function unreadableFrus(text: string): string[] {
  const out: string[] = [];
  let cur: string | null = null;
  for (const line of text.split("\n")) {
    const head = line.match(/^FRU Device Description\s*:\s*(.*?)\s*$/);
    if (head) {
      cur = clean(head[1]);
      continue;
    }
    const bad = line.match(
      /^\s*(device not present|unknown fru header|error[^:]*|fru .*(?:failed|error)).*$/i,
    );
    if (cur && bad && out.length < 64) {
      out.push(`${cur}: ${clean(line) ?? "unreadable"}`.slice(0, 256));
      cur = null;
    }
  }
  return out;
}

/** IPMI entity IDs of power supplies (10) and power units (19). */
const POWER_ENTITIES = new Set([10, 19]);
const POWER_NAME = /\b(psu|ps\d|pws|power ?supply|pwr|ps_|p\d+_vin|pin|pout)/i;

/**
 * Parses `ipmitool sdr elist` rows: `name | sensor id | status | entity | reading`. The plain
 * `ipmitool sdr` layout (`name | reading | status`) is accepted too.
 */
export function parseIpmiSdr(text: string): SdrSensor[] {
  const out: SdrSensor[] = [];
  for (const line of text.split("\n")) {
    const cols = line.split("|").map((c) => c.trim());
    if (cols.length < 3 || !cols[0]) continue;
    let sensor: SdrSensor;
    if (cols.length >= 5 || /^[0-9a-f]{2}h$/i.test(cols[1] ?? "")) {
      const entity = clean(cols[3]);
      const entityId = entity ? int(entity.split(".")[0]) : null;
      sensor = {
        name: clean(cols[0]),
        sensor_id: clean(cols[1]),
        status: clean(cols[2])?.toLowerCase() ?? null,
        entity,
        reading: clean(cols[4]),
        is_power: (entityId !== null && POWER_ENTITIES.has(entityId)) || POWER_NAME.test(cols[0]),
      };
    } else {
      sensor = {
        name: clean(cols[0]),
        sensor_id: null,
        status: clean(cols[2])?.toLowerCase() ?? null,
        entity: null,
        reading: clean(cols[1]),
        is_power: POWER_NAME.test(cols[0]),
      };
    }
    out.push(sensor);
  }
  return out;
}

/** `ipmitool mc info`: the BMC's identity and firmware revision. */
export function parseMcInfo(text: string): {
  manufacturer: string | null;
  product: string | null;
  firmware: string | null;
  ipmi_version: string | null;
} {
  const f: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z][^:]*?)\s*:\s*(.*)$/.exec(line);
    if (m && !(m[1]! in f)) f[m[1]!.trim()] = m[2]!.trim();
  }
  if (!("Firmware Revision" in f) && !("IPMI Version" in f)) {
    throw new Error("no Firmware Revision / IPMI Version line");
  }
  // "Unknown (0x0)" / "Unknown" say nothing
  const named = (v: string | undefined) => (v && !/^unknown\b/i.test(v) ? clean(v) : null);
  return {
    manufacturer: named(f["Manufacturer Name"]),
    product: named(f["Product Name"]),
    firmware: clean(f["Firmware Revision"]),
    ipmi_version: clean(f["IPMI Version"]),
  };
}

/** SEL sensor types ipmitool prints before the sensor's name or number (IPMI 2.0 table 42-3), longest first. */
const SEL_SENSOR_TYPES = [
  "System Firmware Progress",
  "System Firmwares",
  "Event Logging Disabled",
  "Critical Interrupt",
  "Drive Slot (Bay)",
  "Drive Slot / Bay",
  "Management Subsystem Health",
  "Physical Security",
  "Platform Security",
  "Platform Alert",
  "Power Supply",
  "Power Unit",
  "Processor",
  "Memory",
  "Temperature",
  "Voltage",
  "Current",
  "Fan",
  "Watchdog2",
  "Watchdog1",
  "System Event",
  "System Boot Initiated",
  "OS Boot",
  "OS Critical Stop",
  "Slot / Connector",
  "Module / Board",
  "Add-in Card",
  "Chassis",
  "Chip Set",
  "Cable / Interconnect",
  "Terminator",
  "Battery",
  "Session Audit",
  "Version Change",
  "FRU State",
  "Button",
  "Microcontroller",
  "LAN",
  "Entity Presence",
  "System ACPI Power State",
  "Boot Error",
  "Other FRU",
  "OEM",
].sort((a, b) => b.length - a.length);

/** Events bee treats as hardware failures (FAIL) and as critical warnings (WARN). */
const SEL_FATAL = [
  /uncorrectable ecc|uncorrectable machine check|memory device disabled|parity error/i,
  /\bierr\b|thermal trip|frb[123]|configuration error|processor .*disabled|machine check exception/i,
  /pci serr|pci perr|bus fatal error|bus uncorrectable error|bus degraded|fatal nmi/i,
  /power supply .*failure|failure detected|power supply ac lost|ac lost|input lost/i,
  /non-recoverable going/i,
];
const SEL_CRITICAL = [
  /critical going (high|low)/i,
  /correctable ecc logging limit reached|correctable ecc|predictive failure/i,
  /log full|log area reset/i,
  /drive fault|in critical array|in failed array/i,
];

/**
 * IPMI's generic severity states (event type 07h), as ipmitool prints them — `Transition to Non-critial from
 * OK` keeps ipmitool's own spelling: non-recoverable is a failure whatever the sensor (a fan, a PSU's
 * temperature, a memory device); critical, non-critical reached from OK and Monitor are warnings; OK,
 * Informational and transitions down from a worse state are not events to act on.
 */
function severityState(e: string): "fatal" | "critical" | "none" | null {
  const m = /^transition to (non-recoverable|critical|non-criti?c?al|ok)\b(?: from (.*))?/i.exec(e);
  if (m) {
    const to = m[1]!.toLowerCase(), from = (m[2] ?? "").toLowerCase();
    if (to === "non-recoverable") return "fatal";
    if (to === "critical") return "critical";
    if (to.startsWith("non-crit")) return from.startsWith("ok") ? "critical" : "none";
    return "none";
  }
  if (/^monitor$/i.test(e)) return "critical";
  if (/^informational$/i.test(e)) return "none";
  return null;
}

/** Whether a SEL event is one the verdict rules count ("fatal", "critical") or neither. */
export function selClass(sensorType: string | null, event: string | null): "fatal" | "critical" | null {
  const e = `${event ?? ""}`;
  if (/^log area reset/i.test(e) || /^(deasserted)$/i.test(e)) return null;
  const generic = severityState(e.split(" | ")[0]!.trim());
  if (generic) return generic === "none" ? null : generic;
  // an operating system's run-time critical stop (a kernel panic) is at least critical
  if (sensorType === "OS Critical Stop" || /run-time critical stop|os critical stop/i.test(e)) {
    return "critical";
  }
  if (/correctable ecc/i.test(e) && !/uncorrectable/i.test(e)) return "critical";
  if (SEL_FATAL.some((r) => r.test(e))) return "fatal";
  if (SEL_CRITICAL.some((r) => r.test(e)) && !/^log area reset/i.test(e)) return "critical";
  if (sensorType === "Power Supply" && /fail/i.test(e)) return "fatal";
  return null;
}

/** Parses `ipmitool sel elist`: `id | date | time | sensor | event | direction [| more]`. */
export function parseSelElist(text: string): SelEvent[] {
  const out: SelEvent[] = [];
  for (const line of text.split("\n")) {
    const cols = line.split("|").map((c) => c.trim());
    if (cols.length < 5 || !/^[0-9a-f]+$/i.test(cols[0] ?? "")) continue;
    const [id, date, time, sensorCol, event, ...rest] = cols;
    const type = SEL_SENSOR_TYPES.find((t) => sensorCol!.toLowerCase().startsWith(t.toLowerCase())) ?? null;
    const sensor = type ? sensorCol!.slice(type.length).trim() || null : sensorCol!;
    const direction = rest.find((r) => /^(asserted|deasserted)$/i.test(r)) ?? null;
    const detail = rest.filter((r) => r !== direction).join(" | ");
    const ev = [event, detail].filter(Boolean).join(" | ");
    const kind = direction && /^deasserted$/i.test(direction) ? null : selClass(type, ev);
    out.push({
      id: clean(id),
      timestamp: clean(`${date} ${time}`.trim()),
      sensor_type: type ?? clean(sensorCol!.split(/\s+#|\s+/)[0]),
      sensor: clean(sensor),
      event: clean(ev),
      direction: clean(direction),
      class: kind,
    });
  }
  return out;
}

/** A SEL timestamp (`MM/DD/YY[YY] HH:MM:SS`, the BMC's clock, read as UTC) as epoch ms; null for Pre-Init and the like. */
export function selTime(ts: string | null): number | null {
  // ipmitool prints MM/DD/YY (1.8.19) or MM/DD/YYYY, the time with or without its zone
  const m = /^(\d{2})\/(\d{2})\/(\d{2}|\d{4}) (\d{2}):(\d{2}):(\d{2})/.exec(ts ?? "");
  if (!m) return null;
  const year = m[3]!.length === 2 ? 2000 + +m[3]! : +m[3]!;
  const t = Date.UTC(year, +m[1]! - 1, +m[2]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isFinite(t) ? t : null;
}
