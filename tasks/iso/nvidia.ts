// The NVIDIA parts of the ISO: kernel modules for the pinned kernel ABI with nvidia-smi, NVML, libcuda and
// the GSP firmware of the same driver version; cuBLAS/cuBLASLt/cudart of one CUDA series; bee-gpu-stress
// compiled against exactly those headers. Each part is built once by iso/builder/nvidia/build.sh in the
// builder container, kept in the cache with a MANIFEST of SHA-256 sums, and checked against it before use.

import { exec } from "../../bee/lib/exec.ts";
import { runProc } from "../../bee/lib/proc.ts";
import { listTree, sha256Hex } from "./steps.ts";
import type { Versions } from "./versions.ts";

/** The NVIDIA pins of VERSIONS. */
export interface NvidiaPins {
  source: "debian" | "runfile";
  flavor: "open" | "proprietary";
  debianVersion: string;
  cublasDebianVersion: string;
  cudaDebianVersion: string;
  cudaSeries: string;
  ncclDebianVersion: string;
  runfileUrl: string | null;
  runfileSha256: string | null;
  fabricManagerUrl: string | null;
  fabricManagerSha256: string | null;
}

/** Reads and checks the NVIDIA keys of VERSIONS; null when NVIDIA_SOURCE=none. */
export function nvidiaPins(raw: Record<string, string>): NvidiaPins | null {
  const source = raw.NVIDIA_SOURCE ?? "debian";
  if (source === "none") return null;
  if (source !== "debian" && source !== "runfile") {
    throw new Error(`NVIDIA_SOURCE must be debian, runfile or none`);
  }
  const flavor = raw.NVIDIA_FLAVOR ?? "open";
  if (flavor !== "open" && flavor !== "proprietary") {
    throw new Error(`NVIDIA_FLAVOR must be open or proprietary`);
  }
  const need = (k: string) => {
    const v = raw[k];
    if (!v) throw new Error(`iso/builder/VERSIONS: ${k} is missing`);
    return v;
  };
  const sha = (k: string) => {
    const v = raw[k] || null;
    if (v && !/^[0-9a-f]{64}$/.test(v)) throw new Error(`${k} must be a SHA-256 (64 hex digits)`);
    return v;
  };
  const pins: NvidiaPins = {
    source,
    flavor,
    debianVersion: need("NVIDIA_DEBIAN_VERSION"),
    cublasDebianVersion: need("CUBLAS_DEBIAN_VERSION"),
    cudaDebianVersion: need("CUDA_DEBIAN_VERSION"),
    cudaSeries: need("CUDA_SERIES"),
    ncclDebianVersion: need("NCCL_DEBIAN_VERSION"),
    runfileUrl: raw.NVIDIA_RUNFILE_URL || null,
    runfileSha256: sha("NVIDIA_RUNFILE_SHA256"),
    fabricManagerUrl: raw.NVIDIA_FABRICMANAGER_URL || null,
    fabricManagerSha256: sha("NVIDIA_FABRICMANAGER_SHA256"),
  };
  if (source === "runfile" && !(pins.runfileUrl && pins.runfileSha256)) {
    throw new Error("NVIDIA_SOURCE=runfile needs NVIDIA_RUNFILE_URL and NVIDIA_RUNFILE_SHA256");
  }
  if (
    !pins.cublasDebianVersion.includes(`~${pins.cudaSeries}`) ||
    !pins.cudaDebianVersion.includes(`~${pins.cudaSeries}`)
  ) {
    throw new Error(
      `CUBLAS_DEBIAN_VERSION and CUDA_DEBIAN_VERSION must both be of CUDA_SERIES ${pins.cudaSeries}`,
    );
  }
  return pins;
}

/** The driver version a runfile URL names (NVIDIA-Linux-x86_64-570.124.06.run → 570.124.06). */
export function runfileVersion(url: string): string {
  const m = /NVIDIA-Linux-x86_64-(\d+\.\d+(?:\.\d+)?)\.run$/.exec(url);
  if (!m) throw new Error(`NVIDIA_RUNFILE_URL does not name an NVIDIA-Linux-x86_64-<version>.run`);
  return m[1]!;
}

/** Downloads url into `dest` once: temp file, length and SHA-256 checked, then renamed. Never leaves a partial file. */
export async function fetchVerified(
  url: string,
  sha256: string,
  dest: string,
  timeoutMs = 30 * 60_000,
): Promise<"cached" | "downloaded"> {
  if (await Deno.stat(dest).catch(() => null)) {
    if (await sha256Hex(await Deno.readFile(dest)) === sha256) return "cached";
    await Deno.remove(dest); // a cached file that no longer matches is not used
  }
  const name = url.replace(/^.*\//, "");
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new Error(`${name}: download failed (${(e as Error).message})`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new Error(`${name}: download failed (HTTP ${res.status})`);
  }
  const tmp = `${dest}.part`;
  await Deno.mkdir(dest.replace(/\/[^/]*$/, ""), { recursive: true });
  try {
    const bytes = new Uint8Array(await res.arrayBuffer());
    const want = Number(res.headers.get("content-length") ?? NaN);
    if (Number.isFinite(want) && want !== bytes.length) {
      throw new Error(`${name}: download cut short (${bytes.length} of ${want} bytes)`);
    }
    const got = await sha256Hex(bytes);
    if (got !== sha256) throw new Error(`${name}: SHA-256 ${got} does not match the pinned ${sha256}`);
    await Deno.writeFile(tmp, bytes, { mode: 0o755 });
    await Deno.rename(tmp, dest);
    return "downloaded";
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    if (e instanceof TypeError) throw new Error(`${name}: download cut short (${e.message})`);
    throw e;
  }
}

/** A makeself archive's own integrity check (`sh FILE --check`) and that it holds an NVIDIA installer layout. */
export async function checkRunfile(path: string): Promise<void> {
  const c = await exec("sh", [path, "--check"], { timeoutMs: 10 * 60_000 });
  if (c.kind !== "exited" || c.code !== 0) throw new Error(`${path}: the makeself integrity check failed`);
  const l = await exec("sh", [path, "--list"], { timeoutMs: 10 * 60_000 });
  const list = l.kind === "exited" ? l.stdout : "";
  for (const want of ["nvidia-smi", "kernel-open/", "kernel/"]) {
    if (!list.includes(want)) throw new Error(`${path}: not an NVIDIA driver installer (no ${want})`);
  }
}

/** Writes MANIFEST (sha256 of every file) into dir. */
export async function writeManifest(dir: string): Promise<void> {
  const lines: string[] = [];
  for (const e of await listTree(dir)) {
    if (e.kind !== "file" || e.rel === "MANIFEST") continue;
    lines.push(`${await sha256Hex(await Deno.readFile(`${dir}/${e.rel}`))}  ${e.rel}`);
  }
  await Deno.writeTextFile(`${dir}/MANIFEST`, lines.join("\n") + "\n");
}

/** Checks every file against MANIFEST; returns the first problem or null. */
export async function verifyManifest(dir: string): Promise<string | null> {
  const text = await Deno.readTextFile(`${dir}/MANIFEST`).catch(() => null);
  if (text === null) return "no MANIFEST";
  const listed = new Set<string>();
  for (const line of text.trim().split("\n")) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!m) return `bad MANIFEST line '${line}'`;
    listed.add(m[2]!);
    const data = await Deno.readFile(`${dir}/${m[2]}`).catch(() => null);
    if (!data) return `${m[2]} is missing`;
    if (await sha256Hex(data) !== m[1]) return `${m[2]} does not match its checksum`;
  }
  for (const e of await listTree(dir)) {
    if (e.kind === "file" && e.rel !== "MANIFEST" && !listed.has(e.rel)) return `${e.rel} is not in MANIFEST`;
  }
  return null;
}

export interface PartBuild {
  engine: string;
  runArgs: string[];
  builderTag: string;
  v: Versions;
  pins: NvidiaPins;
  logFile: string;
  progress: (line: string) => void;
}

/**
 * Builds one part into `dir` (through `dir.tmp`, renamed on success, MANIFEST written) unless `dir` holds a
 * complete, checksum-clean build. Returns whether it was cached.
 */
export async function buildPart(
  b: PartBuild,
  part: "modules" | "cublas" | "stress",
  dir: string,
  mounts: string[][],
  aptCache: string,
): Promise<boolean> {
  if (await Deno.stat(`${dir}/MANIFEST`).catch(() => null)) {
    const problem = await verifyManifest(dir);
    if (!problem) return true;
    b.progress(`W: cached ${dir} fails its check (${problem}); building it again`);
    await Deno.remove(dir, { recursive: true });
  }
  const tmp = `${dir}.tmp`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp, { recursive: true });
  await Deno.mkdir(`${aptCache}/partial`, { recursive: true });
  const env: Record<string, string> = {
    PART: part,
    BEE_MIRROR: b.v.mirror,
    BEE_SECURITY_MIRROR: b.v.securityMirror,
    DEBIAN_SUITE: b.v.suite,
    DEBIAN_KERNEL_ABI: b.v.kernelAbi,
    NVIDIA_FLAVOR: b.pins.flavor,
    NVIDIA_SOURCE: b.pins.source,
    NVIDIA_DEBIAN_VERSION: b.pins.debianVersion,
    CUBLAS_DEBIAN_VERSION: b.pins.cublasDebianVersion,
    CUDA_DEBIAN_VERSION: b.pins.cudaDebianVersion,
    NCCL_DEBIAN_VERSION: b.pins.ncclDebianVersion,
  };
  const args = ["run", "--rm", "--network", "host", ...b.runArgs];
  for (const [k, val] of Object.entries(env)) args.push("-e", `${k}=${val}`);
  for (
    const [src, dst, mode] of [...mounts, [tmp, "/out", "rw"], [aptCache, "/var/cache/apt/archives", "rw"]]
  ) {
    args.push("-v", `${src}:${dst}:${mode ?? "ro"}`);
  }
  args.push(b.builderTag, "sh", "/in/build.sh");
  const r = await runProc(b.engine, args, {
    timeoutMs: 120 * 60_000,
    stdoutPath: b.logFile,
    onLine: b.progress,
  });
  if (r.kind !== "exited" || r.code !== 0) {
    const log = await Deno.readTextFile(b.logFile).catch(() => "");
    const last = log.trim().split("\n").filter((l) => l.startsWith("nvidia-build:")).at(-1) ??
      `exit ${"code" in r ? r.code : r.kind}`;
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw new Error(`NVIDIA ${part}: ${last.replace(/^nvidia-build: /, "")} (log: ${b.logFile})`);
  }
  await writeManifest(tmp);
  await Deno.rename(tmp, dir);
  return false;
}
