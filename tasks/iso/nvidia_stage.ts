// Builds (or reuses) the three NVIDIA parts and stages them into the ISO tree:
//   /usr/local/lib/nvidia/*.ko            modules, insmod'ed by bee-nvidia.service (not under /lib/modules)
//   /usr/local/lib/nvidia/lib/            libnvidia-ml, libcuda (+ what libcuda needs), libcublas(Lt), libcudart, libnccl
//   /etc/ld.so.conf.d/bee-nvidia.conf     so ldconfig (run by a chroot hook) finds them with their sonames
//   /usr/lib/firmware/nvidia/<version>/   GSP firmware, where the kernel's firmware loader looks
//   /usr/local/bin/nvidia-smi, /usr/local/bin/bee-gpu-stress
//   Fabric Manager where it is pinned (see fabricmanager.ts)

import { buildPart, checkRunfile, fetchVerified, type NvidiaPins, runfileVersion } from "./nvidia.ts";
import { fabricManagerPins, fetchFabricManager, stageFabricManager } from "./fabricmanager.ts";
import { copyTree, sha256Hex } from "./steps.ts";
import type { Versions } from "./versions.ts";

export interface NvidiaBuilt {
  modules: string;
  cublas: string;
  stress: string;
  version: string;
  /** the verified, unpacked Fabric Manager of the same driver version; null when it is not pinned */
  fabricManager: string | null;
  release: Record<string, string>;
}

type Step = <T>(name: string, f: () => Promise<T>, note?: (r: T) => string | null) => Promise<T>;

/** Builds the modules, the CUDA userspace and bee-gpu-stress (each reused when cached and intact). */
export async function buildNvidia(o: {
  repo: string;
  cache: string;
  v: Versions;
  pins: NvidiaPins;
  engine: string;
  runArgs: string[];
  builderTag: string;
  logFile: string;
  step: Step;
  say: (s: string) => void;
}): Promise<NvidiaBuilt> {
  const { pins, v } = o;
  const b = {
    engine: o.engine,
    runArgs: o.runArgs,
    builderTag: o.builderTag,
    v,
    pins,
    logFile: o.logFile,
    progress: (line: string) => {
      if (/^nvidia-build: |^W: /.test(line) && line.length < 300) o.say(`  ${line}`);
    },
  };
  const script = `${o.repo}/iso/builder/nvidia`;
  const apt = `${o.cache}/nvidia-apt`;
  const cached = (c: boolean) => (c ? "cached, checksums match" : "built");
  let version = pins.debianVersion.replace(/-[^-]+$/, "");
  const mounts: string[][] = [[script, "/in"]];
  if (pins.source === "runfile") {
    version = runfileVersion(pins.runfileUrl!);
    const dir = `${o.cache}/downloads/runfile-${pins.runfileSha256!.slice(0, 16)}`;
    const file = `${dir}/${pins.runfileUrl!.replace(/^.*\//, "")}`;
    await o.step(
      "NVIDIA runfile",
      () => fetchVerified(pins.runfileUrl!, pins.runfileSha256!, file),
      (r) => r,
    );
    await o.step("NVIDIA runfile integrity", () => checkRunfile(file));
    mounts.push([dir, "/runfile"]);
  }
  // Fabric Manager must be the driver's version: a pin for another version stops the build before anything slow
  const fmPins = fabricManagerPins(pins.fabricManagerUrl, pins.fabricManagerSha256, version);
  const modules = `${o.cache}/nvidia-${pins.flavor}-${version}-${v.kernelAbi}`;
  const cublas =
    `${o.cache}/cublas-${pins.cublasDebianVersion}+cuda${pins.cudaSeries}+nccl${pins.ncclDebianVersion}`;
  await o.step(
    `NVIDIA ${pins.flavor} modules ${version} for ${v.kernelAbi}`,
    () => buildPart(b, "modules", modules, mounts, apt),
    cached,
  );
  await o.step(
    `cuBLAS ${pins.cublasDebianVersion} (CUDA ${pins.cudaSeries}), NCCL ${pins.ncclDebianVersion}`,
    () => buildPart(b, "cublas", cublas, [[script, "/in"]], apt),
    cached,
  );
  const src = `${o.repo}/iso/gpu-stress`;
  const key = await sha256Hex(
    [
      ...await gpuStressSources(src),
      await Deno.readTextFile(`${cublas}/MANIFEST`),
      pins.cudaDebianVersion,
    ].join("\n"),
  );
  const stress = `${o.cache}/gpu-stress-${key.slice(0, 16)}`;
  await o.step(
    "bee-gpu-stress (CUDA toolkit of the same series)",
    () => buildPart(b, "stress", stress, [[script, "/in"], [src, "/gpu-stress"], [cublas, "/cublas"]], apt),
    cached,
  );
  const nvcc = (await Deno.readTextFile(`${stress}/NVCC_VERSION`).catch(() => "")).trim();
  let fabricManager: string | null = null;
  if (fmPins) {
    fabricManager = (await o.step(
      `NVIDIA Fabric Manager ${version}`,
      () => fetchFabricManager(fmPins, version, o.cache),
      (r) => (r.cached ? "cached, checksums match" : "downloaded, SHA-256 and layout checked"),
    )).dir;
  } else {
    o.say(
      "W: no Fabric Manager pinned (NVIDIA_FABRICMANAGER_URL/SHA256): HGX boards with NVSwitches will not run CUDA",
    );
  }
  return {
    modules,
    cublas,
    stress,
    version,
    fabricManager,
    release: {
      NVIDIA_DRIVER: version,
      NVIDIA_FLAVOR: pins.flavor,
      NVIDIA_SOURCE: pins.source,
      CUDA_SERIES: pins.cudaSeries,
      CUBLAS_VERSION: pins.cublasDebianVersion,
      NCCL_VERSION: pins.ncclDebianVersion,
      BEE_GPU_STRESS_NVCC: nvcc || "unknown",
      // Debian does not package Fabric Manager: NVIDIA's redistributable archive, when pinned
      NVIDIA_FABRICMANAGER: fmPins ? version : "absent (not pinned: deno task iso:pin-fabricmanager)",
    },
  };
}

/** The bee-gpu-stress sources (Makefile, *.cu, *.cuh), name and text, in a stable order: the build's cache key. */
export async function gpuStressSources(src: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(src)) {
    if (e.isFile && (e.name === "Makefile" || /\.(cu|cuh)$/.test(e.name))) names.push(e.name);
  }
  names.sort();
  return await Promise.all(names.map(async (n) => `${n}\n${await Deno.readTextFile(`${src}/${n}`)}`));
}

/** Copies the built parts into the staged tree. */
export async function stageNvidia(n: NvidiaBuilt, stage: string): Promise<void> {
  const lib = `${stage}/usr/local/lib/nvidia`;
  await Deno.mkdir(`${lib}/lib`, { recursive: true });
  for await (const e of Deno.readDir(`${n.modules}/modules`)) {
    if (e.name.endsWith(".ko")) await Deno.copyFile(`${n.modules}/modules/${e.name}`, `${lib}/${e.name}`);
  }
  await copyTree(`${n.modules}/lib`, `${lib}/lib`);
  await copyTree(`${n.cublas}/lib`, `${lib}/lib`);
  await Deno.mkdir(`${stage}/usr/local/bin`, { recursive: true });
  await Deno.copyFile(`${n.modules}/bin/nvidia-smi`, `${stage}/usr/local/bin/nvidia-smi`);
  await Deno.chmod(`${stage}/usr/local/bin/nvidia-smi`, 0o755);
  await Deno.copyFile(`${n.stress}/bee-gpu-stress`, `${stage}/usr/local/bin/bee-gpu-stress`);
  await Deno.chmod(`${stage}/usr/local/bin/bee-gpu-stress`, 0o755);
  if (await Deno.stat(`${n.modules}/firmware`).catch(() => null)) {
    await copyTree(`${n.modules}/firmware`, `${stage}/usr/lib/firmware`);
  }
  await Deno.mkdir(`${stage}/etc/ld.so.conf.d`, { recursive: true });
  await Deno.writeTextFile(`${stage}/etc/ld.so.conf.d/bee-nvidia.conf`, "/usr/local/lib/nvidia/lib\n");
  await Deno.writeTextFile(`${lib}/VERSION`, `${n.version}\n`);
  if (n.fabricManager) await stageFabricManager(n.fabricManager, stage);
}
