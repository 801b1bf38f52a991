// Hardware RAID controllers and SAS HBAs: which are on the PCI bus, their makers' tools' inventories
// (storcli, ssacli, arcconf, sas3ircu/sas2ircu), and SMART of the physical drives behind them read through
// the controller (`smartctl -d megaraid,N | cciss,N | aacraid,H,C,ID`), which feeds the ordinary disk rules.
import type { CollectorContext } from "../../collect/collector.ts";
import type { BlockDevice } from "../../parsers/lsblk.ts";
import { parseStorcliShow } from "../../parsers/storcli.ts";
import { parseSsacliConfig } from "../../parsers/ssacli.ts";
import { arcconfControllerCount, parseArcconfConfig } from "../../parsers/arcconf.ts";
import { parseSas3ircuDisplay } from "../../parsers/sas3ircu.ts";
import { parseSmartctlScan, type ScannedDevice } from "../../parsers/smartctl.ts";
import type { RaidController, Storage } from "../../model/schema.ts";
import { smartOf } from "./smart.ts";

/** Vendor CLIs that see disks behind each maker's RAID controllers and HBAs (PCI vendor id → tools, with a harmless query). */
const RAID_TOOLS: Record<string, [string, string[]][]> = {
  "0x1000": [
    ["storcli64", ["/call", "show", "J"]],
    ["storcli", ["/call", "show", "J"]],
    ["sas3ircu", ["LIST"]],
    ["sas2ircu", ["LIST"]],
  ],
  "0x103c": [["ssacli", ["ctrl", "all", "show", "config", "detail"]]],
  "0x9005": [["arcconf", ["LIST"]], ["ssacli", ["ctrl", "all", "show", "config", "detail"]]],
};

/** Controllers a tool's first answer leads to (one tool answers for every controller of its kind). */
async function inventory(
  ctx: CollectorContext,
  tool: string,
  stdout: string,
  code: number,
): Promise<RaidController[]> {
  if (tool.startsWith("storcli")) {
    try {
      return parseStorcliShow(stdout);
    } catch (e) {
      ctx.note("error", `${tool}: ${(e as Error).message}`);
      return [];
    }
  }
  if (code !== 0) return [];
  if (tool === "ssacli") return parseSsacliConfig(stdout);
  const out: RaidController[] = [];
  if (/^sas[23]ircu$/.test(tool)) {
    // one DISPLAY per controller index, until an index answers with an error
    for (let i = 0; i < 8; i++) {
      const d = await ctx.run(tool, [String(i), "DISPLAY"]);
      if (d.kind !== "exited" || d.code !== 0) break;
      const c = parseSas3ircuDisplay(d.stdout, tool);
      if (c) out.push(c);
    }
  }
  if (tool === "arcconf") {
    // controllers are numbered from 1; LIST says how many there are
    for (let i = 1; i <= arcconfControllerCount(stdout); i++) {
      const d = await ctx.run("arcconf", ["GETCONFIG", String(i), "AL"], { slow: true });
      if (d.kind !== "exited" || d.code !== 0) continue;
      const c = parseArcconfConfig(d.stdout, String(i));
      if (c) out.push(c);
    }
  }
  return out;
}

/**
 * RAID controllers and SAS HBAs on the PCI bus (class 0x0104 RAID, 0x0107 SAS) and which of their makers'
 * tools answer here: disks behind them are invisible to smartctl on /dev/sdX, so one with no tool is "not
 * checked", never a silent pass. The tools are the operator's to add to the image (iso/vendor/).
 */
export async function raidControllers(
  ctx: CollectorContext,
  raid: RaidController[],
): Promise<NonNullable<Storage["raid_controllers"]>> {
  const out: NonNullable<Storage["raid_controllers"]> = [];
  // per tool family (storcli64 and storcli are one): whether its inventory gave at least one controller
  const answered = new Map<string, boolean>();
  // and, where it ran but read nothing, why (a tool that hangs, fails or prints nothing readable checks nothing)
  const why = new Map<string, string>();
  // the tool of the family that ran (storcli64, or storcli where storcli64 is absent)
  const ran = new Map<string, string>();
  for (const d of (await ctx.readDir("/sys/bus/pci/devices")) ?? []) {
    const cls = (await ctx.readText(`/sys/bus/pci/devices/${d}/class`))?.trim() ?? "";
    if (!/^0x010[47]/.test(cls)) continue;
    const vendor = (await ctx.readText(`/sys/bus/pci/devices/${d}/vendor`))?.trim() ?? "";
    const tools = RAID_TOOLS[vendor] ?? Object.values(RAID_TOOLS).flat();
    const present: string[] = [];
    const failed: string[] = [];
    for (const [tool, args] of tools) {
      const family = tool.replace(/64$/, "");
      if (!answered.has(family)) {
        const r = await ctx.run(tool, args);
        if (r.kind === "missing") continue;
        const found = r.kind === "exited" ? await inventory(ctx, tool, r.stdout, r.code) : [];
        raid.push(...found.slice(0, 16 - raid.length));
        answered.set(family, found.length > 0);
        ran.set(family, tool);
        if (!found.length) {
          why.set(family, `${tool}: ${r.kind === "exited" ? `exit ${r.code}, no controller read` : r.kind}`);
        }
      }
      const name = ran.get(family);
      if (!name || present.includes(name) || failed.some((f) => f.startsWith(`${name}:`))) continue;
      if (answered.get(family)) present.push(name);
      else failed.push(why.get(family)!);
    }
    if (out.length < 32) {
      out.push({
        address: d.slice(0, 32),
        vendor_id: vendor.slice(0, 8),
        class_id: cls.slice(0, 10),
        tools: present,
        ...(failed.length ? { tools_failed: failed.slice(0, 8) } : {}),
      });
    }
  }
  return out;
}

/** A block device the MegaRAID driver exposes (a virtual drive), through which smartctl reaches its disks. */
function megaraidDevice(devices: BlockDevice[], ctrl: string | null): string {
  const vd = devices.find((d) =>
    /^(LSI|AVAGO|BROADCOM|DELL|FTS|IBM|Lenovo|Intel)\b/i.test(d.vendor ?? "") &&
    /MR|PERC|RAID|ServeRAID|Virtual/i.test(d.model ?? "")
  );
  return vd?.path ?? `/dev/bus/${ctrl ?? "0"}`;
}

/** The device an HPE Smart Array's `-d cciss,N` goes through: a logical drive's block device. */
function smartArrayDevice(c: RaidController, devices: BlockDevice[], only: boolean): string | null {
  const named = c.virtual_drives.find((v) => v.device)?.device;
  if (named) return named;
  // the short form names no block device: with one Smart Array, its logical volume is the way
  const lv = only &&
    devices.find((d) => /^HPE?$/i.test(d.vendor ?? "") && /LOGICAL VOLUME/i.test(d.model ?? ""));
  return lv ? lv.path : null;
}

const sameSerial = (a: string | null | undefined, b: string | null | undefined) =>
  !!a && !!b && a.replace(/\s+/g, "").toUpperCase() === b.replace(/\s+/g, "").toUpperCase();

/** MegaRAID: each drive by its device id, through the node `smartctl --scan-open` names for it. */
async function behindMegaraid(
  ctx: CollectorContext,
  c: RaidController,
  devices: BlockDevice[],
  scanned: ScannedDevice[],
): Promise<void> {
  for (const p of c.physical_drives) {
    if (!p.device_id || !/^\d{1,5}$/.test(p.device_id)) continue;
    const via = scanned.find((s) => s.type === `megaraid,${p.device_id}`)?.name ??
      megaraidDevice(devices, c.id);
    // best effort: a controller smartctl cannot pass through leaves the drive's smart null (its state
    // still comes from storcli), not a failed storage collector
    p.smart = await smartOf(ctx, via, ["-d", `megaraid,${p.device_id}`], true);
  }
}

/**
 * HPE Smart Array: `-d cciss,N` numbers the drives the controller's own way, so each answer is matched to its
 * bay by serial (the detail form lists serials); an answer no bay claims is left out, never guessed onto one.
 */
async function behindSmartArray(ctx: CollectorContext, c: RaidController, via: string): Promise<void> {
  let misses = 0;
  for (let n = 0; n < Math.min(c.physical_drives.length, 64) && misses < 2; n++) {
    const smart = await smartOf(ctx, via, ["-d", `cciss,${n}`], true);
    misses = smart ? 0 : misses + 1;
    const bay = smart && c.physical_drives.find((p) => sameSerial(p.serial, smart.serial));
    if (bay) bay.smart = smart;
  }
}

/** Adaptec: `-d aacraid,H,C,ID`, H the adapter's number from 0 (arcconf counts from 1), C,ID arcconf's channel,device. */
async function behindAdaptec(ctx: CollectorContext, c: RaidController): Promise<void> {
  const host = Number(c.id) - 1;
  if (!Number.isInteger(host) || host < 0) return;
  for (const p of c.physical_drives) {
    if (!p.device_id || !/^\d{1,3},\d{1,3}$/.test(p.device_id) || /^failed$/i.test(p.state ?? "")) continue;
    p.smart = await smartOf(ctx, `/dev/aac${host}`, ["-d", `aacraid,${host},${p.device_id}`], true);
  }
}

/** SMART of every physical drive behind a controller, read through it. */
export async function smartBehind(
  ctx: CollectorContext,
  raid: RaidController[],
  devices: BlockDevice[],
): Promise<void> {
  const arrays = raid.filter((c) => c.tool === "ssacli");
  let scanned: ScannedDevice[] = [];
  if (raid.some((c) => c.tool === "storcli")) {
    const scan = await ctx.run("smartctl", ["--scan-open"], { slow: true });
    scanned = scan.kind === "exited" ? parseSmartctlScan(scan.stdout) : [];
  }
  for (const c of raid) {
    if (c.tool === "storcli") await behindMegaraid(ctx, c, devices, scanned);
    if (c.tool === "arcconf") await behindAdaptec(ctx, c);
    const via = c.tool === "ssacli" ? smartArrayDevice(c, devices, arrays.length === 1) : null;
    if (via) await behindSmartArray(ctx, c, via);
  }
}
