// `bee export [--to DIR] [--device DEV]`: copies the audit and every SAT archive off the machine (they live
// in RAM on a toram boot). Without --to it finds the USB stick, mounts it read-write, writes, syncs and
// unmounts it; a full, read-only or missing stick is one clear line and nothing half-written.
import { Command } from "commander";
import { PATHS } from "../lib/paths.ts";
import { UserError } from "../lib/errors.ts";
import { exec } from "../lib/exec.ts";
import { forTerminal } from "../lib/text.ts";
import { Audit } from "../audit/schema.ts";
import { readRegularText } from "../lib/machine.ts";
import { bundleFiles, bundleName } from "../export/bundle.ts";
import { exportTo } from "../export/copy.ts";
import { LSBLK_COLUMNS, type UsbTarget, usbTargets } from "../export/usb.ts";

const say = (s: string) => Deno.stderr.writeSync(new TextEncoder().encode(forTerminal(s) + "\n"));
const first = (s: string) => s.trim().split("\n")[0]?.slice(0, 200) ?? "";

async function auditOf(path: string): Promise<Audit | null> {
  try {
    const r = Audit.safeParse(JSON.parse((await readRegularText(path)) ?? ""));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

async function findStick(device: string | undefined): Promise<UsbTarget> {
  const r = await exec("lsblk", ["-J", "-b", "-o", LSBLK_COLUMNS], { timeoutMs: 30_000 });
  if (r.kind === "missing") {
    throw new UserError("lsblk not found: cannot look for a USB stick (use --to DIR)");
  }
  if (r.kind !== "exited" || r.code !== 0) {
    throw new UserError(`lsblk failed: ${first(r.kind === "exited" ? r.stderr : r.kind)}`);
  }
  const all = usbTargets(r.stdout);
  const describe = (t: UsbTarget) =>
    `${t.device} (${t.fstype}${t.label ? ` "${t.label}"` : ""}${
      t.size ? `, ${(t.size / 1e9).toFixed(1)} GB` : ""
    })`;
  if (device) {
    const t = all.find((x) => x.device === device);
    if (!t) {
      throw new UserError(
        `${device} is not a writable USB filesystem${
          all.length ? `; found: ${all.map(describe).join(", ")}` : ""
        }`,
        2,
      );
    }
    return t;
  }
  if (!all.length) {
    throw new UserError(
      "no USB stick found: plug one in (FAT, exFAT or ext4) and run again, or name a folder with --to DIR",
    );
  }
  if (all.length > 1) {
    throw new UserError(
      `several USB filesystems: ${all.map(describe).join(", ")}; pick one with --device`,
      2,
    );
  }
  return all[0]!;
}

export function exportCommand(): Command {
  return new Command("export")
    .description(
      "copy the audit and every SAT archive to a USB stick (found, mounted, synced, unmounted) or a folder",
    )
    .option("--to <dir>", "write into this (mounted) folder instead of looking for a USB stick")
    .option("--device <dev>", "the USB filesystem to use when several are plugged in (e.g. /dev/sdb1)")
    .option("--audit <file>", "the audit JSON", PATHS.audit)
    .option("--sat-dir <dir>", "the SAT archives", PATHS.satDir)
    .action(async (o: { to?: string; device?: string; audit: string; satDir: string }) => {
      const files = await bundleFiles(o.audit, o.satDir);
      if (!files.length) {
        throw new UserError(`nothing to export: no audit at ${o.audit} and no archive in ${o.satDir}`);
      }
      const name = bundleName(await auditOf(o.audit), new Date());
      const total = files.reduce((n, f) => n + f.size, 0);
      say(`bee export: ${files.length} file(s), ${(total / 1e6).toFixed(1)} MB → ${name}`);
      if (o.to) {
        const r = await exportTo(o.to, files, name, say);
        console.log(`exported ${r.files} file(s) to ${r.folder}`);
        return;
      }
      const stick = await findStick(o.device);
      if (stick.readOnly) {
        throw new UserError(`${stick.device} is read-only (write-protect switch?); nothing was written`);
      }
      let mnt = stick.mountpoint;
      let mountedHere = false;
      if (!mnt) {
        mnt = await Deno.makeTempDir({ dir: "/run", prefix: "bee-usb-" }).catch(() =>
          Deno.makeTempDir({ prefix: "bee-usb-" })
        );
        const m = await exec("mount", ["-o", "rw,noatime", stick.device, mnt], { timeoutMs: 60_000 });
        if (m.kind !== "exited" || m.code !== 0) {
          await Deno.remove(mnt).catch(() => {});
          const why = m.kind === "exited" ? first(m.stderr || m.stdout) : m.kind;
          throw new UserError(`cannot mount ${stick.device} (${stick.fstype}): ${why}; nothing was written`);
        }
        mountedHere = true;
        say(`bee export: ${stick.device} mounted on ${mnt}`);
      }
      let result;
      let umountProblem: string | null = null;
      try {
        result = await exportTo(mnt, files, name, say);
      } finally {
        if (mountedHere) {
          await exec("sync", [], { timeoutMs: 300_000 });
          const u = await exec("umount", [mnt], { timeoutMs: 120_000 });
          if (u.kind === "exited" && u.code === 0) await Deno.remove(mnt).catch(() => {});
          else umountProblem = u.kind === "exited" ? first(u.stderr) : u.kind;
        }
      }
      if (umountProblem !== null) {
        throw new UserError(
          `written and synced to ${stick.device}, but umount failed (${umountProblem}): run umount ${mnt} before pulling the stick`,
        );
      }
      console.log(
        `exported ${result.files} file(s) to ${stick.device}: ${result.folder.slice(mnt.length + 1)}/${
          mountedHere ? "; unmounted — the stick can be removed" : ` (left mounted on ${mnt}, as it was)`
        }`,
      );
    });
}
