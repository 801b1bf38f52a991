// cpu: sockets from `dmidecode -t 4`, cross-checked with what the kernel sees in /proc/cpuinfo.
import { NO_SMBIOS } from "./board.ts";
import { type Collector, CollectorStop } from "../collector.ts";
import { cpuSocketsFromDmi, parseDmidecode } from "../parsers/dmidecode.ts";
import { parseCpuinfo } from "../parsers/procfs.ts";
import type { Cpu } from "../schema.ts";

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
    const os = cpuinfo === null ? null : parseCpuinfo(cpuinfo);
    const sockets = out === null ? null : cpuSocketsFromDmi(parseDmidecode(out));
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
