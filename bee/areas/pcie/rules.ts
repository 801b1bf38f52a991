// Verdict rules of one area (PCIe links, AER, devices that fell off): each row is code, severity, when, action, the source
// of its threshold, and its check over the typed audit. The engine (bee/audit/verdict.ts) applies the rows.
import { hit, type Rule } from "../../rules/input.ts";

/** Correctable AER errors since boot that make a link suspect. */
export const AER_CORRECTABLE_LIMIT = 10;

export const PCIE_RULES: Rule[] = [
  {
    code: "pcie.link_degraded",
    severity: "WARN",
    when: "an endpoint's PCIe link width is below its maximum",
    action: "Reseat the card or riser; check the slot's lane configuration in the BIOS.",
    source: "PCIe sysfs current_link_width < max_link_width (DCGM's PCIe check for GPUs)",
    check: (x) =>
      (x.hw.pcie?.devices ?? []).flatMap((d) =>
        !(d.class_id ?? "").startsWith("06") && d.current_link_width !== null && d.max_link_width !== null &&
          d.current_link_width < d.max_link_width
          ? [
            hit(
              `pcie:${d.address}`,
              `${
                d.device ?? d.device_id ?? "device"
              }: link x${d.current_link_width} of x${d.max_link_width} (${d.current_link_speed ?? "?"} of ${
                d.max_link_speed ?? "?"
              })`,
            ),
          ]
          : []
      ),
  },
  {
    code: "pcie.aer_fatal",
    severity: "FAIL",
    when: "a PCIe function logged uncorrectable fatal AER errors since boot",
    action:
      "Reseat the card and its riser; check the slot and the kernel log; replace the part if it repeats.",
    source: "Linux AER statistics (sysfs aer_dev_fatal); PCIe base spec: fatal = link unreliable",
    check: (x) =>
      x.aer().flatMap(({ d, a, comp }) =>
        (a.fatal ?? 0) > 0
          ? [hit(comp, `${d.device ?? d.device_id ?? "device"}: ${a.fatal} fatal AER errors since boot`)]
          : []
      ),
  },
  {
    code: "pcie.aer_nonfatal",
    severity: "WARN",
    when: "a PCIe function logged uncorrectable non-fatal AER errors since boot",
    action:
      "Check the kernel log for the AER lines; reseat the card; watch whether the count grows under load.",
    source: "Linux AER statistics (sysfs aer_dev_nonfatal)",
    check: (x) =>
      x.aer().flatMap(({ d, a, comp }) =>
        (a.nonfatal ?? 0) > 0
          ? [
            hit(
              comp,
              `${
                d.device ?? d.device_id ?? "device"
              }: ${a.nonfatal} non-fatal uncorrectable AER errors since boot`,
            ),
          ]
          : []
      ),
  },
  {
    code: "pcie.aer_correctable",
    severity: "WARN",
    when: `a PCIe function logged ${AER_CORRECTABLE_LIMIT} or more correctable AER errors since boot`,
    action: "A marginal link (riser, cable, slot): reseat, check the link speed and width, re-run the audit.",
    source: "Linux AER statistics (sysfs aer_dev_correctable); bee: link training may log a few, not 10",
    check: (x) =>
      x.aer().flatMap(({ d, a, comp }) =>
        (a.correctable ?? 0) >= AER_CORRECTABLE_LIMIT
          ? [
            hit(
              comp,
              `${d.device ?? d.device_id ?? "device"}: ${a.correctable} correctable AER errors since boot`,
            ),
          ]
          : []
      ),
  },
  {
    code: "pcie.gpu_missing",
    severity: "FAIL",
    when: "an NVIDIA GPU seen by lspci is missing from nvidia-smi (fell off the bus)",
    action: "Check the kernel log for Xid 79; reseat the GPU and its power; RMA if it repeats.",
    source: "NVIDIA XID 79 guidance: a GPU on the bus that the driver does not list",
    check: (x) => {
      if (!x.hw.nvidia) return [];
      const seen = new Set(x.hw.nvidia.gpus.map((g) => g.pci_bus_id));
      return x.pciGpus().filter((d) => !seen.has(d.address)).map((d) =>
        hit(
          `pcie:${d.address}`,
          `${d.device ?? "NVIDIA GPU"} at ${d.address} is on the PCI bus but not in nvidia-smi`,
        )
      );
    },
  },
];
