// Parses /proc/mdstat (Linux software RAID): each array's state, level, members (failed `(F)`, spare `(S)`),
// the `[n/m] [UU_]` map of raid disks against working ones, and a resync/recovery/reshape in progress.
import { clean, num } from "../lib/text.ts";

export interface MdMember {
  device: string;
  role: number | null;
  failed: boolean;
  spare: boolean;
}

export interface MdArray {
  name: string;
  /** active, inactive, active (auto-read-only)… as the kernel says */
  state: string;
  level: string | null;
  members: MdMember[];
  /** raid disks the array should have, and how many work (`[2/1]`); null for levels without them */
  raid_disks: number | null;
  working_disks: number | null;
  /** the `[UU_]` map: U up, _ missing */
  map: string | null;
  /** a resync, recovery, reshape or check in progress, with its percentage */
  sync: { action: string; percent: number | null } | null;
}

/** Every array of /proc/mdstat. */
export function parseMdstat(text: string): MdArray[] {
  const out: MdArray[] = [];
  let cur: MdArray | null = null;
  for (const line of text.split("\n")) {
    const head = /^(md\S+)\s*:\s*(active(?: \([^)]*\))?|inactive)\s*(.*)$/.exec(line);
    if (head) {
      const words = head[3]!.trim().split(/\s+/).filter(Boolean);
      const level = words[0] && /^(raid\d+|linear|multipath|faulty|container)$/.test(words[0])
        ? words.shift()!
        : null;
      cur = {
        name: clean(head[1]) ?? head[1]!,
        state: head[2]!,
        level,
        members: words.slice(0, 64).map((w) => {
          const m = /^([^\[]+)\[(\d+)\](.*)$/.exec(w);
          return {
            device: (clean(m ? m[1] : w) ?? w).slice(0, 64),
            role: m ? Number(m[2]) : null,
            failed: /\(F\)/.test(w),
            spare: /\(S\)/.test(w),
          };
        }),
        raid_disks: null,
        working_disks: null,
        map: null,
        sync: null,
      };
      if (out.length < 64) out.push(cur);
      continue;
    }
    if (!cur) continue;
    const disks = /\[(\d+)\/(\d+)\]\s*\[([U_]+)\]/.exec(line);
    if (disks) {
      cur.raid_disks = Number(disks[1]);
      cur.working_disks = Number(disks[2]);
      cur.map = disks[3]!.slice(0, 64);
    }
    const sync = /\b(resync|recovery|reshape|check|repair)\s*=\s*([\d.]+)%/.exec(line);
    if (sync) cur.sync = { action: sync[1]!, percent: num(sync[2]) };
    else if (/\b(resync|recovery|reshape)\s*=\s*(DELAYED|PENDING)/.exec(line)) {
      cur.sync = { action: /\b(resync|recovery|reshape)/.exec(line)![1]!, percent: null };
    }
  }
  return out;
}
