// Parses `ssacli ctrl all show config` (HPE Smart Array; hpssacli/hpacucli print the same): per controller
// its model, slot and serial, each logical drive's level, size and state, each physical drive's bay
// (port:box:bay), interface, size and state. States are ssacli's words: logical drives OK, Failed, Interim
// Recovery Mode (degraded), Ready for Rebuild, Recovering (n% complete); physical drives OK, Failed,
// Rebuilding, Predictive Failure. A drive's trailing role (", spare") is kept out of its state.
import { clean, sizeBytes } from "../lib/text.ts";
import type { RaidController } from "../model/schema.ts";

const s = (v: string | undefined, max = 64) => (v === undefined ? null : clean(v)?.slice(0, max) ?? null);

/** Every controller of the output, with its drives. */
export function parseSsacliConfig(text: string): RaidController[] {
  const out: RaidController[] = [];
  let cur: RaidController | null = null;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const ctrl = /^(.+?) in Slot (\S+)(?: \(([^)]*)\))?(?:\s+\(sn: ([^)]+)\))?/.exec(line);
    if (ctrl && !/^(logicaldrive|physicaldrive)\b/.test(line)) {
      if (out.length >= 16) break;
      cur = {
        tool: "ssacli",
        id: s(ctrl[2], 8),
        model: s(ctrl[1], 128),
        serial: s(ctrl[4]),
        firmware: null,
        battery: null,
        virtual_drives: [],
        physical_drives: [],
      };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    const ld = /^logicaldrive (\S+) \(([^,]+), (RAID [^,]+), (.+)\)$/.exec(line);
    if (ld && cur.virtual_drives.length < 64) {
      cur.virtual_drives.push({
        id: s(ld[1], 16),
        level: s(ld[3], 16),
        state: s(ld[4], 48),
        size_bytes: sizeBytes(ld[2]),
        name: null,
      });
      continue;
    }
    const pd = /^physicaldrive (\S+) \((?:port [^,]*, )?([^,]+), ([^,]+), ([^,)]+)(?:, [^)]*)?\)$/.exec(line);
    if (pd && cur.physical_drives.length < 256) {
      cur.physical_drives.push({
        slot: s(pd[1], 16),
        device_id: null,
        state: s(pd[4], 32),
        model: null,
        serial: null,
        size_bytes: sizeBytes(pd[3]),
        interface: s(pd[2], 32),
      });
    }
  }
  return out;
}
