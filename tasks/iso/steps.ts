// The steps of `deno task iso`, each a function the pipeline times and reports. File-system and process
// work lives here; the decisions (hashes, names, release text) are pure helpers beside them.

import { exec } from "../../bee/lib/exec.ts";
import { runProc } from "../../bee/lib/proc.ts";
import { type ContainerSetup, type Engine, imageArch, imageId, platformArch } from "./container.ts";
import type { Versions } from "./versions.ts";
import { splitKernelAbi } from "./versions.ts";

/** Hex SHA-256 of bytes. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Every file under dir (relative paths, sorted), following no symlinks. */
export async function listTree(
  dir: string,
  prefix = "",
): Promise<{ rel: string; kind: "file" | "link" | "dir" }[]> {
  const out: { rel: string; kind: "file" | "link" | "dir" }[] = [];
  const entries: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(`${dir}/${prefix}`)) entries.push(e);
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isSymlink) out.push({ rel, kind: "link" });
    else if (e.isDirectory) {
      out.push({ rel, kind: "dir" });
      out.push(...await listTree(dir, rel));
    } else out.push({ rel, kind: "file" });
  }
  return out;
}

/** A hash of a tree's paths, modes, link targets and contents: equal trees give equal hashes. */
export async function hashTree(dir: string, skip: (rel: string) => boolean = () => false): Promise<string> {
  const parts: string[] = [];
  for (const e of await listTree(dir)) {
    if (skip(e.rel)) continue;
    const p = `${dir}/${e.rel}`;
    if (e.kind === "link") parts.push(`L ${e.rel} ${await Deno.readLink(p)}`);
    else if (e.kind === "dir") parts.push(`D ${e.rel}`);
    else {
      const st = await Deno.stat(p);
      parts.push(`F ${e.rel} ${(st.mode ?? 0) & 0o777} ${await sha256Hex(await Deno.readFile(p))}`);
    }
  }
  return await sha256Hex(parts.join("\n"));
}

/** The `/etc/bee-release` text. */
export function releaseText(o: {
  version: string;
  commit: string;
  builtAt: string;
  inputs: string;
  v: Versions;
  authKeys: boolean;
  nvidia?: Record<string, string> | null;
}): string {
  return [
    `BEE_VERSION=${o.version}`,
    `BEE_GIT_COMMIT=${o.commit}`,
    `BEE_BUILD_TIME=${o.builtAt}`,
    `BEE_INPUTS_SHA256=${o.inputs}`,
    `DEBIAN_SUITE=${o.v.suite}`,
    `DEBIAN_KERNEL_ABI=${o.v.kernelAbi}`,
    `DENO_VERSION=${o.v.denoVersion}`,
    ...Object.entries(o.nvidia ?? { NVIDIA_DRIVER: "none" }).map(([k, val]) => `${k}=${val}`),
    `SSH_LOGIN=${o.authKeys ? "keys" : "per-boot-password"}`,
    "",
  ].join("\n");
}

/** The motd shown on SSH login. */
export function motdText(o: { version: string; commit: string; builtAt: string; v: Versions }): string {
  return [
    "",
    `  bee ${o.version} — offline hardware audit and burn-in (commit ${
      o.commit.slice(0, 12)
    }, built ${o.builtAt})`,
    `  Debian ${o.v.suite}, kernel ${o.v.kernelAbi}`,
    "",
    "  bee tui            operator menu        bee audit --output -   audit now",
    "  bee sat nvidia|memory|storage          acceptance tests (archives in /var/log/bee-sat)",
    "  web page: http://<this machine>/       versions: /etc/bee-release",
    "",
    "",
  ].join("\n");
}

/** Lines of an authorized_keys file that look like public keys; throws on anything else. */
export function checkAuthorizedKeys(text: string, path: string): string {
  const keys: string[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    if (
      !/^(?:[^\s]+\s+)?(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+|sk-[a-z0-9@.-]+)\s+[A-Za-z0-9+/=]+/.test(
        line,
      )
    ) {
      throw new Error(`${path}:${i + 1} is not an SSH public key`);
    }
    keys.push(line);
  }
  if (!keys.length) throw new Error(`${path} holds no SSH public key`);
  return keys.join("\n") + "\n";
}

/** Copies a tree with cp -a (modes, links), replacing dest. */
export async function copyTree(src: string, dest: string): Promise<void> {
  await Deno.mkdir(dest, { recursive: true });
  const r = await exec("cp", ["-a", `${src}/.`, `${dest}/`], { timeoutMs: 600_000 });
  if (r.kind !== "exited" || r.code !== 0) {
    throw new Error(`cp -a ${src} ${dest} failed: ${r.kind === "exited" ? r.stderr.trim() : r.kind}`);
  }
}

/** Removes a path as root would (the work dir holds root-owned chroot files). */
export async function removeTree(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
}

/** Makes the bee bundle (deno bundle) unless bee's sources are unchanged since the last one. */
export async function bundleBee(repo: string, outDir: string): Promise<{ path: string; cached: boolean }> {
  const inputs = await sha256Hex(
    [
      await hashTree(`${repo}/bee`),
      await sha256Hex(await Deno.readFile(`${repo}/deno.json`)),
      await sha256Hex(await Deno.readFile(`${repo}/deno.lock`)),
    ].join(" "),
  );
  const path = `${outDir}/bee.js`;
  const stamp = `${outDir}/.inputs`;
  if (
    (await Deno.readTextFile(stamp).catch(() => "")) === inputs && (await Deno.stat(path).catch(() => null))
  ) {
    return { path, cached: true };
  }
  await Deno.mkdir(outDir, { recursive: true });
  const deno = `${repo}/node_modules/.bin/deno`;
  const r = await exec(deno, [
    "bundle",
    "--quiet",
    "--platform",
    "deno",
    "-o",
    `${outDir}/bee.tmp.js`,
    `${repo}/bee/main.ts`,
  ], {
    timeoutMs: 300_000,
  });
  if (r.kind !== "exited" || r.code !== 0) {
    throw new Error(
      `deno bundle failed: ${r.kind === "exited" ? r.stderr.trim().split("\n").at(-1) : r.kind}`,
    );
  }
  await Deno.rename(`${outDir}/bee.tmp.js`, path);
  // the bundle must start: a bundle that cannot load its npm code fails here, not on the ISO
  const v = await exec(deno, ["run", "--quiet", "--no-config", "--allow-env", path, "version"], {
    timeoutMs: 60_000,
  });
  if (v.kind !== "exited" || v.code !== 0) {
    throw new Error(
      `the bee bundle does not run: ${v.kind === "exited" ? v.stderr.trim().split("\n")[0] : v.kind}`,
    );
  }
  await Deno.writeTextFile(stamp, inputs);
  return { path, cached: false };
}

/** The deno.json the ISO carries: only the permission sets, exactly as in the repository. */
export function isoDenoJson(repoDenoJson: string): string {
  const cfg = JSON.parse(repoDenoJson) as { permissions?: unknown };
  if (!cfg.permissions) throw new Error("deno.json has no permissions");
  return JSON.stringify({ permissions: cfg.permissions }, null, 2) + "\n";
}

/** The Deno runtime to ship: the pinned npm one, checked to be the version VERSIONS names. */
export async function checkDenoRuntime(repo: string, want: string): Promise<string> {
  const bin = `${repo}/node_modules/deno/deno`;
  const r = await exec(bin, ["--version"], { timeoutMs: 30_000 });
  const got = r.kind === "exited" ? /^deno (\S+)/.exec(r.stdout)?.[1] : undefined;
  if (!got) throw new Error(`${bin} does not run: run sh tasks/setup.sh first`);
  if (got !== want) throw new Error(`node_modules has deno ${got} but iso/builder/VERSIONS pins ${want}`);
  const pkg = JSON.parse(await Deno.readTextFile(`${repo}/package.json`)) as {
    devDependencies?: Record<string, string>;
  };
  if (pkg.devDependencies?.deno !== want) {
    throw new Error(
      `package.json pins deno ${pkg.devDependencies?.deno} but iso/builder/VERSIONS pins ${want}`,
    );
  }
  return bin;
}

/** The env file auto/config reads. */
export function buildEnv(v: Versions, version: string): string {
  const k = splitKernelAbi(v.kernelAbi);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    `DEBIAN_SUITE=${q(v.suite)}`,
    `BEE_MIRROR=${q(v.mirror)}`,
    `BEE_SECURITY_MIRROR=${q(v.securityMirror)}`,
    `BEE_LINUX_PACKAGE=${q(k.pkg)}`,
    `BEE_LINUX_FLAVOUR=${q(k.flavour)}`,
    `SQUASHFS_COMPRESSION=${q(v.squashfsCompression)}`,
    `BEE_VERSION=${q(version)}`,
    "",
  ].join("\n");
}

/** Ensures the builder image for the platform exists; rebuilds one of the wrong architecture. */
export async function ensureBuilderImage(o: {
  setup: ContainerSetup;
  repo: string;
  baseImage: string;
  platform: string;
  log: (s: string) => void;
  logFile: string;
}): Promise<{ tag: string; cached: boolean }> {
  const { engine } = o.setup;
  const baseId = await imageId(engine, o.baseImage);
  if (!baseId) throw new Error(`base image ${o.baseImage} is not there`);
  const dockerfile = await Deno.readTextFile(`${o.repo}/iso/builder/Dockerfile`);
  const tag = `localhost/bee-builder:${
    (await sha256Hex(`${dockerfile}\n${baseId}\n${o.platform}`)).slice(0, 16)
  }`;
  const want = platformArch(o.platform);
  const arch = await imageArch(engine, tag);
  if (arch === want) return { tag, cached: true };
  if (arch) {
    o.log(`builder image ${tag} is ${arch}, not ${want}: rebuilding it`);
    await exec(engine, ["rmi", "-f", tag], { timeoutMs: 60_000 });
  }
  const r = await runProc(
    engine,
    [
      "build",
      ...(engine === "podman" ? o.setup.buildArgs : []),
      "--network",
      "host",
      "--platform",
      o.platform,
      "--build-arg",
      `BASE_IMAGE=${o.baseImage}`,
      "-t",
      tag,
      "-f",
      `${o.repo}/iso/builder/Dockerfile`,
      `${o.repo}/iso/builder`,
    ],
    { timeoutMs: 30 * 60_000, stdoutPath: o.logFile },
  );
  if (r.kind !== "exited" || r.code !== 0) throw new Error(`builder image build failed (see ${o.logFile})`);
  const got = await imageArch(engine, tag);
  if (got !== want) throw new Error(`builder image ${tag} came out ${got}, not ${want}`);
  return { tag, cached: false };
}

/** Makes sure a base image is there: BEE_BASE_IMAGE / debian:trixie locally, pulled, or the debootstrap one. */
export async function ensureBaseImage(o: {
  engine: Engine;
  wanted: string;
  platform: string;
  suite: string;
  log: (s: string) => void;
  makeLocal: () => Promise<string>;
}): Promise<string> {
  if (await imageId(o.engine, o.wanted)) return o.wanted;
  const local = `localhost/bee-debian-base:${o.suite}`;
  if (await imageArch(o.engine, local) === platformArch(o.platform)) {
    o.log(`using ${local} (made with debootstrap)`);
    return local;
  }
  o.log(`pulling ${o.wanted}`);
  const pull = await exec(o.engine, ["pull", "--platform", o.platform, o.wanted], { timeoutMs: 120_000 });
  if (pull.kind === "exited" && pull.code === 0) return o.wanted;
  o.log(
    `no registry answers (${
      pull.kind === "exited" ? pull.stderr.trim().split("\n").at(-1) : pull.kind
    }); making ${local} with debootstrap`,
  );
  return await o.makeLocal();
}
