// Parses `arcconf GETCONFIG <n> AL` (Adaptec / Microsemi / Microchip SmartRAID, also IBM ServeRAID 8k): the
// controller's model, serial, firmware and battery / ZMM / backup-unit state, each logical device's number,
// name, RAID level, size and status, each physical hard drive's location, state, model, serial, size and
// interface, with its "Reported Channel,Device" kept as the id SMART reads it through (`smartctl -d
// aacraid,H,C,ID`). Enclosure services devices are left out. Keys change case across arcconf versions
// ("Logical device number" / "Logical Device Number"), so they are matched without case. A key may hold a
// colon itself ("Reported Channel,Device(T:L)"): the separator is the first colon followed by a blank.
import { clean, sizeBytes } from "../lib/text.ts";
import type { RaidController } from "../model/schema.ts";

const s = (v: string | undefined, max = 64) => (v === undefined ? null : clean(v)?.slice(0, max) ?? null);

type Pd = RaidController["physical_drives"][number];
type Section = "controller" | "logical" | "physical" | null;

/** "Controllers found: N" — how many controllers arcconf sees (LIST and GETCONFIG both begin with it). */
export function arcconfControllerCount(text: string): number {
  const m = /^Controllers found:\s*(\d+)/im.exec(text);
  return m ? Math.min(Number(m[1]), 16) : 0;
}

/** "Enclosure 0, Slot 3" → "0:3"; "Connector 0, Device 2" → "c0:d2"; else the channel,device pair. */
function location(loc: string | null, chanDev: string | null): string | null {
  const enc = loc && /^Enclosure (\d+), Slot (\d+)/i.exec(loc);
  if (enc) return `${enc[1]}:${enc[2]}`;
  const con = loc && /^Connector (\d+), Device (\d+)/i.exec(loc);
  if (con) return `c${con[1]}:d${con[2]}`;
  return chanDev;
}

interface PdDraft {
  hardDrive: boolean;
  kv: Map<string, string>;
}

function finishPd(d: PdDraft): Pd | null {
  if (!d.hardDrive) return null;
  const g = (k: string) => d.kv.get(k);
  // "0,2(2:0)" or "0,2": channel and device, the pair smartctl's aacraid type takes after the host
  const cd = /^(\d+),(\d+)/.exec(g("reported channel,device(t:l)") ?? g("reported channel,device") ?? "");
  const chanDev = cd ? `${cd[1]},${cd[2]}` : null;
  const vendor = g("vendor");
  const model = g("model");
  const speed = /^(SAS|SATA|NVMe|SCSI)\b/i.exec(g("transfer speed") ?? "");
  return {
    slot: s(location(g("reported location") ?? null, chanDev) ?? undefined, 16),
    device_id: chanDev,
    state: s(g("state"), 32),
    model: s([vendor && !/^\*?missing\*?$|^ata$/i.test(vendor) ? vendor : "", model ?? ""].join(" "), 128),
    serial: s(g("serial number")),
    size_bytes: sizeBytes(g("total size") ?? g("size")),
    interface: speed ? speed[1]!.toUpperCase() : null,
  };
}

/** The controller arcconf printed for `GETCONFIG <id> AL` (null when the text holds none). */
export function parseArcconfConfig(text: string, id: string): RaidController | null {
  const c: RaidController = {
    tool: "arcconf",
    id: s(id, 8),
    model: null,
    serial: null,
    firmware: null,
    battery: null,
    virtual_drives: [],
    physical_drives: [],
  };
  let section: Section = null;
  let sub = ""; // the controller section's sub-heading (version, battery, backup unit…)
  let pd: PdDraft | null = null;
  const flushPd = () => {
    const p = pd && finishPd(pd);
    if (p && c.physical_drives.length < 256) c.physical_drives.push(p);
    pd = null;
  };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || /^-+$/.test(line)) continue;
    const heading = /^(Controller|Logical device|Physical Device) information$/i.exec(line);
    if (heading) {
      flushPd();
      section = heading[1]!.toLowerCase() === "controller"
        ? "controller"
        : heading[1]!.toLowerCase().startsWith("logical")
        ? "logical"
        : "physical";
      continue;
    }
    const ldHead = /^Logical device number (\d+)$/i.exec(line);
    if (section === "logical" && ldHead) {
      if (c.virtual_drives.length < 64) {
        c.virtual_drives.push({ id: ldHead[1]!, level: null, state: null, size_bytes: null, name: null });
      }
      continue;
    }
    if (section === "physical" && /^Device #\d+$/i.test(line)) {
      flushPd();
      pd = { hardDrive: false, kv: new Map() };
      continue;
    }
    if (pd && /^Device is an? /i.test(line)) {
      pd.hardDrive = /hard drive|solid state/i.test(line);
      continue;
    }
    const kv = /^(.+?)\s*:(?:\s+(.*))?$/.exec(line);
    if (!kv) {
      if (section === "controller") sub = line.toLowerCase();
      continue;
    }
    const key = kv[1]!.toLowerCase();
    const value = (kv[2] ?? "").trim();
    if (section === "controller") controllerKey(c, sub, key, value);
    else if (section === "logical") logicalKey(c, key, value);
    else if (pd && !pd.kv.has(key)) pd.kv.set(key, value);
  }
  flushPd();
  return c.model || c.virtual_drives.length || c.physical_drives.length ? c : null;
}

function controllerKey(c: RaidController, sub: string, key: string, value: string): void {
  if (key === "controller model") c.model = s(value, 128);
  else if (key === "controller serial number") c.serial = s(value);
  else if (key === "firmware" && sub.includes("version")) c.firmware = s(value);
  else if (key === "status" && /battery|zmm/.test(sub)) c.battery = s(value, 32);
  // "Not Present": the controller has no backup unit, which is no fault by itself
  else if (key === "overall backup unit status" && !/^not present$/i.test(value)) c.battery = s(value, 32);
}

function logicalKey(c: RaidController, key: string, value: string): void {
  const v = c.virtual_drives.at(-1);
  if (!v) return;
  if (key === "logical device name") v.name = s(value);
  else if (key === "raid level") v.level = s(`RAID ${value}`, 16);
  else if (key === "status of logical device") v.state = s(value, 48);
  else if (key === "size") v.size_bytes = sizeBytes(value);
  else if (key === "disk name" && /^\/dev\/[\w/-]{1,32}$/.test(value)) v.device = value;
}
