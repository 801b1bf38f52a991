// cpu: sockets from `dmidecode -t 4`, cross-checked with what the kernel sees: /proc/cpuinfo for the model and
// logical CPUs, sysfs topology for packages and cores.
import { NO_SMBIOS } from "../board/collector.ts";
import { type Collector, CollectorStop } from "../../collect/collector.ts";
import { cpuSocketsFromDmi, parseDmidecode } from "../../parsers/dmidecode.ts";
import { parseCpuinfo, topologyCounts } from "../../parsers/procfs.ts";
import type { Cpu } from "../../model/schema.ts";

export const cpu: Collector<Cpu> = {
  name: "cpu",
  async collect(ctx) {
    const [dmi, cpuinfo] = await Promise.all([
      ctx.run("dmidecode", ["-t", "4"]),
      ctx.readText("/proc/cpuinfo"),
    ]);
    if (dmi.kind === "missing") ctx.note("missing_tool", "dmidecode not found: sockets not read");
    const noTable = dmi.kind === "exited" && dmi.code !== 0 && NO_SMBIOS.test(dmi.stdout + dmi.stderr);
    if (noTable) ctx.note("error", "no SMBIOS/DMI table on this machine");
    const out = dmi.kind === "missing" || noTable ? null : ctx.optional(dmi);
    const parsed = cpuinfo === null ? null : parseCpuinfo(cpuinfo);
    // packages and cores as sysfs topology counts them (every architecture); /proc/cpuinfo's only as fallback
    const base = "/sys/devices/system/cpu";
    const names = ((await ctx.readDir(base)) ?? []).filter((n) => /^cpu\d+$/.test(n));
    const topo = topologyCounts(
      await Promise.all(names.map(async (n) => ({
        pkg: await ctx.readText(`${base}/${n}/topology/physical_package_id`),
        core: await ctx.readText(`${base}/${n}/topology/core_id`),
      }))),
    );
    const os = parsed && topo ? { ...parsed, packages: topo.packages, cores: topo.cores } : parsed;
    let sockets = out === null ? null : cpuSocketsFromDmi(parseDmidecode(out));
    if (sockets !== null && sockets.length === 0) {
      ctx.note("error", "dmidecode -t 4 listed no processors: sockets unknown");
      sockets = null;
    }
    // /proc/cpuinfo exists on every Linux; only a replayed machine may lack it (then no cross-check)
    if (cpuinfo === null && sockets === null) ctx.note("error", `cannot read ${ctx.path("/proc/cpuinfo")}`);
    if (sockets === null && os === null) {
      throw new CollectorStop(
        ctx.worst === "ok" ? "error" : ctx.worst as "error",
        "neither dmidecode nor /proc/cpuinfo gave CPU data",
      );
    }
    return { sockets, os };
  },
};
