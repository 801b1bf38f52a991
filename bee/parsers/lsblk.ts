// Parses `lsblk -J -b` (any column set that includes NAME) into whole-disk entries.
import { clean } from "../lib/text.ts";

/** One block device as lsblk reports it. */
export interface BlockDevice {
  name: string;
  path: string;
  type: string | null;
  size_bytes: number | null;
  model: string | null;
  serial: string | null;
  vendor: string | null;
  firmware: string | null;
  transport: string | null;
  rotational: boolean | null;
  removable: boolean | null;
  wwn: string | null;
}

function bool(v: unknown): boolean | null {
  if (typeof v === "boolean") return v;
  if (v === "1" || v === 1) return true;
  if (v === "0" || v === 0) return false;
  return null;
}

/** Parses lsblk JSON; throws only when the text is not lsblk JSON at all. */
export function parseLsblk(text: string): BlockDevice[] {
  const doc = JSON.parse(text) as { blockdevices?: unknown };
  if (!doc || !Array.isArray(doc.blockdevices)) throw new Error("lsblk JSON has no blockdevices array");
  const out: BlockDevice[] = [];
  for (const d of doc.blockdevices as Record<string, unknown>[]) {
    const name = clean(d["name"]);
    if (!name) continue;
    const size = typeof d["size"] === "string" && /^\d+$/.test(d["size"])
      ? parseInt(d["size"], 10)
      : d["size"];
    out.push({
      name,
      path: clean(d["path"]) ?? `/dev/${name}`,
      type: clean(d["type"]),
      size_bytes: typeof size === "number" ? size : null,
      model: clean(d["model"]),
      serial: clean(d["serial"]),
      vendor: clean(d["vendor"]),
      firmware: clean(d["rev"]),
      transport: clean(d["tran"]),
      rotational: bool(d["rota"]),
      removable: bool(d["rm"]),
      wwn: clean(d["wwn"]),
    });
  }
  return out;
}

/** Whole physical disks worth a SMART query: no loop, zram, ram, optical, md or device-mapper devices. */
export function isPhysicalDisk(d: BlockDevice): boolean {
  return d.type === "disk" && !/^(loop|zram|ram|md|dm-|nbd|sr)/.test(d.name);
}

/** The NVMe controller (`/dev/nvme0`) of a namespace name (`nvme0n1`), or null. */
export function nvmeController(name: string): string | null {
  const m = name.match(/^(nvme\d+)(?:c\d+)?n\d+$/);
  return m ? `/dev/${m[1]}` : null;
}
