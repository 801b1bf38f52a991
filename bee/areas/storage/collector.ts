// storage: disks from `lsblk -J -b`, SMART from `smartctl -j -a` per disk, and NVMe identity and
// health from `nvme id-ctrl` / `nvme smart-log` per controller; software RAID from /proc/mdstat; RAID
// controllers and the drives behind them in ./raid.ts.
import type { Collector, CollectorContext } from "../../collect/collector.ts";
import { type BlockDevice, isPhysicalDisk, nvmeController, parseLsblk } from "../../parsers/lsblk.ts";
import { parseMdstat } from "../../parsers/mdstat.ts";
import { parseMdadmDetail, parseMdadmScan } from "../../parsers/mdadm.ts";
import { parseNvmeIdCtrl, parseNvmeSmartLog } from "../../parsers/nvme.ts";
import type { Disk, NvmeController, RaidController, Storage } from "../../model/schema.ts";
import { smartOf } from "./smart.ts";
import { raidControllers, smartBehind } from "./raid.ts";

const LSBLK_COLUMNS = "NAME,PATH,TYPE,SIZE,MODEL,SERIAL,VENDOR,REV,TRAN,ROTA,RM,WWN";

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
    const md = await Promise.all((mdstat === null ? [] : parseMdstat(mdstat)).map(async (a) => {
      // mdadm's view of the array (device table, degraded/FAILED words) where mdadm is in the image
      const r = await ctx.run("mdadm", ["--detail", `/dev/${a.name}`]);
      const detail = r.kind === "exited" ? parseMdadmDetail(r.stdout) : null;
      return detail ? { ...a, detail } : a;
    }));
    // software RAID on the disks, assembled or not: read from the members' superblocks, never assembled here
    const scan = await ctx.run("mdadm", ["--examine", "--scan", "--verbose"]);
    const superblocks = scan.kind === "exited" && scan.code === 0 ? parseMdadmScan(scan.stdout) : [];
    return {
      disks,
      ...(missing.includes("smartctl") ? { smartctl_missing: true } : {}),
      ...(md.length ? { md_arrays: md } : {}),
      ...(superblocks.length ? { md_superblocks: superblocks } : {}),
      ...(raid.length ? { raid } : {}),
      ...(controllers.length ? { raid_controllers: controllers } : {}),
    };
  },
};
