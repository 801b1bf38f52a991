// What a build is made from, for reproducibility: the commit that last changed what goes into the image and
// its time (SOURCE_DATE_EPOCH, which live-build, debootstrap, the initramfs, mksquashfs and xorriso honour),
// and the package lock checked before anything slow.
import { exec } from "../../bee/lib/exec.ts";
import {
  debHashes,
  type Lock,
  LOCK_PATH,
  lockInputsHash,
  lockPins,
  lockProblem,
  lockText,
  mirrorIndex,
  missingFromMirror,
  parseLock,
  parsePackageList,
} from "./lock.ts";
import type { Versions } from "./versions.ts";

/** What goes into the image: a commit touching none of these builds the same ISO. */
export const IMAGE_PATHS = [
  "bee",
  "bin",
  "iso",
  "tasks/iso.ts",
  "tasks/iso",
  "deno.json",
  "deno.lock",
  "package.json",
  "package-lock.json",
];

export interface Source {
  /** the last commit that changed the image's inputs (`-dirty` when they have uncommitted changes) */
  commit: string;
  /** its committer time, or SOURCE_DATE_EPOCH from the environment */
  epoch: number;
}

/** The build's source commit and SOURCE_DATE_EPOCH. */
export async function sourceInfo(repo: string): Promise<Source> {
  const env = Deno.env.get("SOURCE_DATE_EPOCH");
  const log = await exec("git", ["-C", repo, "log", "-1", "--format=%H %ct", "--", ...IMAGE_PATHS], {
    timeoutMs: 10_000,
  });
  const [hash, ct] = log.kind === "exited" && log.code === 0 ? log.stdout.trim().split(" ") : [];
  const st = await exec("git", ["-C", repo, "status", "--porcelain", "--", ...IMAGE_PATHS], {
    timeoutMs: 10_000,
  });
  const dirty = st.kind === "exited" && st.stdout.trim() !== "";
  const epoch = env && /^\d{1,12}$/.test(env) ? Number(env) : ct ? Number(ct) : 0;
  if (!epoch) {
    throw new Error("no SOURCE_DATE_EPOCH: not a git checkout (set SOURCE_DATE_EPOCH to build anyway)");
  }
  return { commit: `${hash ?? "unknown"}${dirty ? "-dirty" : ""}`, epoch };
}

/** UTC ISO time of an epoch, without milliseconds. */
export const isoTime = (epoch: number) => new Date(epoch * 1000).toISOString().replace(/\.\d+Z$/, "Z");

/** The lock, checked: fits the inputs and every locked version is on the mirror. Throws one line otherwise. */
export async function checkedLock(repo: string, v: Versions): Promise<Lock> {
  const text = await Deno.readTextFile(`${repo}/${LOCK_PATH}`).catch(() => null);
  const lock = text === null ? null : parseLock(text);
  const why = lockProblem(lock, await lockInputsHash(repo));
  if (why) throw new Error(why);
  const missing = missingFromMirror(lock!, await mirrorIndex(v));
  if (missing) throw new Error(missing);
  return lock!;
}

/** Rewrites the lock from what an (unpinned) build put into the image (live-build's filesystem.packages). */
export async function writeLockFrom(repo: string, v: Versions, packagesFile: string): Promise<number> {
  const packages = parsePackageList(await Deno.readTextFile(packagesFile));
  if (packages.size < 50) {
    throw new Error(`${packagesFile} lists only ${packages.size} packages: not writing the lock`);
  }
  const sha256 = debHashes(packages, await mirrorIndex(v));
  const text = lockText({ inputs: await lockInputsHash(repo), packages, sha256, pins: lockPins(v) });
  const tmp = `${repo}/${LOCK_PATH}.tmp`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, `${repo}/${LOCK_PATH}`);
  return packages.size;
}
