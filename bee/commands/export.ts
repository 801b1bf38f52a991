// `bee export [--to DIR] [--device DEV]`: copies the audit and every SAT archive off the machine (they live
// in RAM on a toram boot). Without --to it finds the USB stick, mounts it read-write, writes, syncs and
// unmounts it; a full, read-only or missing stick is one clear line and nothing half-written.
import { Command } from "commander";
import { PATHS } from "../lib/paths.ts";
import { ExitStatus, UserError } from "../lib/errors.ts";
import { exec } from "../lib/exec.ts";
import { forTerminal } from "../lib/text.ts";
import { exitCodeFor, onTermSignals } from "../lib/signals.ts";
import { auditOrNull } from "../model/load.ts";
import { bundleFiles, bundleName } from "../export/bundle.ts";
import { ExportAborted, exportTo } from "../export/copy.ts";
import { LSBLK_COLUMNS, type UsbTarget, usbTargets } from "../export/usb.ts";

const say = (s: string) => Deno.stderr.writeSync(new TextEncoder().encode(forTerminal(s) + "\n"));
const first = (s: string) => s.trim().split("\n")[0]?.slice(0, 200) ?? "";

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

/** Mount options for a stick bee writes to: nothing on it is followed, run or treated as a device. */
export const STICK_MOUNT_OPTIONS = "rw,noatime,nosymfollow,nodev,nosuid,noexec";

/** Mounts the stick on a fresh folder; without nosymfollow where the kernel lacks it (bee never follows links). */
async function mountStick(stick: UsbTarget): Promise<string> {
  const mnt = await Deno.makeTempDir({ dir: "/run", prefix: "bee-usb-" }).catch(() =>
    Deno.makeTempDir({ prefix: "bee-usb-" })
  );
  let m = await exec("mount", ["-o", STICK_MOUNT_OPTIONS, stick.device, mnt], { timeoutMs: 60_000 });
  if (m.kind === "exited" && m.code !== 0 && /nosymfollow|unknown|invalid/i.test(m.stderr)) {
    const older = STICK_MOUNT_OPTIONS.replace(",nosymfollow", "");
    m = await exec("mount", ["-o", older, stick.device, mnt], { timeoutMs: 60_000 });
  }
  if (m.kind !== "exited" || m.code !== 0) {
    await Deno.remove(mnt).catch(() => {});
    const why = m.kind === "exited" ? first(m.stderr || m.stdout) : m.kind;
    throw new UserError(`cannot mount ${stick.device} (${stick.fstype}): ${why}; nothing was written`);
  }
  return mnt;
}

/** SIGINT/SIGTERM during an export: the copy stops, its partial folder goes, the stick is synced and unmounted. */
function exportSignals(): { signal: AbortSignal; done(): void } {
  const c = new AbortController();
  return { signal: c.signal, done: onTermSignals((sig) => c.abort(sig)) };
}

/** One line and exit 130/143 after a signal, or the error as it was. */
function stopped(e: unknown, where: string): never {
  if (e instanceof ExportAborted) {
    say(`bee export: ${e.signal}: stopped; the partial export was removed${where}`);
    throw new ExitStatus(exitCodeFor(e.signal === "SIGINT" ? "SIGINT" : "SIGTERM"));
  }
  throw e;
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
      const name = bundleName(await auditOrNull(o.audit), new Date());
      const total = files.reduce((n, f) => n + f.size, 0);
      say(`bee export: ${files.length} file(s), ${(total / 1e6).toFixed(1)} MB → ${name}`);
      const sig = exportSignals();
      try {
        if (o.to) {
          const r = await exportTo(o.to, files, name, say, sig.signal).catch((e) => stopped(e, ""));
          console.log(`exported ${r.files} file(s) to ${r.folder}`);
          return;
        }
        await toStick(o.device, files, name, sig.signal);
      } finally {
        sig.done();
      }
    });
}

async function toStick(
  device: string | undefined,
  files: Awaited<ReturnType<typeof bundleFiles>>,
  name: string,
  signal: AbortSignal,
): Promise<void> {
  const stick = await findStick(device);
  if (stick.readOnly) {
    throw new UserError(`${stick.device} is read-only (write-protect switch?); nothing was written`);
  }
  let mnt = stick.mountpoint;
  let mountedHere = false;
  if (!mnt) {
    mnt = await mountStick(stick);
    mountedHere = true;
    say(`bee export: ${stick.device} mounted on ${mnt} (${STICK_MOUNT_OPTIONS})`);
  }
  let result;
  let failure: unknown = null;
  let umountProblem: string | null = null;
  try {
    result = await exportTo(mnt, files, name, say, signal);
  } catch (e) {
    failure = e;
  } finally {
    if (mountedHere) {
      await exec("sync", [], { timeoutMs: 300_000 });
      const u = await exec("umount", [mnt], { timeoutMs: 120_000 });
      if (u.kind === "exited" && u.code === 0) await Deno.remove(mnt).catch(() => {});
      else umountProblem = u.kind === "exited" ? first(u.stderr) : u.kind;
    }
  }
  if (failure) {
    stopped(failure, mountedHere && umountProblem === null ? "; the stick is synced and unmounted" : "");
  }
  if (umountProblem !== null) {
    throw new UserError(
      `written and synced to ${stick.device}, but umount failed (${umountProblem}): run umount ${mnt} before pulling the stick`,
    );
  }
  console.log(
    `exported ${result!.files} file(s) to ${stick.device}: ${result!.folder.slice(mnt.length + 1)}/${
      mountedHere ? "; unmounted — the stick can be removed" : ` (left mounted on ${mnt}, as it was)`
    }`,
  );
}
