// board: BIOS, system and baseboard identity from `dmidecode -t 0,1,2`.
import { type Collector, CollectorStop, firstLine } from "../../collect/collector.ts";
import { boardFromDmi, parseDmidecode } from "../../parsers/dmidecode.ts";
import type { Board } from "../../model/schema.ts";

/** dmidecode's words when the firmware published no table (seen on Firecracker VMs). */
export const NO_SMBIOS = /No SMBIOS nor DMI entry point found|\/dev\/mem: No such file/;

export const board: Collector<Board> = {
  name: "board",
  async collect(ctx) {
    const r = await ctx.run("dmidecode", ["-t", "0,1,2"]);
    if (r.kind === "exited" && r.code !== 0 && NO_SMBIOS.test(r.stdout + r.stderr)) {
      throw new CollectorStop(
        "error",
        `no SMBIOS/DMI table on this machine: ${firstLine(r.stderr || r.stdout.replace(/^#.*$/gm, ""))}`,
      );
    }
    const out = ctx.require(r);
    const b = boardFromDmi(parseDmidecode(out));
    if (!b) {
      throw new CollectorStop(
        "error",
        `dmidecode found no SMBIOS structures: ${firstLine(out.replace(/^#.*$/gm, ""))}`,
      );
    }
    return b;
  },
};
