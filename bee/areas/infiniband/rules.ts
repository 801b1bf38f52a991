// Verdict rules of one area (InfiniBand / RDMA ports): each row is code, severity, when, action, the source
// of its threshold, and its check over the typed audit. The engine (bee/audit/verdict.ts) applies the rows.
import { hit, type Rule } from "../../rules/input.ts";

/** Symbol / receive errors since the driver loaded that make an InfiniBand link suspect. */
export const IB_ERROR_LIMIT = 10;

export const INFINIBAND_RULES: Rule[] = [
  {
    code: "ib.port_down",
    severity: "WARN",
    when:
      "an InfiniBand port has no physical link (physical state other than LinkUp); Ethernet-layer (RoCE) ports are judged as NICs",
    action:
      "Check the cable or optic and the switch port; a port meant to be used must link before handover.",
    source: "IBTA PortInfo PortPhysicalState (sysfs phys_state)",
    check: (x) =>
      x.ibPorts().flatMap(({ p, comp, who }) =>
        p.phys_state && !/^linkup$/i.test(p.phys_state) && !/ethernet/i.test(p.link_layer ?? "")
          ? [hit(comp, `${who}: physical state ${p.phys_state}, state ${p.state ?? "?"}`)]
          : []
      ),
  },
  {
    code: "ib.no_subnet_manager",
    severity: "WARN",
    when: "an InfiniBand port links but stays INIT (no subnet manager has configured it)",
    action:
      "Start a subnet manager (opensm, or the switch's) on the fabric; on an isolated bench this is expected.",
    source: "IBTA PortInfo PortState: INIT until a subnet manager sets the port up",
    check: (x) =>
      x.ibPorts().flatMap(({ p, comp, who }) =>
        /^linkup$/i.test(p.phys_state ?? "") && /^init$/i.test(p.state ?? "") &&
          !/ethernet/i.test(p.link_layer ?? "")
          ? [hit(comp, `${who}: link up, state INIT`)]
          : []
      ),
  },
  {
    code: "ib.fw_not_active",
    severity: "WARN",
    when: "mstflint shows firmware burned on an adapter's flash that is not the firmware it runs",
    action: "Power-cycle the server (or mlxfwreset) so the burned firmware runs, then audit again.",
    source: "mstflint query: FW Version (flash) against FW Version(Running)",
    check: (x) =>
      (x.hw.infiniband?.devices ?? []).flatMap((d) =>
        d.fw_flash && d.fw_running && d.fw_flash !== d.fw_running
          ? [
            hit(
              `infiniband:${d.name}`,
              `${d.name} (${d.pci_address}): ${d.fw_flash} on flash, ${d.fw_running} running`,
            ),
          ]
          : []
      ),
  },
  {
    code: "ib.link_errors",
    severity: "WARN",
    when:
      `an InfiniBand/RDMA port counted link downs, link error recoveries, integrity or buffer-overrun errors, or ≥ ${IB_ERROR_LIMIT} symbol / receive errors since the driver loaded`,
    action:
      "Reseat or replace the cable/optic (clean the connector), then clear and watch the counters under load.",
    source:
      `IBTA PortCounters; bee: a burn-in link counts none, ${IB_ERROR_LIMIT} symbol/receive errors allow for link training`,
    check: (x) =>
      x.ibPorts().flatMap(({ p, comp, who }) => {
        const c = p.counters;
        const bad = [
          ...([
            "link_downed",
            "link_error_recovery",
            "local_link_integrity_errors",
            "excessive_buffer_overrun_errors",
          ] as const)
            .filter((k) => (c[k] ?? 0) > 0),
          ...(["symbol_error", "port_rcv_errors"] as const).filter((k) => (c[k] ?? 0) >= IB_ERROR_LIMIT),
        ];
        return bad.length ? [hit(comp, `${who}: ${bad.map((k) => `${k} ${c[k]}`).join(", ")}`)] : [];
      }),
  },
];
