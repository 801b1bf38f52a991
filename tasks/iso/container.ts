// The builder container: which engine (podman or docker), which run arguments this kernel accepts, the
// base image (pulled, or made with debootstrap where no registry answers) and the builder image made from
// iso/builder/Dockerfile for the target platform (rebuilt when the image under the tag has another arch).

import { exec } from "../../bee/lib/exec.ts";

export type Engine = "podman" | "docker";

/** What running containers needs on this machine. */
export interface ContainerSetup {
  engine: Engine;
  /** arguments every `run` and `build` gets: runtime, ulimits */
  runArgs: string[];
  buildArgs: string[];
}

/** Picks the engine: BEE_CONTAINER wins; else podman when it answers, else docker when its daemon does. */
export async function detectEngine(env: Record<string, string | undefined>): Promise<Engine> {
  const want = env.BEE_CONTAINER;
  if (want && want !== "podman" && want !== "docker") {
    throw new Error(`BEE_CONTAINER must be podman or docker, not '${want}'`);
  }
  const works = async (e: Engine) =>
    (await exec(e, e === "docker" ? ["info", "--format", "{{.ServerVersion}}"] : ["--version"], {
      timeoutMs: 20_000,
    })).kind === "exited";
  if (want) {
    if (!(await works(want as Engine))) throw new Error(`${want} does not answer (BEE_CONTAINER=${want})`);
    return want as Engine;
  }
  if (await works("podman")) return "podman";
  if (await works("docker")) return "docker";
  throw new Error(
    "no container engine: install podman (apt-get install podman) or docker, or use --no-container",
  );
}

/** The caller's hard limits (a container may not raise them: the kernel lacks CAP_SYS_RESOURCE here). */
export async function hardLimits(): Promise<{ nofile: number; nproc: number }> {
  const text = await Deno.readTextFile("/proc/self/limits").catch(() => "");
  const hard = (name: string, dflt: number) => {
    const m = new RegExp(`^${name}\\s+\\S+\\s+(\\S+)`, "m").exec(text);
    const v = m ? Number(m[1]) : NaN;
    return Number.isFinite(v) ? v : dflt;
  };
  return { nofile: hard("Max open files", 65536), nproc: hard("Max processes", 65536) };
}

/** The run-argument sets to try, most permissive first: default runtime then runc; ulimits at or under the hard ones. */
export function candidateArgs(engine: Engine, limits: { nofile: number; nproc: number }): string[][] {
  const nofile = Math.min(limits.nofile, 1048576);
  const nprocs = [...new Set([limits.nproc, 65536, 32768, 16384, 4096].filter((n) => n <= limits.nproc))];
  const runtimes = engine === "podman" ? [[], ["--runtime", "runc"]] : [[]];
  const out: string[][] = [];
  for (const rt of runtimes) {
    for (const np of nprocs) {
      out.push([...rt, "--ulimit", `nofile=${nofile}:${nofile}`, "--ulimit", `nproc=${np}:${np}`]);
    }
  }
  return out;
}

/** Finds run arguments with which a privileged container starts here, using `image` for the probe. */
export async function probeRunArgs(engine: Engine, image: string): Promise<ContainerSetup> {
  const errors: string[] = [];
  for (const args of candidateArgs(engine, await hardLimits())) {
    const r = await exec(
      engine,
      ["run", "--rm", "--privileged", "--network", "host", ...args, image, "true"],
      {
        timeoutMs: 60_000,
      },
    );
    if (r.kind === "exited" && r.code === 0) {
      return { engine, runArgs: args, buildArgs: args };
    }
    errors.push(r.kind === "exited" ? r.stderr.trim().split("\n").at(-1) ?? "" : r.kind);
  }
  throw new Error(`no privileged container starts here (${engine}): ${errors.at(-1)}`);
}

/** The image's architecture (`amd64`), or null when the image is not there. */
export async function imageArch(engine: Engine, image: string): Promise<string | null> {
  const r = await exec(engine, ["image", "inspect", "--format", "{{.Architecture}}", image], {
    timeoutMs: 30_000,
  });
  return r.kind === "exited" && r.code === 0 ? r.stdout.trim() : null;
}

/** The image ID, or null. */
export async function imageId(engine: Engine, image: string): Promise<string | null> {
  const r = await exec(engine, ["image", "inspect", "--format", "{{.Id}}", image], { timeoutMs: 30_000 });
  return r.kind === "exited" && r.code === 0 ? r.stdout.trim() : null;
}

/** `linux/amd64` → `amd64`. */
export function platformArch(platform: string): string {
  const arch = platform.split("/")[1];
  if (!arch) throw new Error(`BEE_BUILDER_PLATFORM '${platform}' is not of the form os/arch`);
  return arch;
}
