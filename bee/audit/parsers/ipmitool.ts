// Parses `ipmitool fru` (FRU inventory) and `ipmitool sdr elist` (sensor records with status).
import { clean, int } from "../../lib/text.ts";
import type { SdrSensor } from "../schema.ts";

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
