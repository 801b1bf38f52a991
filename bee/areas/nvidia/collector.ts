// nvidia: per-GPU identity and health from `nvidia-smi -q`; skipped when nvidia-smi is absent or the
// kernel driver is not loaded.
import { type Collector, CollectorStop, firstLine } from "../../collect/collector.ts";
import { driverUnavailable, noDevices, parseNvidiaSmiQ } from "../../parsers/nvidia_smi.ts";
import type { Nvidia } from "../../model/schema.ts";
import { clean } from "../../lib/text.ts";
import { parseNvlinkErrors, parseNvlinkStatus, parseTopoMatrix } from "../../parsers/nvlink.ts";
import type { CollectorContext } from "../../collect/collector.ts";

/** Written by the ISO's bee-nvidia.service on NVSwitch systems: what became of Fabric Manager at boot. */
const FM_BOOT_STATE = "/run/bee/fabricmanager";

/**
 * Fabric Manager: its daemon running (pgrep; null when pgrep is missing), `nv-fabricmanager --version`, and
 * the state bee-nvidia recorded at boot (only where it wrote one).
 */
async function fabricManager(
  ctx: CollectorContext,
): Promise<{ running: boolean | null; version: string | null; boot_state?: string | null }> {
  const p = await ctx.run("pgrep", ["-x", "nv-fabricmanager"]);
  const running = p.kind === "exited" ? p.code === 0 : null;
  const v = await ctx.run("nv-fabricmanager", ["--version"]);
  const version = v.kind === "exited" && v.code === 0 ? clean(/(\d+\.\d+\.\d+)/.exec(v.stdout)?.[1]) : null;
  const boot = await ctx.readText(FM_BOOT_STATE);
  return boot === null
    ? { running, version }
    : { running, version, boot_state: clean(boot.trim().split("\n")[0]) };
}

const NO_GPU = "no NVIDIA GPU on the PCI bus";

/** NVIDIA display/3D controllers (vendor 0x10de, class 0x03xxxx) in sysfs; null when sysfs is not readable. */
async function gpusOnBus(ctx: CollectorContext): Promise<number | null> {
  const devs = await ctx.readDir("/sys/bus/pci/devices");
  if (devs === null) return null;
  let n = 0;
  for (const d of devs) {
    const vendor = (await ctx.readText(`/sys/bus/pci/devices/${d}/vendor`))?.trim();
    if (vendor !== "0x10de") continue;
    const cls = (await ctx.readText(`/sys/bus/pci/devices/${d}/class`))?.trim() ?? "";
    if (cls.startsWith("0x03")) n++;
  }
  return n;
}

/** Written by the ISO's bee-nvidia.service when a module could not be loaded (with the kernel's reason). */
const UNAVAILABLE = "/run/bee/nvidia-unavailable";

export const nvidia: Collector<Nvidia> = {
  name: "nvidia",
  async collect(ctx) {
    const why = await ctx.readText(UNAVAILABLE);
    if (why) {
      throw new CollectorStop(
        "error",
        `bee-nvidia: ${clean(why.trim().split("\n")[0]) ?? "driver not loaded"}`,
      );
    }
    const r = await ctx.run("nvidia-smi", ["-q"], { slow: true });
    if (r.kind === "missing") {
      throw new CollectorStop("skipped", (await gpusOnBus(ctx)) === 0 ? NO_GPU : "nvidia-smi not installed");
    }
    if (r.kind === "exited" && r.code !== 0) {
      const all = `${r.stdout}\n${r.stderr}`;
      if (driverUnavailable(all)) {
        // a machine without NVIDIA GPUs is told so; the driver's words are for machines that have one
        if ((await gpusOnBus(ctx)) === 0) throw new CollectorStop("skipped", NO_GPU);
        throw new CollectorStop("skipped", `NVIDIA driver not loaded: ${firstLine(all)}`);
      }
      if (noDevices(all)) return { driver_version: null, cuda_version: null, gpus: [] };
      // a GPU that fell off the bus: nvidia-smi fails for it but still prints the healthy ones — keep
      // them (the GPU it could not reach is judged against lspci: pcie.gpu_missing)
      try {
        const partial = parseNvidiaSmiQ(r.stdout);
        if (partial.gpus.length > 0) {
          ctx.note("error", `nvidia-smi -q exited ${r.code}: ${firstLine(r.stderr || r.stdout)}`);
          return { ...partial, fabric_manager: await fabricManager(ctx) };
        }
      } catch { /* nothing usable: the exit status decides below */ }
    }
    const out = ctx.require(r);
    let parsed: Nvidia;
    try {
      parsed = parseNvidiaSmiQ(out);
    } catch (e) {
      throw new CollectorStop("error", `nvidia-smi -q: ${(e as Error).message}: ${firstLine(out)}`);
    }
    if (parsed.gpus.length) await addFabric(ctx, parsed);
    return { ...parsed, fabric_manager: await fabricManager(ctx) };
  },
};

/** NVLink state and error counters per GPU, and the topology matrix; what fails to read stays null. */
async function addFabric(ctx: CollectorContext, n: Nvidia): Promise<void> {
  const [s, e, t] = await Promise.all([
    ctx.run("nvidia-smi", ["nvlink", "-s"], { slow: true }),
    ctx.run("nvidia-smi", ["nvlink", "-e"], { slow: true }),
    ctx.run("nvidia-smi", ["topo", "-m"], { slow: true }),
  ]);
  const ok = (r: typeof s) => (r.kind === "exited" && r.code === 0 ? r.stdout : null);
  const status = ok(s) === null ? null : parseNvlinkStatus(ok(s)!);
  const errors = ok(e) === null ? null : parseNvlinkErrors(ok(e)!);
  for (const g of n.gpus) {
    if (!status) {
      g.nvlinks = null;
      continue;
    }
    const links = status.get(g.index)?.links ?? [];
    const errs = errors?.get(g.index);
    g.nvlinks = links.map((l) => {
      const c = errs?.get(l.link);
      return {
        ...l,
        replay_errors: c?.replay ?? null,
        recovery_errors: c?.recovery ?? null,
        crc_errors: c?.crc ?? null,
      };
    });
  }
  const topo = ok(t);
  n.topology = topo === null ? null : { pairs: parseTopoMatrix(topo), raw: topo.slice(0, 16384) };
}
