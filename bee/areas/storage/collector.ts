// storage: disks from `lsblk -J -b`, SMART from `smartctl -j -a` per disk, and NVMe identity and
// health from `nvme id-ctrl` / `nvme smart-log` per controller.
import type { Collector, CollectorContext } from "../../collect/collector.ts";
import { type BlockDevice, isPhysicalDisk, nvmeController, parseLsblk } from "../../parsers/lsblk.ts";
import { parseSmartctl } from "../../parsers/smartctl.ts";
import { parseMdstat } from "../../parsers/mdstat.ts";
import { parseStorcliShow } from "../../parsers/storcli.ts";
import { parseSsacliConfig } from "../../parsers/ssacli.ts";
import { parseSas3ircuDisplay } from "../../parsers/sas3ircu.ts";
import { parseNvmeIdCtrl, parseNvmeSmartLog } from "../../parsers/nvme.ts";
import type { Disk, NvmeController, RaidController, Smart, Storage } from "../../model/schema.ts";
import { firstLine } from "../../collect/collector.ts";

const LSBLK_COLUMNS = "NAME,PATH,TYPE,SIZE,MODEL,SERIAL,VENDOR,REV,TRAN,ROTA,RM,WWN";

async function smartOf(
  ctx: CollectorContext,
  dev: string,
  through: string[] = [],
  quiet = false,
): Promise<Smart | null> {
  const r = await ctx.run("smartctl", ["-j", "-a", ...through, dev], { slow: true });
  if (r.kind === "missing") return null;
  if (r.kind !== "exited") {
    ctx.optional(r);
    return null;
  }
  try {
    // non-zero exits are bit masks about the disk, not failures of the command
    return parseSmartctl(r.stdout, r.code);
  } catch (e) {
    if (quiet) return null;
    ctx.note("error", `smartctl ${dev}: unreadable output (${(e as Error).message}): ${firstLine(r.stdout)}`);
    return null;
  }
}

async function nvmeOf(ctx: CollectorContext, controller: string): Promise<NvmeController | null> {
  const [id, log] = await Promise.all([
    ctx.run("nvme", ["id-ctrl", controller, "-o", "json"]),
    ctx.run("nvme", ["smart-log", controller, "-o", "json"]),
  ]);
  if (id.kind === "missing") return null;
  const idText = ctx.optional(id);
  const logText = ctx.optional(log);
  try {
    const ident = idText === null ? null : parseNvmeIdCtrl(idText);
    const health = logText === null ? null : parseNvmeSmartLog(logText);
    if (!ident && !health) return null;
    return {
      controller,
      model: ident?.model ?? null,
      serial: ident?.serial ?? null,
      firmware: ident?.firmware ?? null,
      pci_vendor_id: ident?.pci_vendor_id ?? null,
      warning_temp_c: ident?.warning_temp_c ?? null,
      critical_temp_c: ident?.critical_temp_c ?? null,
      health,
    };
  } catch (e) {
    ctx.note("error", `nvme ${controller}: unreadable output (${(e as Error).message})`);
    return null;
  }
}

type Health = [Awaited<ReturnType<typeof smartOf>>, NvmeController | null];

async function disk(
  ctx: CollectorContext,
  d: BlockDevice,
  perCtrl: Map<string, Promise<Health>>,
): Promise<Disk> {
  const ctrl = nvmeController(d.name);
  // namespaces of one NVMe controller share its SMART and health: asked once per controller
  let health = ctrl ? perCtrl.get(ctrl) : undefined;
  if (!health) {
    health = Promise.all([smartOf(ctx, ctrl ?? d.path), ctrl ? nvmeOf(ctx, ctrl) : null]);
    if (ctrl) perCtrl.set(ctrl, health);
  }
  const [smart, nvme] = await health;
  return {
    name: d.name,
    path: d.path,
    type: d.type,
    size_bytes: d.size_bytes,
    model: d.model ?? smart?.model ?? null,
    serial: d.serial ?? smart?.serial ?? null,
    vendor: d.vendor,
    firmware: d.firmware ?? smart?.firmware ?? null,
    transport: d.transport,
    rotational: d.rotational,
    removable: d.removable,
    wwn: d.wwn,
    smart,
    nvme,
  };
}

/** Vendor CLIs that see disks behind each maker's RAID controllers and HBAs (PCI vendor id → tools, with a harmless query). */
const RAID_TOOLS: Record<string, [string, string[]][]> = {
  "0x1000": [["storcli64", ["/call", "show", "J"]], ["storcli", ["/call", "show", "J"]], [
    "sas3ircu",
    ["LIST"],
  ], ["sas2ircu", ["LIST"]]],
  "0x103c": [["ssacli", ["ctrl", "all", "show", "config"]]],
  "0x9005": [["arcconf", ["LIST"]], ["ssacli", ["ctrl", "all", "show", "config"]]],
};

/** A block device the MegaRAID driver exposes (a virtual drive), through which smartctl reaches its disks. */
function megaraidDevice(devices: BlockDevice[], ctrl: string | null): string {
  const vd = devices.find((d) =>
    /^(LSI|AVAGO|BROADCOM|DELL|FTS|IBM|Lenovo|Intel)\b/i.test(d.vendor ?? "") &&
    /MR|PERC|RAID|ServeRAID|Virtual/i.test(d.model ?? "")
  );
  return vd?.path ?? `/dev/bus/${ctrl ?? "0"}`;
}

/** SMART of every physical drive behind a MegaRAID, through the controller (`-d megaraid,<device id>`). */
async function smartBehind(
  ctx: CollectorContext,
  raid: RaidController[],
  devices: BlockDevice[],
): Promise<void> {
  for (const c of raid) {
    if (c.tool !== "storcli") continue;
    const via = megaraidDevice(devices, c.id);
    for (const p of c.physical_drives) {
      if (!p.device_id || !/^\d{1,5}$/.test(p.device_id)) continue;
      // best effort: a controller smartctl cannot pass through leaves the drive's smart null (its
      // state still comes from storcli), not a failed storage collector
      p.smart = await smartOf(ctx, via, ["-d", `megaraid,${p.device_id}`], true);
    }
  }
}

/**
 * RAID controllers and SAS HBAs on the PCI bus (class 0x0104 RAID, 0x0107 SAS) and which of their makers'
 * tools answer here: disks behind them are invisible to smartctl on /dev/sdX, so one with no tool is "not
 * checked", never a silent pass. The tools are the operator's to add to the image (iso/vendor/).
 */
async function raidControllers(
  ctx: CollectorContext,
  raid: RaidController[],
): Promise<NonNullable<Storage["raid_controllers"]>> {
  const out: NonNullable<Storage["raid_controllers"]> = [];
  const seen = new Set<string>();
  for (const d of (await ctx.readDir("/sys/bus/pci/devices")) ?? []) {
    const cls = (await ctx.readText(`/sys/bus/pci/devices/${d}/class`))?.trim() ?? "";
    if (!/^0x010[47]/.test(cls)) continue;
    const vendor = (await ctx.readText(`/sys/bus/pci/devices/${d}/vendor`))?.trim() ?? "";
    const tools = RAID_TOOLS[vendor] ?? Object.values(RAID_TOOLS).flat();
    const present: string[] = [];
    for (const [tool, args] of tools) {
      const r = await ctx.run(tool, args);
      if (r.kind === "missing") continue;
      present.push(tool);
      // storcli's answer is the controller's inventory (one call covers every MegaRAID of the machine)
      if (tool.startsWith("storcli") && r.kind === "exited" && !seen.has("storcli")) {
        seen.add("storcli");
        try {
          raid.push(...parseStorcliShow(r.stdout));
        } catch (e) {
          ctx.note("error", `${tool}: ${(e as Error).message}`);
        }
      }
      // sas3ircu/sas2ircu: one DISPLAY per controller index, until an index answers with an error
      if (/^sas[23]ircu$/.test(tool) && r.kind === "exited" && r.code === 0 && !seen.has(tool)) {
        seen.add(tool);
        for (let i = 0; i < 8; i++) {
          const d = await ctx.run(tool, [String(i), "DISPLAY"]);
          if (d.kind !== "exited" || d.code !== 0) break;
          const c = parseSas3ircuDisplay(d.stdout, tool);
          if (c) raid.push(c);
        }
      }
      // ssacli's `ctrl all show config` likewise lists every Smart Array with its drives
      if (tool === "ssacli" && r.kind === "exited" && r.code === 0 && !seen.has("ssacli")) {
        seen.add("ssacli");
        raid.push(...parseSsacliConfig(r.stdout));
      }
    }
    if (out.length < 32) {
      out.push({
        address: d.slice(0, 32),
        vendor_id: vendor.slice(0, 8),
        class_id: cls.slice(0, 10),
        tools: present,
      });
    }
  }
  return out;
}

export const storage: Collector<Storage> = {
  name: "storage",
  async collect(ctx) {
    const out = ctx.require(await ctx.run("lsblk", ["-J", "-b", "-d", "-o", LSBLK_COLUMNS]));
    const devices = parseLsblk(out).filter(isPhysicalDisk);
    const perCtrl = new Map<string, Promise<Health>>();
    const disks = await Promise.all(devices.map((d) => disk(ctx, d, perCtrl)));
    const missing = ctx.commands.filter((c) => c.outcome === "missing").map((c) => c.command.split(" ")[0]);
    for (const tool of new Set(missing)) ctx.note("missing_tool", `${tool} not found`);
    // after the note: an absent vendor tool is judged by its own rule (storage.raid_unchecked), not a tool note
    const raid: RaidController[] = [];
    const controllers = await raidControllers(ctx, raid);
    if (!missing.includes("smartctl")) await smartBehind(ctx, raid, devices);
    // software RAID: every array the kernel assembled (none: the key is left out)
    const mdstat = await ctx.readText("/proc/mdstat");
    const md = mdstat === null ? [] : parseMdstat(mdstat);
    return {
      disks,
      ...(missing.includes("smartctl") ? { smartctl_missing: true } : {}),
      ...(md.length ? { md_arrays: md } : {}),
      ...(raid.length ? { raid } : {}),
      ...(controllers.length ? { raid_controllers: controllers } : {}),
    };
  },
};
