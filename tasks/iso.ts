// `deno task iso [--authorized-keys FILE] [--expect FILE] [--out PATH] [--no-container] [--rebuild]`: builds the bee live
// ISO (Debian live-build in a privileged builder container) and prints its path last. Each step says what
// it does and how long it took; what is cached (bundle, images, apt downloads, the ISO by input hash) is
// reused and said so. Caches live in ${BEE_CACHE_DIR:-~/.cache/bee}/iso, outside the clone.

import { markUsed, pruneCache } from "./iso/cache.ts";
import { Command } from "commander";
import { BEE_VERSION } from "../bee/version.ts";
import { exec } from "../bee/lib/exec.ts";
import { runProc } from "../bee/lib/proc.ts";
import { detectEngine, probeRunArgs } from "./iso/container.ts";
import { makeBaseImage } from "./iso/base_image.ts";
import { mirrorKernelAbis, newestAbi } from "./iso/packages.ts";
import {
  buildEnv,
  bundleBee,
  checkAuthorizedKeys,
  checkDenoRuntime,
  copyTree,
  ensureBaseImage,
  ensureBuilderImage,
  motdText,
  releaseText,
  removeTree,
} from "./iso/steps.ts";
import { loadVersions, splitKernelAbi, type Versions } from "./iso/versions.ts";
import { buildNvidia, type NvidiaBuilt } from "./iso/nvidia_stage.ts";
import { stageImage } from "./iso/stage.ts";
import { nvidiaPins } from "./iso/nvidia.ts";
import { parseExpect } from "../bee/expect/load.ts";
import { writeNetboot } from "./iso/netboot.ts";
import { checkedLock, isoTime, sourceInfo, writeLockFrom } from "./iso/source.ts";
import { type Lock, lockPins, pinnedList } from "./iso/lock.ts";
import { sha256Hex } from "./iso/steps.ts";
import type { ContainerSetup } from "./iso/container.ts";

const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

function cacheRoot(): string {
  const env = Deno.env.toObject();
  return env.BEE_CACHE_DIR || `${env.XDG_CACHE_HOME || `${env.HOME ?? "/root"}/.cache`}/bee`;
}

/** live-build's package and bootstrap cache (BEE_LB_CACHE_DIR: another one, e.g. for a second, independent build). */
const lbCache = (cache: string) => Deno.env.get("BEE_LB_CACHE_DIR") || `${cache}/lb-cache`;

const t0 = performance.now();
function say(s: string): void {
  console.error(`[iso ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}`);
}

async function step<T>(name: string, f: () => Promise<T>, cachedNote?: (r: T) => string | null): Promise<T> {
  say(`${name} …`);
  const s = performance.now();
  const r = await f();
  const note = cachedNote?.(r);
  say(`${name}: ${note ?? "done"} (${((performance.now() - s) / 1000).toFixed(1)} s)`);
  return r;
}

/** The kernel ABI pin is checked against the mirror before anything slow starts. */
async function checkKernel(v: Versions): Promise<void> {
  const { flavour } = splitKernelAbi(v.kernelAbi);
  const abis = await mirrorKernelAbis(v.mirror, v.securityMirror, v.suite, flavour);
  if (!abis.includes(v.kernelAbi)) {
    throw new Error(
      `kernel ${v.kernelAbi} is no longer on the mirror (newest there: ${newestAbi(abis) ?? "none"}); ` +
        `run deno task iso:bump-kernel`,
    );
  }
}

/** The builder container, set up once per run (engine, base image, run arguments, builder image). */
let container: Promise<{ setup: ContainerSetup; tag: string; platform: string }> | null = null;
function builderContainer(v: Versions, logFile: string) {
  container ??= (async () => {
    const env = Deno.env.toObject();
    const platform = env.BEE_BUILDER_PLATFORM || "linux/amd64";
    const dist = `${repo}/dist`;
    const engine = await step("container engine", () => detectEngine(env), (e) => e);
    const base = await step("base image", () =>
      ensureBaseImage({
        engine,
        wanted: env.BEE_BASE_IMAGE || "debian:trixie",
        platform,
        suite: v.suite,
        log: say,
        makeLocal: () =>
          makeBaseImage({
            engine,
            suite: v.suite,
            mirror: v.mirror,
            platform,
            workDir: `${dist}/base`,
            logFile,
          }),
      }), (b) => b);
    const setup = await step(
      "container run arguments",
      () => probeRunArgs(engine, base),
      (s) => s.runArgs.join(" "),
    );
    const builder = await step(
      "builder image",
      () => ensureBuilderImage({ setup, repo, baseImage: base, platform, log: say, logFile }),
      (b) => `${b.tag}${b.cached ? " (cached)" : " (built)"}`,
    );
    return { setup, tag: builder.tag, platform };
  })();
  return container;
}

interface Options {
  authorizedKeys?: string;
  expect?: string;
  out?: string;
  container: boolean;
  rebuild?: boolean;
  netboot?: string;
  /** false: build without pinning the package set (deno task iso:lock) */
  lock: boolean;
  /** rewrite iso/builder/packages.lock from the built image */
  writeLock?: boolean;
}

/** The order file the ISO carries, checked against its schema before anything slow starts. */
async function checkExpect(path: string): Promise<string> {
  const text = await Deno.readTextFile(path).catch(() => {
    throw new Error(`cannot read --expect ${path}`);
  });
  try {
    parseExpect(text, path);
  } catch (e) {
    throw new Error(`--expect: ${(e as Error).message}`);
  }
  return text;
}

async function build(o: Options): Promise<string> {
  const expectText = o.expect ? await checkExpect(o.expect) : null;
  const dist = `${repo}/dist`;
  const cache = `${cacheRoot()}/iso`;
  await Deno.mkdir(dist, { recursive: true });
  await Deno.mkdir(`${cache}/images`, { recursive: true });
  await Deno.mkdir(lbCache(cache), { recursive: true });
  const v = await step(
    "versions",
    () => loadVersions(repo),
    (v) => `${v.suite}, kernel ${v.kernelAbi}, mirror ${v.mirror}`,
  );
  await step("kernel pin on the mirror", () => checkKernel(v), () => `${v.kernelAbi} is there`);
  const lock = o.lock
    ? await step(
      "package lock",
      () => checkedLock(repo, v),
      (l) => `${l.packages.size} packages, each on the mirror`,
    )
    : null;
  if (!lock) say("--no-lock: the package set is resolved against the mirror anew");
  const keys = o.authorizedKeys
    ? checkAuthorizedKeys(
      await Deno.readTextFile(o.authorizedKeys).catch(() => {
        throw new Error(`cannot read --authorized-keys ${o.authorizedKeys}`);
      }),
      o.authorizedKeys,
    )
    : null;
  const denoBin = await checkDenoRuntime(repo, v.denoVersion);

  const bundle = await step(
    "bee bundle",
    () => bundleBee(repo, `${dist}/bee-bundle`),
    (b) => b.cached ? "unchanged, reused" : "built",
  );

  // the NVIDIA parts: built in the builder container once per version and kernel, checked before use
  const pins = nvidiaPins(v.raw);
  const logFile = `${dist}/iso-build.log`;
  await Deno.writeTextFile(logFile, "");
  say(`full log: ${logFile}`);
  let nvidia: NvidiaBuilt | null = null;
  if (pins) {
    if (!o.container) {
      throw new Error(
        "the NVIDIA parts are built in the builder container: drop --no-container or set NVIDIA_SOURCE=none",
      );
    }
    const c = await builderContainer(v, logFile);
    nvidia = await buildNvidia({
      repo,
      cache,
      v,
      pins,
      engine: c.setup.engine,
      runArgs: c.setup.runArgs,
      builderTag: c.tag,
      logFile,
      step,
      say,
    });
  } else {
    say("NVIDIA_SOURCE=none: an image without NVIDIA parts");
  }

  // stage the image (iso/overlay stays untouched): tasks/iso/stage.ts, one function per source
  const stage = `${dist}/iso-stage`;
  const staged = await step(
    "stage the image",
    () => stageImage({ repo, stage, bundle: bundle.path, deno: denoBin, keys, expectText, nvidia, say }, v),
    (h) => `inputs ${h.slice(0, 16)}`,
  );
  // an unpinned build resolves the packages anew: never the same inputs as a locked one
  const inputs = lock ? staged : await sha256Hex(`${staged}\nunlocked`);

  const out = o.out ?? `${dist}/bee-${BEE_VERSION}-amd64.iso`;
  const cached = `${cache}/images/${inputs}.iso`;
  if (!o.rebuild && await Deno.stat(cached).catch(() => null)) {
    await step("ISO", async () => {
      await markUsed(cached);
      await publish(cached, out);
    }, () => `same inputs as a previous build: reused ${cached}`);
    return out;
  }

  await liveBuild({ o, v, stage, inputs, keys: !!keys, nvidia, dist, cache, cached, out, logFile, lock });
  return out;
}

/** Writes /etc/bee-release and the motd, runs live-build in its work dir, and caches and publishes the ISO. */
async function liveBuild(x: {
  o: Options;
  v: Versions;
  stage: string;
  inputs: string;
  keys: boolean;
  nvidia: NvidiaBuilt | null;
  dist: string;
  cache: string;
  cached: string;
  out: string;
  logFile: string;
  lock: Lock | null;
}): Promise<void> {
  const { o, v, stage, inputs, nvidia, dist, cache, cached, out, logFile } = x;
  // the commit's time stamps everything (SOURCE_DATE_EPOCH): two builds of one commit give one ISO
  const { commit, epoch } = await sourceInfo(repo);
  const builtAt = isoTime(epoch);
  await Deno.mkdir(`${stage}/etc`, { recursive: true });
  await Deno.writeTextFile(
    `${stage}/etc/bee-release`,
    releaseText({
      version: BEE_VERSION,
      commit,
      builtAt,
      inputs,
      v,
      authKeys: x.keys,
      nvidia: nvidia?.release ?? null,
    }),
  );
  await Deno.writeTextFile(`${stage}/etc/motd`, motdText({ version: BEE_VERSION, commit, builtAt, v }));

  const work = `${dist}/iso-work`;
  await step("live-build work dir", async () => {
    await removeTree(work);
    await copyTree(`${repo}/iso/builder`, work);
    await Deno.writeTextFile(`${work}/bee-build.env`, buildEnv(v, BEE_VERSION));
    await copyTree(stage, `${work}/config/includes.chroot`);
    if (x.lock) {
      await Deno.writeTextFile(`${work}/config/package-lists/zz-bee-lock.list.chroot`, pinnedList(x.lock));
    }
  });

  // live-build's package and bootstrap caches travel into the work dir as hard links (one mount for the
  // container: hard links across two bind mounts fail) and what the build added goes back afterwards
  await step(
    "apt and bootstrap cache into the work dir",
    () => syncCache(lbCache(cache), `${work}/cache`),
  );
  const lbScript = "lb config >/dev/null && lb build";
  const progress = (line: string) => {
    if (/^P: |^E: |^W: /.test(line) && line.length < 300) say(`  ${line}`);
  };
  try {
    await runLiveBuild(o, v, work, logFile, lbScript, progress, epoch);
  } finally {
    await step("apt and bootstrap cache back", () => syncCache(`${work}/cache`, lbCache(cache)));
  }
  const iso = `${work}/live-image-amd64.hybrid.iso`;
  if (!await Deno.stat(iso).catch(() => null)) throw new Error(`lb build made no ISO; see ${logFile}`);
  await step("size by part", () => reportSizes(work, `${dist}/iso-sizes.txt`), () => `${dist}/iso-sizes.txt`);
  await step("cache and publish", async () => {
    await Deno.rename(iso, `${cached}.tmp`);
    await Deno.rename(`${cached}.tmp`, cached);
    await markUsed(cached);
    await pruneCache(`${cache}/images`, 2, cached);
    await publish(cached, out);
  });
}

/** lb config && lb build, in the builder container or (--no-container) on this host. */
async function runLiveBuild(
  o: Options,
  v: Versions,
  work: string,
  logFile: string,
  lbScript: string,
  progress: (line: string) => void,
  epoch: number,
): Promise<void> {
  if (o.container) {
    const { setup, tag, platform } = await builderContainer(v, logFile);
    const engine = setup.engine;
    const builder = { tag };
    await step("lb config && lb build (in the container)", async () => {
      const r = await runProc(engine, [
        "run",
        "--rm",
        "--privileged",
        "--network",
        "host",
        ...setup.runArgs,
        "--platform",
        platform,
        "-e",
        `SOURCE_DATE_EPOCH=${epoch}`,
        "-v",
        `${work}:/build`,
        "-w",
        "/build",
        builder.tag,
        "sh",
        "-c",
        lbScript,
      ], { timeoutMs: 150 * 60_000, stdoutPath: logFile, onLine: progress });
      if (r.kind !== "exited" || r.code !== 0) {
        throw new Error(`lb build failed (${r.kind}, exit ${"code" in r ? r.code : "?"}); see ${logFile}`);
      }
    });
  } else {
    if (Deno.uid?.() !== 0) throw new Error("--no-container needs root (live-build mounts and chroots)");
    if ((await exec("lb", ["--version"], { timeoutMs: 10_000 })).kind === "missing") {
      throw new Error("--no-container needs live-build on this host (apt-get install live-build)");
    }
    await step("lb config && lb build (on this host)", async () => {
      const r = await runProc("sh", ["-c", `cd '${work}' && ${lbScript}`], {
        env: { SOURCE_DATE_EPOCH: String(epoch) },
        timeoutMs: 150 * 60_000,
        stdoutPath: logFile,
        onLine: progress,
      });
      if (r.kind !== "exited" || r.code !== 0) throw new Error(`lb build failed; see ${logFile}`);
    });
  }
}

/** What takes the room: boot files and the squashfs (compressed), the root filesystem's top folders (unpacked). */
async function reportSizes(work: string, out: string): Promise<void> {
  const parts = [
    "binary/live/vmlinuz",
    "binary/live/initrd.img",
    "binary/live/filesystem.squashfs",
    "chroot/usr/local/lib/nvidia",
    "chroot/usr/local/lib/bee",
    "chroot/usr/local/bin",
    "chroot/usr/lib/firmware",
    "chroot/usr/lib/modules",
    "chroot/usr/lib/x86_64-linux-gnu",
    "chroot/usr/bin",
    "chroot/usr/sbin",
    "chroot/usr/share",
    "chroot/etc",
  ];
  const lines: string[] = [];
  for (const p of parts) {
    const r = await exec("du", ["-s", "-B1", `${work}/${p}`], { timeoutMs: 120_000 });
    if (r.kind !== "exited" || r.code !== 0) continue;
    const bytes = Number(r.stdout.split(/\s+/)[0]);
    lines.push(`${(bytes / 2 ** 20).toFixed(1).padStart(8)} MiB  ${p}`);
  }
  await Deno.writeTextFile(out, lines.join("\n") + "\n");
  for (const l of lines) say(`  ${l}`);
}

/** Copies a tree's new files into another, as hard links where the file system allows. */
async function syncCache(src: string, dest: string): Promise<void> {
  if (!await Deno.stat(src).catch(() => null)) return;
  await Deno.mkdir(dest, { recursive: true });
  for (const args of [["-a", "-l", "-n"], ["-a", "-n"]]) {
    const r = await exec("cp", [...args, `${src}/.`, `${dest}/`], { timeoutMs: 600_000 });
    if (r.kind === "exited" && r.code === 0) return;
  }
  throw new Error(`cannot copy the build cache ${src} to ${dest}`);
}

/** Keeps the newest `keep` cached ISOs. */
/** Writes iso/builder/packages.lock from the package list inside the built ISO. */
async function relock(iso: string): Promise<void> {
  const v = await loadVersions(repo);
  const tmp = await Deno.makeTempDir({ prefix: "bee-lock-" });
  try {
    const r = await exec("xorriso", [
      "-osirrox",
      "on",
      "-indev",
      iso,
      "-extract",
      "/live/filesystem.packages",
      `${tmp}/p`,
    ], {
      timeoutMs: 120_000,
    });
    if (r.kind !== "exited" || r.code !== 0) {
      throw new Error("xorriso could not read /live/filesystem.packages of the ISO");
    }
    const n = await writeLockFrom(repo, v, `${tmp}/p`);
    say(`iso/builder/packages.lock: ${n} packages written`);
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/** `<iso>.SOURCES`: what the ISO was made from (commit, lock, kernel, NVIDIA, CUDA, Deno), and its sha256 said. */
async function sources(iso: string, o: Options): Promise<void> {
  const v = await loadVersions(repo);
  const src = await sourceInfo(repo);
  const lockText = await Deno.readTextFile(`${repo}/iso/builder/packages.lock`).catch(() => "");
  const sum = (await Deno.readTextFile(`${iso}.sha256`)).split(/\s+/)[0]!;
  const lines = [
    `BEE_VERSION=${BEE_VERSION}`,
    `BEE_GIT_COMMIT=${src.commit}`,
    `SOURCE_DATE_EPOCH=${src.epoch}`,
    `PACKAGES_LOCK_SHA256=${o.lock ? await sha256Hex(lockText) : "none (built with --no-lock)"}`,
    `DEBIAN_SUITE=${v.suite}`,
    `DEBIAN_MIRROR=${v.mirror}`,
    ...Object.entries(lockPins(v)).map(([k, val]) => `${k}=${val}`),
    `ISO_SHA256=${sum}`,
    "",
  ];
  await Deno.writeTextFile(`${iso}.SOURCES.tmp`, lines.join("\n"));
  await Deno.rename(`${iso}.SOURCES.tmp`, `${iso}.SOURCES`);
  say(`sha256 ${sum}  (${iso}.sha256, ${iso}.SOURCES)`);
}

/**
 * The netboot folder from the built ISO; the iPXE loaders come from the builder image (Debian's ipxe
 * package), or from this host's /usr/lib/ipxe with --no-container.
 */
async function netboot(o: Options, iso: string): Promise<void> {
  const dir = o.netboot!;
  const loaders = async (to: string): Promise<string[]> => {
    const names = ["undionly.kpxe", "ipxe.efi", "snponly.efi"];
    if (o.container) {
      const v = await loadVersions(repo);
      const c = await builderContainer(v, `${repo}/dist/iso-build.log`);
      const cp = names.map((n) => `cp /usr/lib/ipxe/${n} /out/ 2>/dev/null;`).join(" ");
      const r = await runProc(c.setup.engine, [
        "run",
        "--rm",
        ...c.setup.runArgs,
        "--platform",
        c.platform,
        "-v",
        `${to}:/out`,
        c.tag,
        "sh",
        "-c",
        `${cp} true`,
      ], { timeoutMs: 300_000 });
      if (r.kind !== "exited" || r.code !== 0) say("iPXE loaders: the builder image could not copy them");
    } else {
      for (const n of names) await Deno.copyFile(`/usr/lib/ipxe/${n}`, `${to}/${n}`).catch(() => {});
    }
    const have: string[] = [];
    for (const n of names) if (await Deno.stat(`${to}/${n}`).catch(() => null)) have.push(n);
    return have;
  };
  const r = await step(
    `netboot folder ${dir}`,
    async () =>
      writeNetboot({ iso, dir, version: BEE_VERSION, commit: (await sourceInfo(repo)).commit, loaders }),
    (r) => `squashfs sha256 ${r.squashfsSha256.slice(0, 16)}…`,
  );
  say(`  kernel line: ${r.cmdline}`);
}

/** Copies the ISO to `out` (temp + rename) and writes `out.sha256` beside it. */
async function publish(src: string, out: string): Promise<void> {
  await Deno.mkdir(out.replace(/\/[^/]*$/, "") || ".", { recursive: true });
  const tmp = `${out}.tmp`;
  const r = await exec("cp", ["--reflink=auto", src, tmp], { timeoutMs: 600_000 });
  if (r.kind !== "exited" || r.code !== 0) throw new Error(`cannot write ${out}`);
  await Deno.rename(tmp, out);
  const s = await exec("sha256sum", [out], { timeoutMs: 600_000 });
  if (s.kind !== "exited" || s.code !== 0) throw new Error(`sha256sum ${out} failed`);
  const sum = s.stdout.split(/\s+/)[0]!;
  await Deno.writeTextFile(`${out}.sha256`, `${sum}  ${out.replace(/^.*\//, "")}\n`);
}

if (import.meta.main) {
  const program = new Command("iso")
    .description("build the bee live ISO")
    .option("--authorized-keys <file>", "SSH public keys for root (without: a random password per boot)")
    .option("--expect <file>", "expected bill of materials every boot's audit compares with (bee expect)")
    .option("--out <path>", "where the ISO goes (default dist/bee-<version>-amd64.iso)")
    .option("--no-container", "run live-build on this host (Debian, root) instead of the builder container")
    .option("--rebuild", "build even when an ISO of the same inputs is cached")
    .option(
      "--netboot <dir>",
      "also write the network boot folder (kernel, initrd, squashfs, bee.ipxe, README.txt)",
    )
    .option("--no-lock", "resolve the package set against the mirror instead of iso/builder/packages.lock")
    .option("--write-lock", "rewrite iso/builder/packages.lock from the built image (deno task iso:lock)")
    .action(async (o: Options) => {
      const path = await build(o);
      await sources(path, o);
      if (o.writeLock) await relock(path);
      if (o.netboot) await netboot(o, path);
      const st = await Deno.stat(path);
      say(
        `ISO ${(st.size / 1024 / 1024).toFixed(0)} MiB, total ${
          ((performance.now() - t0) / 1000).toFixed(0)
        } s`,
      );
      console.log(path);
    });
  try {
    await program.parseAsync(["deno", "iso", ...Deno.args]);
  } catch (e) {
    console.error(`iso: ${(e as Error).message}`);
    if (Deno.env.get("BEE_DEBUG")) console.error(e);
    Deno.exit(1);
  }
}
