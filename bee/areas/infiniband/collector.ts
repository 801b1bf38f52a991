// infiniband: InfiniBand / RDMA adapters (ConnectX and others) from /sys/class/infiniband — firmware, PSID,
// and per port the link state, rate and error counters from the kernel; `mstflint q` (where installed) adds
// the firmware on flash, to catch an update burned but not yet running. No RDMA adapters: an empty list.
import type { Collector } from "../../collect/collector.ts";
import {
  IB_ERROR_COUNTERS,
  parseIbDevice,
  parseIbPort,
  parseMstflintQuery,
} from "../../parsers/infiniband.ts";
import type { Infiniband } from "../../model/schema.ts";

const IB = "/sys/class/infiniband";
const DEVICE_FILES = ["hca_type", "board_id", "fw_ver", "node_guid"];
const PORT_FILES = [
  "state",
  "phys_state",
  "rate",
  "link_layer",
  ...IB_ERROR_COUNTERS.map((c) => `counters/${c}`),
];

export const infiniband: Collector<Infiniband> = {
  name: "infiniband",
  async collect(ctx) {
    const names = (await ctx.readDir(IB)) ?? [];
    const devices = await Promise.all(
      names.sort().slice(0, 64).map(async (name) => {
        const dir = `${IB}/${name}`;
        const read = async (f: string) => (await ctx.readText(`${dir}/${f}`))?.trim() ?? null;
        const attrs = Object.fromEntries(
          await Promise.all(DEVICE_FILES.map(async (f) => [f, await read(f)] as const)),
        );
        const ports = await Promise.all(
          ((await ctx.readDir(`${dir}/ports`)) ?? []).sort().slice(0, 16).map(async (p) => {
            const pa = Object.fromEntries(
              await Promise.all(PORT_FILES.map(async (f) => [f, await read(`ports/${p}/${f}`)] as const)),
            );
            return parseIbPort(p, pa);
          }),
        );
        const dev = parseIbDevice(name, attrs, await ctx.linkName(`${dir}/device`), ports);
        // firmware burned but not yet running (an update waiting for a power cycle): mstflint says so
        if (dev.pci_address) {
          const r = await ctx.run("mstflint", ["-d", dev.pci_address, "q"]);
          const text = r.kind === "exited" && r.code === 0 ? r.stdout : null;
          if (text !== null) {
            try {
              const q = parseMstflintQuery(text);
              dev.fw_flash = q.flash;
              dev.fw_running = q.running ?? q.flash;
            } catch (e) {
              ctx.note("error", `mstflint -d ${dev.pci_address} q: ${(e as Error).message}`);
            }
          }
        }
        return dev;
      }),
    );
    return { devices };
  },
};
