// Parses `ssacli ctrl all show config [detail]` (HPE Smart Array; hpssacli/hpacucli print the same): per
// controller its model, slot and serial, each logical drive's level, size and state, each physical drive's bay
// (port:box:bay), interface, size and state. States are ssacli's words: logical drives OK, Failed, Interim
// Recovery Mode (degraded), Ready for Rebuild, Recovering (n% complete); physical drives OK, Failed,
// Rebuilding, Predictive Failure. A drive's trailing role (", spare") is kept out of its state.
// The `detail` form adds, in "Key: Value" blocks, the controller's firmware and battery/capacitor status,
// each logical drive's block device (Disk Name) and fault tolerance, and each physical drive's serial and
// model — which is how SMART read through the controller (`smartctl -d cciss,N`) finds its bay.
import { clean, sizeBytes } from "../lib/text.ts";
import type { RaidController } from "../model/schema.ts";

const s = (v: string | undefined, max = 64) => (v === undefined ? null : clean(v)?.slice(0, max) ?? null);

type Pd = RaidController["physical_drives"][number];
type Vd = RaidController["virtual_drives"][number];
/** Which block the detail form's "Key: Value" lines belong to. */
type Block = { kind: "ctrl" } | { kind: "ld"; ld: Vd } | { kind: "pd"; pd: Pd } | { kind: "other" };

/** Headings of the detail form's blocks whose keys (Status, Serial Number…) belong to neither drive. */
const OTHER_BLOCK =
  /^(Array:? \S|(Internal|External) Drive Cage|Port Name:|Physical Drives$|Unassigned$|HBA Drives$|Sensor ID:|SEP |Enclosure|Expander|Mirror Group)/;

function emptyPd(slot: string): Pd {
  return {
    slot: s(slot, 16),
    device_id: null,
    state: null,
    model: null,
    serial: null,
    size_bytes: null,
    interface: null,
  };
}

/** One "Key: Value" line of the detail form applied to the block it belongs to. */
function detail(c: RaidController, b: Block, key: string, value: string): void {
  if (b.kind === "ctrl") {
    if (key === "Serial Number" && !c.serial) c.serial = s(value);
    else if (key === "Firmware Version") c.firmware = s(value);
    else if (key === "Battery/Capacitor Status") c.battery = s(value, 32);
  } else if (b.kind === "ld") {
    if (key === "Status") b.ld.state = s(value, 48);
    else if (key === "Size") b.ld.size_bytes = sizeBytes(value);
    else if (key === "Fault Tolerance") b.ld.level = s(`RAID ${value}`, 16);
    else if (key === "Disk Name" && /^\/dev\/[\w/-]{1,32}$/.test(value)) b.ld.device = value;
    else if (key === "Logical Drive Label") b.ld.name = s(value);
  } else if (b.kind === "pd") {
    if (key === "Status") b.pd.state = s(value, 32);
    else if (key === "Serial Number") b.pd.serial = s(value);
    else if (key === "Model") b.pd.model = s(value, 128);
    else if (key === "Interface Type") b.pd.interface ??= s(value, 32);
    else if (key === "Size") b.pd.size_bytes ??= sizeBytes(value);
  }
}

/** The controller heading ("Smart Array P440ar in Slot 0 (Embedded) (sn: …)") as a new controller. */
function controllerOf(line: string): RaidController | null {
  const m = /^(.+?) in Slot (\S+)(?: \(([^)]*)\))?(?:\s+\(sn: ([^)]+)\))?/.exec(line);
  if (!m || /^(logicaldrive|physicaldrive)\b|:/.test(m[1]!)) return null;
  return {
    tool: "ssacli",
    id: s(m[2], 8),
    model: s(m[1], 128),
    serial: s(m[4]),
    firmware: null,
    battery: null,
    virtual_drives: [],
    physical_drives: [],
  };
}

/** A logical or physical drive line of either form; the block it opens, or null when the line is neither. */
function driveLine(c: RaidController, line: string): Block | null {
  const ld = /^logicaldrive (\S+) \(([^,]+), (RAID [^,]+), (.+)\)$/.exec(line);
  if (ld && c.virtual_drives.length < 64) {
    c.virtual_drives.push({
      id: s(ld[1], 16),
      level: s(ld[3], 16),
      state: s(ld[4], 48),
      size_bytes: sizeBytes(ld[2]),
      name: null,
    });
    return { kind: "other" };
  }
  const ldHead = /^Logical Drive: (\S+)$/.exec(line);
  if (ldHead) {
    const id = s(ldHead[1], 16);
    let v = c.virtual_drives.find((x) => x.id === id);
    if (!v && c.virtual_drives.length < 64) {
      v = { id, level: null, state: null, size_bytes: null, name: null };
      c.virtual_drives.push(v);
    }
    return v ? { kind: "ld", ld: v } : { kind: "other" };
  }
  const pd = /^physicaldrive (\S+) \((?:port [^,]*, )?([^,]+), ([^,]+), ([^,)]+)(?:, [^)]*)?\)$/.exec(line);
  if (pd) {
    if (c.physical_drives.length < 256 && !c.physical_drives.some((p) => p.slot === s(pd[1], 16))) {
      c.physical_drives.push({
        ...emptyPd(pd[1]!),
        state: s(pd[4], 32),
        size_bytes: sizeBytes(pd[3]),
        interface: s(pd[2], 32),
      });
    }
    return { kind: "other" };
  }
  const pdHead = /^physicaldrive (\S+)$/.exec(line);
  if (pdHead) {
    let p = c.physical_drives.find((x) => x.slot === s(pdHead[1], 16));
    if (!p && c.physical_drives.length < 256) {
      p = emptyPd(pdHead[1]!);
      c.physical_drives.push(p);
    }
    return p ? { kind: "pd", pd: p } : { kind: "other" };
  }
  return null;
}

/** Every controller of the output, with its drives. */
export function parseSsacliConfig(text: string): RaidController[] {
  const out: RaidController[] = [];
  let cur: RaidController | null = null;
  let block: Block = { kind: "other" };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const ctrl = controllerOf(line);
    if (ctrl) {
      if (out.length >= 16) break;
      out.push(cur = ctrl);
      block = { kind: "ctrl" };
      continue;
    }
    if (!cur || !line) continue;
    const opened = driveLine(cur, line);
    if (opened) {
      block = opened;
      continue;
    }
    if (OTHER_BLOCK.test(line)) {
      block = { kind: "other" };
      continue;
    }
    const kv = /^([^:]+?):\s+(.*)$/.exec(line);
    if (kv) detail(cur, block, kv[1]!, kv[2]!);
  }
  return out;
}
