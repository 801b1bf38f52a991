// `deno task iso:pin-fabricmanager`: fills NVIDIA_FABRICMANAGER_URL and NVIDIA_FABRICMANAGER_SHA256 in
// iso/builder/VERSIONS from NVIDIA's redistributable manifest (redistrib_<driver>.json) for exactly the pinned
// driver version. Run it on a build host with internet; the ISO build then fetches and verifies the archive.
// BEE_NVIDIA_REDIST_URL points it at another copy of the redist tree (the tests serve one on 127.0.0.1);
// BEE_REPO at another checkout.

import { atomicWrite } from "../bee/lib/atomic_write.ts";
import { nvidiaPins, runfileVersion } from "./iso/nvidia.ts";
import { parseVersionsFile } from "./iso/versions.ts";
import { NVIDIA_REDIST_URL, parseRedistManifest, setFabricManagerPins } from "./iso/fabricmanager.ts";

/** The driver version VERSIONS pins (Debian's upstream version, or the runfile's). */
export function pinnedDriverVersion(raw: Record<string, string>): string {
  const pins = nvidiaPins(raw);
  if (!pins) throw new Error("NVIDIA_SOURCE=none: no driver, so no Fabric Manager to pin");
  return pins.source === "runfile"
    ? runfileVersion(pins.runfileUrl!)
    : pins.debianVersion.replace(/-[^-]+$/, "");
}

/** Reads the manifest and returns the new VERSIONS text with both pins, and what it pinned. */
export async function pinFabricManager(
  versionsText: string,
  base: string,
): Promise<{ text: string; url: string; sha256: string; version: string }> {
  const version = pinnedDriverVersion(parseVersionsFile(versionsText));
  const root = base.replace(/\/+$/, "");
  const manifestUrl = `${root}/redistrib_${version}.json`;
  let res: Response;
  try {
    res = await fetch(manifestUrl, { signal: AbortSignal.timeout(60_000) });
  } catch (e) {
    throw new Error(`${manifestUrl}: ${(e as Error).message}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`${manifestUrl}: HTTP ${res.status} (no redistributables for driver ${version}?)`);
  }
  const m = parseRedistManifest(await res.text(), version);
  const url = `${root}/${m.relativePath}`;
  return { text: setFabricManagerPins(versionsText, url, m.sha256), url, sha256: m.sha256, version };
}

if (import.meta.main) {
  const repo = Deno.env.get("BEE_REPO") || new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const base = Deno.env.get("BEE_NVIDIA_REDIST_URL") || NVIDIA_REDIST_URL;
  const path = `${repo}/iso/builder/VERSIONS`;
  try {
    const r = await pinFabricManager(await Deno.readTextFile(path), base);
    await atomicWrite(path, r.text);
    console.log(`Fabric Manager ${r.version}: ${r.url}`);
    console.log(`sha256 ${r.sha256} (written to iso/builder/VERSIONS)`);
  } catch (e) {
    console.error(`iso:pin-fabricmanager: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
