// NVIDIA Fabric Manager in the image (8-GPU HGX boards with NVSwitches cannot start CUDA without it).
//
// Debian does not package it. NVIDIA publishes it as a redistributable archive per driver version,
// `fabricmanager-linux-x86_64-<version>-archive.tar.xz`, listed with its SHA-256 in a JSON manifest
// (`redistrib_<version>.json`). At build time the archive of exactly the pinned driver version is fetched
// from NVIDIA_FABRICMANAGER_URL, checked against NVIDIA_FABRICMANAGER_SHA256, unpacked and its layout checked
// into the cache (with a MANIFEST), and only then staged; nothing is fetched at boot. With both pins empty
// the image is built without it and says so in /etc/bee-release. `deno task iso:pin-fabricmanager` fills the
// pins from NVIDIA's manifest on a build host with internet.
//
// Staged:  /usr/bin/nv-fabricmanager, /usr/bin/nvswitch-audit, /usr/local/lib/nvidia/lib/libnvfm.so.1,
//          /usr/share/nvidia/nvswitch/ (fabricmanager.cfg and the *_topology files),
//          /etc/systemd/system/nvidia-fabricmanager.service (started by bee-nvidia on NVSwitch systems only)

import { exec } from "../../bee/lib/exec.ts";
import { fetchVerified, verifyManifest, writeManifest } from "./nvidia.ts";
import { copyTree, listTree } from "./steps.ts";

/** Where NVIDIA publishes the driver redistributables and their manifests. */
export const NVIDIA_REDIST_URL = "https://developer.download.nvidia.com/compute/nvidia-driver/redist";

/** The archive's name for a driver version. */
export function fabricManagerArchiveName(version: string): string {
  return `fabricmanager-linux-x86_64-${version}-archive.tar.xz`;
}

export interface FabricManagerPins {
  url: string;
  sha256: string;
}

/**
 * The Fabric Manager pins for this driver version: null when both are empty (an image without it); an error
 * when only one is set or when the URL names another driver version (Fabric Manager must match the driver).
 */
export function fabricManagerPins(
  url: string | null,
  sha256: string | null,
  driverVersion: string,
): FabricManagerPins | null {
  if (!url && !sha256) return null;
  if (!url || !sha256) {
    throw new Error(
      "NVIDIA_FABRICMANAGER_URL and NVIDIA_FABRICMANAGER_SHA256 go together (set both or neither)",
    );
  }
  const want = fabricManagerArchiveName(driverVersion);
  const name = url.replace(/[?#].*$/, "").replace(/^.*\//, "");
  if (name !== want) {
    throw new Error(
      `NVIDIA_FABRICMANAGER_URL names ${name}, but the driver is ${driverVersion} (${want}); ` +
        "run deno task iso:pin-fabricmanager",
    );
  }
  return { url, sha256 };
}

/** Files the archive must hold (relative to its top folder). */
const REQUIRED = ["bin/nv-fabricmanager", "lib/libnvfm.so.1", "etc/fabricmanager.cfg"];

/** The layout check of an unpacked archive: null when it is Fabric Manager's, else what is wrong. */
export async function checkFabricManagerTree(dir: string): Promise<string | null> {
  for (const f of REQUIRED) {
    const st = await Deno.lstat(`${dir}/${f}`).catch(() => null);
    if (!st?.isFile) return `the archive lacks ${f}`;
  }
  const topo = (await listTree(`${dir}/share/nvidia/nvswitch`).catch(() => []))
    .filter((e) => e.kind === "file" && /_topology$/.test(e.rel));
  if (!topo.length) return "the archive has no NVSwitch topology files (share/nvidia/nvswitch/*_topology)";
  return null;
}

/**
 * Fetches, verifies and unpacks the pinned archive into the cache, once: `<cache>/fabricmanager-<version>-<sha>`
 * holds the unpacked tree and a MANIFEST, and is reused while every file matches it. A wrong checksum, a
 * cut-short download, an archive of another version or one that lacks a file throws and leaves no tree.
 */
export async function fetchFabricManager(
  pins: FabricManagerPins,
  version: string,
  cache: string,
): Promise<{ dir: string; cached: boolean }> {
  const tag = pins.sha256.slice(0, 16);
  const dir = `${cache}/fabricmanager-${version}-${tag}`;
  if (await Deno.stat(`${dir}/MANIFEST`).catch(() => null)) {
    if (!(await verifyManifest(dir))) return { dir, cached: true };
    await Deno.remove(dir, { recursive: true });
  }
  const archive = `${cache}/downloads/fabricmanager-${tag}/${fabricManagerArchiveName(version)}`;
  await fetchVerified(pins.url, pins.sha256, archive);
  const tmp = `${dir}.tmp`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp, { recursive: true });
  try {
    const top = fabricManagerArchiveName(version).replace(/\.tar\.xz$/, "");
    const list = await exec("tar", ["-tJf", archive], { timeoutMs: 5 * 60_000 });
    if (list.kind !== "exited" || list.code !== 0) {
      throw new Error("the Fabric Manager archive does not unpack");
    }
    const names = list.stdout.split("\n").filter(Boolean);
    if (!names.every((n) => n === `${top}/` || n.startsWith(`${top}/`))) {
      throw new Error(`the Fabric Manager archive is not ${top}/ (found ${names[0] ?? "nothing"})`);
    }
    if (names.some((n) => n.split("/").includes(".."))) {
      throw new Error("the Fabric Manager archive climbs out");
    }
    const x = await exec("tar", ["-xJf", archive, "-C", tmp, "--strip-components=1", "--no-same-owner"], {
      timeoutMs: 5 * 60_000,
    });
    if (x.kind !== "exited" || x.code !== 0) throw new Error("the Fabric Manager archive does not unpack");
    const problem = await checkFabricManagerTree(tmp);
    if (problem) throw new Error(`Fabric Manager ${version}: ${problem}`);
    await Deno.writeTextFile(`${tmp}/VERSION`, `${version}\n`);
    await writeManifest(tmp);
    await Deno.rename(tmp, dir);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  return { dir, cached: false };
}

/** The unit bee-nvidia starts on NVSwitch systems (not enabled: a machine without NVSwitches never runs it). */
export function fabricManagerUnit(): string {
  return `# NVIDIA Fabric Manager (from NVIDIA's redistributable archive, same version as the driver). Not enabled:
# bee-nvidia starts it when NVSwitches are on the PCI bus, after the modules are loaded and before anything
# touches CUDA, and waits for the fabric to be ready (no After=bee-nvidia.service: bee-nvidia starts it from
# inside its own start job, which such an ordering would deadlock).
[Unit]
Description=NVIDIA Fabric Manager (NVSwitch systems)

[Service]
Type=forking
ExecStart=/usr/bin/nv-fabricmanager -c /usr/share/nvidia/nvswitch/fabricmanager.cfg
TimeoutStartSec=240
LimitCORE=infinity
`;
}

/**
 * Stages a verified tree into the ISO tree. The cached tree is checked against its MANIFEST first: a tree
 * that changed since it was verified stages nothing.
 */
export async function stageFabricManager(dir: string, stage: string): Promise<string> {
  const problem = await verifyManifest(dir);
  if (problem) throw new Error(`Fabric Manager in the cache: ${problem}`);
  const version = (await Deno.readTextFile(`${dir}/VERSION`)).trim();
  await Deno.mkdir(`${stage}/usr/bin`, { recursive: true });
  for (const b of ["nv-fabricmanager", "nvswitch-audit"]) {
    if (!(await Deno.stat(`${dir}/bin/${b}`).catch(() => null))) continue;
    await Deno.copyFile(`${dir}/bin/${b}`, `${stage}/usr/bin/${b}`);
    await Deno.chmod(`${stage}/usr/bin/${b}`, 0o755);
  }
  const lib = `${stage}/usr/local/lib/nvidia/lib`;
  await Deno.mkdir(lib, { recursive: true });
  await Deno.copyFile(`${dir}/lib/libnvfm.so.1`, `${lib}/libnvfm.so.1`);
  const share = `${stage}/usr/share/nvidia/nvswitch`;
  await Deno.mkdir(share, { recursive: true });
  await copyTree(`${dir}/share/nvidia/nvswitch`, share);
  await Deno.copyFile(`${dir}/etc/fabricmanager.cfg`, `${share}/fabricmanager.cfg`);
  await Deno.mkdir(`${stage}/etc/systemd/system`, { recursive: true });
  await Deno.writeTextFile(`${stage}/etc/systemd/system/nvidia-fabricmanager.service`, fabricManagerUnit());
  await Deno.writeTextFile(`${stage}/usr/local/lib/nvidia/FABRICMANAGER_VERSION`, `${version}\n`);
  return version;
}

/** NVIDIA's redistributable manifest: the Fabric Manager archive for linux-x86_64 (path and SHA-256). */
export function parseRedistManifest(
  text: string,
  version: string,
): { relativePath: string; sha256: string } {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw new Error(`redistrib_${version}.json is not JSON`);
  }
  const fm = (j as Record<string, unknown> | null)?.["fabricmanager"] as Record<string, unknown> | undefined;
  const x = fm?.["linux-x86_64"] as Record<string, unknown> | undefined;
  const rel = x?.["relative_path"], sha = x?.["sha256"];
  if (typeof rel !== "string" || typeof sha !== "string") {
    throw new Error(`redistrib_${version}.json lists no fabricmanager linux-x86_64 archive`);
  }
  if (!/^[0-9a-f]{64}$/.test(sha)) {
    throw new Error(`redistrib_${version}.json: sha256 '${sha.slice(0, 80)}' is not one`);
  }
  if (
    rel.split("/").includes("..") || rel.startsWith("/") || !rel.endsWith(fabricManagerArchiveName(version))
  ) {
    throw new Error(`redistrib_${version}.json: unexpected path '${rel.slice(0, 120)}'`);
  }
  if (typeof fm?.["version"] === "string" && fm["version"] !== version) {
    throw new Error(`redistrib_${version}.json lists Fabric Manager ${fm["version"]}, not ${version}`);
  }
  return { relativePath: rel, sha256: sha };
}

/** VERSIONS text with both Fabric Manager pins set (other lines kept as they are). */
export function setFabricManagerPins(versionsText: string, url: string, sha256: string): string {
  const lines = versionsText.split("\n");
  const set = (key: string, value: string) => {
    const i = lines.findIndex((l) => l.startsWith(`${key}=`));
    if (i >= 0) lines[i] = `${key}=${value}`;
    else lines.splice(lines.at(-1) === "" ? lines.length - 1 : lines.length, 0, `${key}=${value}`);
  };
  set("NVIDIA_FABRICMANAGER_URL", url);
  set("NVIDIA_FABRICMANAGER_SHA256", sha256);
  return lines.join("\n");
}
