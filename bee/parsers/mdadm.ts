// Parses `mdadm --detail /dev/mdX` (Linux software RAID): the array's state words (clean, degraded,
// recovering, FAILED, Not Started…), its level, device counts and identity, and its device table — each
// slot's role and state (active sync, spare, faulty, removed, rebuilding) with the member's device path.
// mdadm right-aligns its keys; a forum quote may shift them, so a key is whatever precedes " : ". Also
// `mdadm --examine --scan --verbose`: the arrays the disks' superblocks describe, assembled or not.
import { clean } from "../lib/text.ts";

export interface MdadmMember {
  /** the slot's role in the array (RaidDevice); null for "-" (a spare, a faulty member, not started) */
  role: number | null;
  /** mdadm's state words: "active sync", "removed", "faulty", "spare rebuilding"… */
  state: string;
  device: string | null;
}

export interface MdadmDetail {
  state: string | null;
  level: string | null;
  raid_devices: number | null;
  total_devices: number | null;
  active_devices: number | null;
  working_devices: number | null;
  failed_devices: number | null;
  spare_devices: number | null;
  uuid: string | null;
  name: string | null;
  /** a rebuild's progress ("Rebuild Status : 37% complete"), as a percentage */
  rebuild_percent: number | null;
  members: MdadmMember[];
}

const int = (
  v: string | undefined,
) => (v !== undefined && /^\d{1,9}$/.test(v.trim()) ? Number(v.trim()) : null);

/** The detail of one array; null when the text is not mdadm's detail (e.g. "does not appear to be an md device"). */
export function parseMdadmDetail(text: string): MdadmDetail | null {
  const kv = new Map<string, string>();
  const members: MdadmMember[] = [];
  let table = false;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (/^Number\s+Major\s+Minor\s+RaidDevice/.test(line)) {
      table = true;
      continue;
    }
    if (table) {
      const m = /^(\d+|-)\s+\d+\s+\d+\s+(\d+|-)\s*(.*?)\s*(\/dev\/\S+)?$/.exec(line);
      if (m && members.length < 64) {
        members.push({
          role: m[2] === "-" ? null : Number(m[2]),
          state: (clean(m[3]) ?? "").slice(0, 48),
          device: m[4] ? m[4].slice(0, 64) : null,
        });
      }
      continue;
    }
    const pair = /^([A-Za-z][\w ()'/-]{0,40}?)\s+:\s*(.*)$/.exec(line);
    if (pair && !kv.has(pair[1]!)) kv.set(pair[1]!, pair[2]!);
  }
  if (!kv.has("Raid Level") && !kv.has("State")) return null;
  const g = (k: string) => kv.get(k);
  const s = (k: string, max = 64) => clean(g(k))?.slice(0, max) ?? null;
  const rebuild = /^(\d{1,3})%/.exec(g("Rebuild Status") ?? g("Resync Status") ?? "");
  return {
    state: s("State"),
    level: s("Raid Level", 16),
    raid_devices: int(g("Raid Devices")),
    total_devices: int(g("Total Devices")),
    active_devices: int(g("Active Devices")),
    working_devices: int(g("Working Devices")),
    failed_devices: int(g("Failed Devices")),
    spare_devices: int(g("Spare Devices")),
    uuid: s("UUID", 48),
    name: s("Name"),
    rebuild_percent: rebuild ? Number(rebuild[1]) : null,
    members,
  };
}

/** An md array as its members' superblocks describe it (`mdadm --examine --scan --verbose`), assembled or not. */
export interface MdSuperblockArray {
  /** the name mdadm would give it ("/dev/md/0") */
  device: string;
  level: string | null;
  /** how many members the array has */
  num_devices: number | null;
  metadata: string | null;
  uuid: string | null;
  name: string | null;
  /** the member devices present on this machine */
  devices: string[];
}

/**
 * `mdadm --examine --scan --verbose` (and `--detail --scan --verbose`, the same format): one ARRAY line per
 * array, key=value words, and the members on a following `devices=` line (or the same line).
 */
export function parseMdadmScan(text: string): MdSuperblockArray[] {
  const out: MdSuperblockArray[] = [];
  let cur: MdSuperblockArray | null = null;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const head = /^ARRAY\s+(\S+)(.*)$/.exec(line);
    if (head) {
      if (out.length >= 64) break;
      cur = {
        device: head[1]!.slice(0, 64),
        level: null,
        num_devices: null,
        metadata: null,
        uuid: null,
        name: null,
        devices: [],
      };
      out.push(cur);
    }
    if (!cur) continue;
    for (const [, k, v] of (head ? head[2]! : line).matchAll(/\b([\w-]+)=(\S+)/g)) {
      if (k === "level") cur.level = clean(v)?.slice(0, 16) ?? null;
      else if (k === "num-devices") cur.num_devices = int(v);
      else if (k === "metadata") cur.metadata = clean(v)?.slice(0, 16) ?? null;
      else if (k === "UUID") cur.uuid = clean(v)?.slice(0, 48) ?? null;
      else if (k === "name") cur.name = clean(v)?.slice(0, 64) ?? null;
      else if (k === "devices") {
        cur.devices = v!.split(",").filter((d) => /^\/dev\/[\w/.:-]{1,64}$/.test(d)).slice(0, 64);
      }
    }
  }
  return out;
}
