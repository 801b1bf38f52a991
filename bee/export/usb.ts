// Finding the USB stick the operator plugged in: `lsblk -J -b -o …` parsed (pure), the live medium and
// filesystems bee cannot write left out.
import { clean } from "../lib/text.ts";

/** The lsblk columns `usbTargets` reads. */
export const LSBLK_COLUMNS = "NAME,PATH,TYPE,TRAN,RM,RO,SIZE,FSTYPE,LABEL,MOUNTPOINT";

/** A filesystem on a USB (or removable) disk that bee can write to. */
export interface UsbTarget {
  device: string;
  /** the whole disk it is on */
  disk: string;
  fstype: string;
  label: string | null;
  size: number | null;
  /** where it is mounted now, or null */
  mountpoint: string | null;
  readOnly: boolean;
}

/** Filesystems a stick commonly carries that Linux writes. */
const WRITABLE = new Set(["vfat", "exfat", "ext2", "ext3", "ext4", "ntfs", "ntfs3", "btrfs", "xfs", "f2fs"]);

interface Node {
  name?: string;
  path?: string;
  type?: string;
  tran?: string | null;
  rm?: boolean | string | number | null;
  ro?: boolean | string | number | null;
  size?: number | string | null;
  fstype?: string | null;
  label?: string | null;
  mountpoint?: string | null;
  children?: Node[];
}

const truthy = (v: unknown) => v === true || v === 1 || v === "1" || v === "true";

/**
 * Writable filesystems on USB or removable disks: partitions, or a whole disk formatted without a
 * partition table. The live medium (iso9660, or mounted at /run/live/medium) is never one.
 */
export function usbTargets(lsblkJson: string): UsbTarget[] {
  let doc: { blockdevices?: Node[] };
  try {
    doc = JSON.parse(lsblkJson);
  } catch {
    throw new Error("lsblk gave no JSON");
  }
  const out: UsbTarget[] = [];
  for (const disk of doc.blockdevices ?? []) {
    if (disk.type !== "disk") continue;
    const usb = (disk.tran ?? "").toLowerCase() === "usb" || truthy(disk.rm);
    if (!usb) continue;
    const diskPath = disk.path ?? `/dev/${disk.name}`;
    const all = [disk, ...(disk.children ?? [])];
    // a stick bee booted from (dd'd ISO) carries iso9660: none of its filesystems is a target
    if (all.some((n) => n.fstype === "iso9660" || n.mountpoint === "/run/live/medium")) continue;
    for (const n of all) {
      const fs = (n.fstype ?? "").toLowerCase();
      if (!WRITABLE.has(fs)) continue;
      out.push({
        device: n.path ?? `/dev/${n.name}`,
        disk: diskPath,
        fstype: fs,
        label: clean(n.label ?? null),
        size: n.size === null || n.size === undefined ? null : Number(n.size),
        mountpoint: n.mountpoint ?? null,
        readOnly: truthy(n.ro) || truthy(disk.ro),
      });
    }
  }
  return out;
}
