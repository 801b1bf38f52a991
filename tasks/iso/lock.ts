// The ISO's package lock (iso/builder/packages.lock): every Debian package in the image with its version, the
// hash of the inputs that decide the package set, and the NVIDIA/CUDA/kernel/Deno pins beside them. A build
// installs exactly the locked versions (a package list of `name=version` lines); a version the mirror no
// longer has stops the build before anything slow, in one line; `deno task iso:lock` re-resolves against the
// mirror (an unpinned build) and rewrites the lock. Parsing and checks are pure; the reads are thin.
import { sha256Hex } from "./steps.ts";
import { fetchPackages } from "./packages.ts";
import type { Versions } from "./versions.ts";

export const LOCK_PATH = "iso/builder/packages.lock";

export interface Lock {
  /** sha256 of the inputs that decide the package set (package lists, VERSIONS, auto/config, hooks) */
  inputs: string;
  packages: Map<string, string>;
  /** the SHA-256 of each package's .deb as Debian's Packages index gives it (where the index had it) */
  sha256: Map<string, string>;
  /** pins that are not Debian packages of the image (kernel ABI, NVIDIA, CUDA, NCCL, Deno) */
  pins: Record<string, string>;
}

/** The files whose content decides which packages the image gets, relative to the repository. */
export async function lockInputFiles(repo: string): Promise<string[]> {
  const out = ["iso/builder/VERSIONS", "iso/builder/auto/config"];
  for (const dir of ["iso/builder/config/package-lists", "iso/builder/config/hooks/normal"]) {
    const names = [];
    for await (const e of Deno.readDir(`${repo}/${dir}`)) if (e.isFile) names.push(e.name);
    out.push(...names.sort().map((n) => `${dir}/${n}`));
  }
  return out;
}

/** The hash of those inputs (names and contents). */
export async function lockInputsHash(repo: string): Promise<string> {
  const parts: string[] = [];
  for (const f of await lockInputFiles(repo)) parts.push(`${f}\n${await Deno.readTextFile(`${repo}/${f}`)}`);
  return await sha256Hex(parts.join("\0"));
}

/** The pins the lock repeats from VERSIONS (what is in the image besides Debian's packages). */
export function lockPins(v: Versions): Record<string, string> {
  const keys = [
    "DEBIAN_KERNEL_ABI",
    "DENO_VERSION",
    "NVIDIA_SOURCE",
    "NVIDIA_FLAVOR",
    "NVIDIA_DEBIAN_VERSION",
    "NVIDIA_RUNFILE_SHA256",
    "NVIDIA_FABRICMANAGER_SHA256",
    "CUDA_SERIES",
    "CUBLAS_DEBIAN_VERSION",
    "CUDA_DEBIAN_VERSION",
    "NCCL_DEBIAN_VERSION",
  ];
  return Object.fromEntries(keys.filter((k) => v.raw[k]).map((k) => [k, v.raw[k]!]));
}

/** `name<TAB>version` lines (live-build's filesystem.packages, `dpkg-query -W`) → name → version. */
export function parsePackageList(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const [name, version] = line.trim().split(/\s+/);
    if (name && version && /^[a-z0-9][a-z0-9+.-]*(:[a-z0-9]+)?$/.test(name)) m.set(name, version);
  }
  return m;
}

export function lockText(l: Lock): string {
  return [
    "# bee ISO package lock: every Debian package in the image and its version. Written by `deno task iso:lock`;",
    "# a build installs exactly these and stops when the mirror no longer has one. Do not edit by hand.",
    `# inputs ${l.inputs}`,
    ...Object.entries(l.pins).map(([k, v]) => `# pin ${k}=${v}`),
    ...[...l.packages].sort(([a], [b]) => a.localeCompare(b)).map(([n, v]) =>
      `${n} ${v}${l.sha256.get(n) ? ` ${l.sha256.get(n)}` : ""}`
    ),
    "",
  ].join("\n");
}

export function parseLock(text: string): Lock {
  const inputs = /^# inputs ([0-9a-f]{64})$/m.exec(text)?.[1];
  if (!inputs) throw new Error(`${LOCK_PATH} has no "# inputs" line`);
  const pins: Record<string, string> = {};
  for (const m of text.matchAll(/^# pin ([A-Z0-9_]+)=(.*)$/gm)) pins[m[1]!] = m[2]!;
  const lines = text.split("\n").filter((l) => l && !l.startsWith("#"));
  const sha256 = new Map<string, string>();
  for (const l of lines) {
    const [n, , sha] = l.split(/\s+/);
    if (n && sha && /^[0-9a-f]{64}$/.test(sha)) sha256.set(n, sha);
  }
  return { inputs, packages: parsePackageList(lines.join("\n")), sha256, pins };
}

/** Package → version → the .deb's SHA-256 ("" where the stanza has none), from Packages indexes. */
export type MirrorIndex = Map<string, Map<string, string>>;

/** Adds a Packages index's stanzas to `into`. */
export function indexVersions(packagesText: string, into: MirrorIndex = new Map()): MirrorIndex {
  for (const stanza of packagesText.split(/\n\n+/)) {
    const name = /^Package: (\S+)$/m.exec(stanza)?.[1];
    const version = /^Version: (\S+)$/m.exec(stanza)?.[1];
    if (!name || !version) continue;
    const versions = into.get(name) ?? new Map<string, string>();
    versions.set(version, /^SHA256: ([0-9a-f]{64})$/m.exec(stanza)?.[1] ?? "");
    into.set(name, versions);
  }
  return into;
}

/**
 * The first locked package the mirror does not offer as locked, in words — its version gone, or the same
 * version with another .deb (another SHA-256) — null when all are there.
 */
export function missingFromMirror(lock: Lock, mirror: MirrorIndex): string | null {
  for (const [full, version] of [...lock.packages].sort()) {
    const name = full.replace(/:[a-z0-9]+$/, "");
    const has = mirror.get(name);
    const sha = has?.get(version);
    if (sha === undefined) {
      return `package ${name} ${version} is no longer on the mirror${
        has ? ` (it has ${[...has.keys()].join(", ")})` : ""
      }: run \`deno task iso:lock\` to re-resolve the package set and rewrite ${LOCK_PATH}`;
    }
    const want = lock.sha256.get(full);
    if (want && sha && want !== sha) {
      return `package ${name} ${version} on the mirror is not the locked .deb (SHA-256 ${
        sha.slice(0, 16)
      }…, locked ${want.slice(0, 16)}…): check the mirror, or run \`deno task iso:lock\``;
    }
  }
  return null;
}

/** Each locked package's .deb SHA-256 from the mirror's index (where it has the locked version). */
export function debHashes(packages: Map<string, string>, mirror: MirrorIndex): Map<string, string> {
  const out = new Map<string, string>();
  for (const [full, version] of packages) {
    const sha = mirror.get(full.replace(/:[a-z0-9]+$/, ""))?.get(version);
    if (sha) out.set(full, sha);
  }
  return out;
}

/** Why the lock does not fit the current inputs (stale or missing), or null when it does. */
export function lockProblem(lock: Lock | null, inputs: string): string | null {
  if (!lock) return `${LOCK_PATH} is missing: run \`deno task iso:lock\``;
  if (lock.inputs !== inputs) {
    return `${LOCK_PATH} is stale (the package lists, VERSIONS, auto/config or hooks changed): run \`deno task iso:lock\``;
  }
  return null;
}

/** Every version of every package the mirrors offer for the suite (main, updates, security; all components). */
export async function mirrorIndex(v: Versions): Promise<MirrorIndex> {
  const out: MirrorIndex = new Map();
  const comps = ["main", "contrib", "non-free", "non-free-firmware"];
  const suites: [string, string][] = [
    [v.mirror, v.suite],
    [v.mirror, `${v.suite}-updates`],
    [v.securityMirror, `${v.suite}-security`],
  ];
  for (const [base, suite] of suites) {
    for (const c of comps) {
      try {
        indexVersions(await fetchPackages(`${base}/dists/${suite}/${c}/binary-amd64`), out);
      } catch (e) {
        if (suite === v.suite && c === "main") throw e; // the main suite must answer
      }
    }
  }
  return out;
}

/** The package-list file the build gets: one `name=version` per locked package. */
export function pinnedList(lock: Lock): string {
  return [
    "# generated from iso/builder/packages.lock: exactly these versions",
    // the image's own architecture unqualified: live-build reads `name:arch` in a list as a foreign architecture
    ...[...lock.packages].sort(([a], [b]) => a.localeCompare(b)).map(([n, v]) =>
      `${n.replace(/:amd64$/, "")}=${v}`
    ),
    "",
  ].join("\n");
}
