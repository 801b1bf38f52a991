// nvidia: per-GPU identity and health from `nvidia-smi -q`; skipped when nvidia-smi is absent or the
// kernel driver is not loaded.
import { type Collector, CollectorStop, firstLine } from "../collector.ts";
import { driverUnavailable, noDevices, parseNvidiaSmiQ } from "../parsers/nvidia_smi.ts";
import type { Nvidia } from "../schema.ts";

export const nvidia: Collector<Nvidia> = {
  name: "nvidia",
  async collect(ctx) {
    const r = await ctx.run("nvidia-smi", ["-q"], { slow: true });
    if (r.kind === "missing") throw new CollectorStop("skipped", "nvidia-smi not installed");
    if (r.kind === "exited" && r.code !== 0) {
      const all = `${r.stdout}\n${r.stderr}`;
      if (driverUnavailable(all)) {
        throw new CollectorStop("skipped", `NVIDIA driver not loaded: ${firstLine(all)}`);
      }
      if (noDevices(all)) return { driver_version: null, cuda_version: null, gpus: [] };
    }
    const out = ctx.require(r);
    try {
      return parseNvidiaSmiQ(out);
    } catch (e) {
      throw new CollectorStop("error", `nvidia-smi -q: ${(e as Error).message}: ${firstLine(out)}`);
    }
  },
};
