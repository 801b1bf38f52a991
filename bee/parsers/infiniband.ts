// Interprets /sys/class/infiniband/<dev> attribute files: the adapter (firmware, PSID, HCA type) and per
// port the link state, physical state, rate and the error counters that point at cables and optics.
import { clean, int } from "../lib/text.ts";
import type { IbDevice, IbPort } from "../model/schema.ts";

/** The port error counters bee keeps (IBTA PortCounters names as the kernel spells them). */
export const IB_ERROR_COUNTERS = [
  "symbol_error",
  "link_error_recovery",
  "link_downed",
  "port_rcv_errors",
  "local_link_integrity_errors",
  "excessive_buffer_overrun_errors",
  "port_xmit_discards",
] as const;

/** "4: ACTIVE" → "ACTIVE"; "5: LinkUp" → "LinkUp". */
const stateText = (s: string | null | undefined) => clean(s?.replace(/^\s*\d+:\s*/, "") ?? null);

/** "400 Gb/sec (4X NDR)" → 400; "2.5 Gb/sec (1X SDR)" → 2.5. */
export function ibRateGbps(s: string | null | undefined): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*Gb\/sec/i.exec(s ?? "");
  return m ? Number(m[1]) : null;
}

/** One port from its attribute texts (`state`, `phys_state`, `rate`, `link_layer`, counters/*). */
export function parseIbPort(port: string, a: Record<string, string | null | undefined>): IbPort {
  const counters = Object.fromEntries(
    IB_ERROR_COUNTERS.map((c) => [c, int(a[`counters/${c}`])]),
  ) as IbPort["counters"];
  return {
    port: port.slice(0, 8),
    state: stateText(a.state),
    phys_state: stateText(a.phys_state),
    rate: clean(a.rate ?? null),
    rate_gbps: ibRateGbps(a.rate),
    link_layer: clean(a.link_layer ?? null),
    counters,
  };
}

/** One adapter from its attribute texts and parsed ports. */
export function parseIbDevice(
  name: string,
  a: Record<string, string | null | undefined>,
  pciAddress: string | null,
  ports: IbPort[],
): IbDevice {
  return {
    name: name.slice(0, 64),
    pci_address: pciAddress && /^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i.test(pciAddress)
      ? pciAddress
      : null,
    hca_type: clean(a.hca_type ?? null),
    board_id: clean(a.board_id ?? null),
    fw_ver: clean(a.fw_ver ?? null),
    node_guid: clean(a.node_guid ?? null),
    ports,
  };
}

/** `mstflint -d <pci> q`: the firmware on flash, the one running when it differs (else null), the PSID. */
export function parseMstflintQuery(
  text: string,
): { flash: string | null; running: string | null; psid: string | null } {
  const f = (k: string) => clean(new RegExp(`^${k}:\\s*(.*)$`, "m").exec(text)?.[1] ?? null);
  const flash = f("FW Version");
  if (flash === null && f("FW Version\\(Running\\)") === null) throw new Error("no FW Version line");
  return { flash, running: f("FW Version\\(Running\\)"), psid: f("PSID") };
}
