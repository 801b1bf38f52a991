// Verdict rules of one area (NVIDIA GPUs, NVLink, NVSwitch fabric (and the SAT-only XID rows)): each row is code, severity, when, action, the source
// of its threshold, and its check over the typed audit. The engine (bee/audit/verdict.ts) applies the rows.
import type { Gpu } from "../../model/schema.ts";
import { hit, type Rule } from "../../rules/input.ts";

/** GPUs whose 8-GPU HGX baseboards carry a known number of NVSwitches (by nvidia-smi product name). */
const NVSWITCH_MODELS: Record<string, RegExp> = {
  "HGX A100": /^NVIDIA A100-SXM4/i,
  "HGX H100": /^NVIDIA H100 80GB HBM3$/i,
  "HGX H200": /^NVIDIA H200$/i,
};

export const NVSWITCHES_PER_HGX: Record<string, number> = { "HGX A100": 6, "HGX H100": 4, "HGX H200": 4 };

/** DCGM's retired-pages limit (DCGM_LIMIT_MAX_RETIRED_PAGES = 60; later DCGM releases raised it to 63). */
export const RETIRED_PAGES_LIMIT = 60;

export const NVIDIA_RULES: Rule[] = [
  {
    code: "nvidia.fabric_manager_down",
    severity: "FAIL",
    when: "NVSwitches are on the PCI bus (HGX) and the Fabric Manager daemon is not running",
    action:
      "Start nvidia-fabricmanager (same version as the driver); CUDA will not start on this system without it.",
    source: "NVIDIA Fabric Manager user guide: NVSwitch systems need the daemon for CUDA",
    check: (x) => {
      const switches = x.nvswitches();
      const fm = x.hw.nvidia?.fabric_manager;
      if (!(switches.length > 0 && x.hw.nvidia && fm?.running !== true)) return [];
      return [
        hit(
          "nvidia",
          `${switches.length} NVSwitch(es) on the PCI bus, Fabric Manager ${
            fm?.running === false ? "not running" : "state unknown"
          }${fm?.version ? ` (installed: ${fm.version})` : " (not installed)"}${
            fm?.boot_state ? `; at boot: ${fm.boot_state}` : ""
          }`,
        ),
      ];
    },
  },
  {
    code: "nvidia.unavailable",
    severity: "WARN",
    when: "NVIDIA GPUs on the PCI bus but nvidia-smi could not report (driver not loaded)",
    action: "Check bee-nvidia.service and the kernel log; GPU health was not checked.",
    source: "bee: GPUs present but unreadable cannot pass",
    check: (x) => {
      const nv = x.status("nvidia");
      const n = x.pciGpus().length;
      return n > 0 && !x.hw.nvidia && nv && nv.status !== "ok"
        ? [
          hit(
            "nvidia",
            `${n} NVIDIA GPU(s) on the PCI bus, nvidia-smi gave nothing: ${nv.message ?? nv.status}`,
          ),
        ]
        : [];
    },
  },
  {
    code: "nvidia.ecc_uncorrected",
    severity: "FAIL",
    when: "volatile uncorrectable (double-bit) ECC errors > 0",
    action: "Reset the GPU, run bee sat nvidia; RMA if errors return.",
    source: "DCGM diag memory/ECC: any volatile double-bit error",
    check: (x) =>
      x.gpus().flatMap(({ g, comp, who }) =>
        (g.ecc_volatile.uncorrectable ?? 0) > 0
          ? [hit(comp, `${who}: ${g.ecc_volatile.uncorrectable} volatile uncorrectable ECC errors`)]
          : []
      ),
  },
  {
    code: "nvidia.retirement_pending",
    severity: "FAIL",
    when: "a page retirement is pending",
    action: "Reboot or reset the GPU to retire the page, then re-audit.",
    source: "NVIDIA dynamic page retirement: pending until the next driver reload",
    check: (x) =>
      x.gpus().flatMap(({ g, comp, who }) =>
        g.retired_pages.pending ? [hit(comp, `${who}: page retirement pending`)] : []
      ),
  },
  {
    code: "nvidia.remap_pending",
    severity: "FAIL",
    when: "a row remap is pending",
    action: "Reset the GPU to apply the remap, then re-audit.",
    source: "NVIDIA row remapping (A100+): pending until the GPU is reset",
    check: (x) =>
      x.gpus().flatMap(({ g, comp, who }) =>
        g.remapped_rows.pending ? [hit(comp, `${who}: row remap pending`)] : []
      ),
  },
  {
    code: "nvidia.remap_failure",
    severity: "FAIL",
    when: "row remapping failed",
    action: "The GPU cannot repair its memory: RMA.",
    source: "NVIDIA row remapping: remapping failure means no spare rows are left",
    check: (x) =>
      x.gpus().flatMap(({ g, comp, who }) =>
        g.remapped_rows.failure ? [hit(comp, `${who}: row remapping failure occurred`)] : []
      ),
  },
  {
    code: "nvidia.retired_pages_limit",
    severity: "FAIL",
    when:
      "retired pages (single + double bit) ≥ 60 (DCGM's DCGM_LIMIT_MAX_RETIRED_PAGES; newer DCGM allows 63)",
    action: "The GPU has used up its page retirement budget: RMA.",
    source: "DCGM: DCGM_LIMIT_MAX_RETIRED_PAGES = 60 (63 in later releases)",
    check: (x) =>
      x.gpus().flatMap(({ g, comp, who }) => {
        const retired = (g.retired_pages.single_bit ?? 0) + (g.retired_pages.double_bit ?? 0);
        return retired >= RETIRED_PAGES_LIMIT
          ? [hit(comp, `${who}: ${retired} retired pages (limit ${RETIRED_PAGES_LIMIT})`)]
          : [];
      }),
  },
  {
    code: "nvidia.vbios_mismatch",
    severity: "WARN",
    when: "GPUs of one model run different VBIOS versions",
    action: "Flash all GPUs of the model to the same VBIOS.",
    source: "fleet practice (DCGM diag reports VBIOS per GPU): one VBIOS per model",
    check: (x) => {
      const byModel = new Map<string, Set<string>>();
      for (const { g } of x.gpus()) {
        if (g.name && g.vbios) byModel.set(g.name, (byModel.get(g.name) ?? new Set()).add(g.vbios));
      }
      return [...byModel].filter(([, v]) => v.size > 1).map(([model, v]) =>
        hit("nvidia", `${model}: VBIOS ${[...v].sort().join(", ")}`)
      );
    },
  },
  {
    code: "nvidia.ecc_disabled",
    severity: "WARN",
    when: "a GPU that has ECC reports ECC Mode Disabled (its error counters then read N/A)",
    action:
      "Enable ECC (nvidia-smi -i N -e 1, then reboot) and re-run the audit: without it memory errors go unseen.",
    source: "NVIDIA data-centre GPU defaults: ECC on; nvidia-smi -e",
    check: (x) =>
      x.gpus().flatMap(({ g, comp, who }) =>
        /^disabled$/i.test(g.ecc_mode ?? "")
          ? [hit(comp, `${who}: ECC disabled${/^enabled$/i.test(g.mig_mode ?? "") ? " (MIG enabled)" : ""}`)]
          : []
      ),
  },
  {
    code: "nvidia.clock_slowdown",
    severity: "WARN",
    when: "HW slowdown, HW thermal or power-brake clock event reason active",
    action: "Check cooling, fans and PSU capacity; the GPU is being throttled by hardware.",
    source: "nvidia-smi clocks_event_reasons: HW slowdown / thermal / power brake",
    check: (x) =>
      x.gpus().flatMap(({ g, comp, who }) => {
        const hw = (g.clock_event_reasons_active ?? []).filter((r) =>
          /^HW (Slowdown|Thermal Slowdown|Power Brake Slowdown)$/i.test(r)
        );
        return hw.length ? [hit(comp, `${who}: ${hw.join(", ")} active`)] : [];
      }),
  },
  {
    code: "nvidia.nvlink_inactive",
    severity: "FAIL",
    when:
      "a GPU has fewer active NVLinks than the other GPUs of its model, or any inactive NVLink while NVSwitches are on the bus",
    action:
      "Reseat the GPU (HGX: the baseboard connectors) or the NVLink bridge; RMA if the link stays down.",
    source:
      "nvidia-smi nvlink -s; peers of one model share one wiring (bridged PCIe cards use 12 of 18 by design)",
    check: (x) => {
      const withLinks = x.gpus().filter(({ g }) => (g.nvlinks?.length ?? 0) > 0);
      const active = (g: Gpu) => (g.nvlinks ?? []).filter((l) => l.gbps !== null && l.gbps > 0).length;
      const hgx = x.nvswitches().length > 0;
      const byModel = new Map<string, typeof withLinks>();
      for (const e of withLinks) byModel.set(e.g.name ?? "?", [...(byModel.get(e.g.name ?? "?") ?? []), e]);
      return [...byModel.values()].flatMap((group) => {
        const counts = group.map(({ g }) => active(g));
        const mode = [...new Set(counts)].sort((a, b) =>
          counts.filter((c) => c === b).length - counts.filter((c) => c === a).length || b - a
        )[0]!;
        return group.flatMap(({ g, comp, who }) => {
          const n = active(g);
          const total = g.nvlinks!.length;
          const down = g.nvlinks!.filter((l) => !(l.gbps !== null && l.gbps > 0)).map((l) => l.link);
          if (hgx && n < total) {
            return [
              hit(
                comp,
                `${who}: ${n} of ${total} NVLinks active on an NVSwitch system (inactive: ${
                  down.join(", ")
                })`,
              ),
            ];
          }
          if (!hgx && group.length > 1 && n < mode) {
            return [
              hit(
                comp,
                `${who}: ${n} NVLinks active, its ${group.length - 1} peer(s) of the same model have ${mode}`,
              ),
            ];
          }
          return [];
        });
      });
    },
  },
  {
    code: "nvidia.nvlink_errors",
    severity: "WARN",
    when: "an NVLink counted replay, recovery or CRC errors since the driver loaded",
    action:
      "Reseat the GPU or bridge; watch the counters (nvidia-smi nvlink -e) through the NVIDIA SAT; RMA if they grow.",
    source:
      "nvidia-smi nvlink -e; bee: a link at acceptance counts none (DCGM's NVLink health watches the same counters)",
    check: (x) =>
      x.gpus().flatMap(({ g, comp, who }) => {
        const bad = (g.nvlinks ?? []).filter((l) =>
          (l.replay_errors ?? 0) + (l.recovery_errors ?? 0) + (l.crc_errors ?? 0) > 0
        );
        return bad.length
          ? [hit(
            comp,
            `${who}: ${
              bad.slice(0, 6).map((l) =>
                `link ${l.link} replay ${l.replay_errors ?? 0}, recovery ${l.recovery_errors ?? 0}, CRC ${
                  l.crc_errors ?? 0
                }`
              ).join("; ")
            }`,
          )]
          : [];
      }),
  },
  {
    code: "nvidia.topology_mismatch",
    severity: "FAIL",
    when:
      "nvidia-smi topo -m shows a GPU pair with fewer bonded NVLinks than the other NVLink pairs, or without NVLink where most pairs have it",
    action:
      "The pair's NVLink path is degraded: reseat the GPUs (HGX baseboard) or bridges; compare with nvidia-smi nvlink -s.",
    source: "nvidia-smi topo -m (NV# = # bonded NVLinks); one NVLink system wires its pairs alike",
    check: (x) => {
      const pairs = x.hw.nvidia?.topology?.pairs ?? [];
      const nv = pairs.filter((p) => /^NV\d+$/.test(p.connection));
      if (!nv.length) return [];
      const width = (c: string) => Number(c.slice(2));
      const counts = nv.map((p) => width(p.connection));
      const mode = [...new Set(counts)].sort((a, b) =>
        counts.filter((c) => c === b).length - counts.filter((c) => c === a).length || b - a
      )[0]!;
      const mostlyNv = nv.length * 3 >= pairs.length * 2;
      return pairs.flatMap((p) => {
        const isNv = /^NV\d+$/.test(p.connection);
        if (isNv && width(p.connection) < mode) {
          return [
            hit(
              `nvidia:gpu${p.a}-gpu${p.b}`,
              `GPU ${p.a} ↔ GPU ${p.b}: ${p.connection}, the other NVLink pairs NV${mode}`,
            ),
          ];
        }
        if (!isNv && mostlyNv) {
          return [
            hit(
              `nvidia:gpu${p.a}-gpu${p.b}`,
              `GPU ${p.a} ↔ GPU ${p.b}: ${p.connection} (no NVLink), ${nv.length} of ${pairs.length} pairs have NVLink`,
            ),
          ];
        }
        return [];
      });
    },
  },
  {
    code: "nvidia.nvswitch_count",
    severity: "FAIL",
    when: `an 8-GPU HGX board shows another number of NVSwitches than its design (${
      Object.entries(NVSWITCHES_PER_HGX).map(([k, v]) => `${k}: ${v}`).join(", ")
    })`,
    action:
      "An NVSwitch is missing from the PCI bus: check the baseboard (power, seating); escalate to the vendor.",
    source:
      "NVIDIA HGX A100 (6 second-generation NVSwitches) and HGX H100/H200 (4 third-generation) 8-GPU baseboards",
    check: (x) => {
      const gpus = x.hw.nvidia?.gpus ?? [];
      const board = Object.entries(NVSWITCH_MODELS).find(([, re]) =>
        gpus.length === 8 && gpus.every((g) => re.test(g.name ?? ""))
      );
      if (!board) return [];
      const want = NVSWITCHES_PER_HGX[board[0]]!;
      const have = x.nvswitches().length;
      return have === want
        ? []
        : [hit("nvidia", `${board[0]} 8-GPU board: ${have} NVSwitch(es) on the PCI bus, ${want} by design`)];
    },
  },
  {
    code: "nvidia.fabric_not_ready",
    severity: "FAIL",
    when: "a GPU's NVSwitch fabric registration (nvidia-smi -q Fabric) is not Completed / Success",
    action:
      "Check nv-fabricmanager's log and that its version is the driver's; restart it; CUDA cannot use the GPU until it completes.",
    source: "nvidia-smi -q Fabric State / Status (NVSwitch systems)",
    check: (x) =>
      x.gpus().flatMap(({ g, comp, who }) =>
        (g.fabric_state && !/^completed$/i.test(g.fabric_state)) ||
          (g.fabric_status && !/^success$/i.test(g.fabric_status))
          ? [hit(comp, `${who}: fabric state ${g.fabric_state ?? "?"}, status ${g.fabric_status ?? "?"}`)]
          : []
      ),
  },
];

/** Rows that only `bee sat nvidia` raises (from the kernel log during the run); no audit check. */
export const NVIDIA_SAT_RULES: Rule[] = [
  {
    code: "nvidia.xid_hardware",
    severity: "FAIL",
    when:
      "(SAT) a new NVRM Xid line during the stress with a hardware XID: 48, 62, 63, 64, 74, 79, 92, 94, 95, 119, 120, 140",
    action: "Check nvidia-smi -q for ECC and remap state, reseat the GPU and its power; RMA if it repeats.",
    source: "NVIDIA XID catalogue; DCGM's list of hardware XIDs",
    check: () => [],
  },
  {
    code: "nvidia.xid",
    severity: "FAIL",
    when: "(SAT) any other new NVRM Xid line during the stress (application/driver class)",
    action: "Update the driver and re-run; if it repeats under bee's own stress, treat the GPU as suspect.",
    source: "bee: an acceptance test does not wave an XID through",
    check: () => [],
  },
  {
    code: "nvidia.memtest_errors",
    severity: "FAIL",
    when: "(SAT) the GPU memory test read back a word other than it wrote (any pattern, any count)",
    action:
      "Check nvidia-smi -q for remapped rows and ECC counts after a reset; RMA the GPU if errors repeat.",
    source: "DCGM memtest / MODS: any mismatch fails; Llama 3: HBM3 was 17 % of interruptions on 16,384 H100",
    check: () => [],
  },
  {
    code: "nvidia.pcie_bandwidth_low",
    severity: "FAIL",
    when:
      "(SAT) pinned host↔device copies under 60 % of what the GPU's PCIe link (max generation × width) carries",
    action:
      "Reseat the GPU or its riser/cable; check the slot's link width in the BIOS; compare with a peer slot.",
    source:
      "nvbandwidth on healthy HGX H100: 51–52 of 63 GB/s (0.81); a link at x8 or a lower generation ≤ 0.41",
    check: () => [],
  },
  {
    code: "nvidia.figure_below_floor",
    severity: "FAIL",
    when:
      "(SAT) a measured GPU figure (TFLOPS, bandwidth, power) under its model's floor in the reference table",
    action:
      "Re-run the SAT alone on this GPU; check its PCIe/NVLink links, cooling and power cables; RMA if it repeats.",
    source:
      "reference table (bee/sat/nvidia/references.ts): sourced floors, else 15 % under the expected figure",
    check: () => [],
  },
  {
    code: "nvidia.figure_below_expected",
    severity: "WARN",
    when:
      "(SAT) a measured GPU figure more than 5 % under its model's expected value (power: under 90 % of the limit)",
    action:
      "Compare with the GPU's peers and its clock event reasons in gpu-metrics.csv; check cooling and power.",
    source: "Microsoft SuperBench: 5 % under the baseline is a bad node; issue 21: power ≥ 90 % of the limit",
    check: () => [],
  },
  {
    code: "nvidia.peer_outlier",
    severity: "WARN",
    when: "(SAT) a GPU more than 5 % under the median of its same-model peers in the run on any figure",
    action:
      "Swap the GPU's slot or cable with a peer and re-run: if the figure follows the GPU, it is the GPU.",
    source: "GPU-NOTES.md: GPUs of one model differ by up to ~5 % within a node; SuperBench 5 % rule",
    check: () => [],
  },
  {
    code: "nvidia.peer_outlier_fail",
    severity: "FAIL",
    when: "(SAT) a GPU more than BEE_PEER_FAIL_PCT (default 10 %) under the median of its same-model peers",
    action:
      "Swap the GPU's slot or cable with a peer and re-run: if the figure follows the GPU, RMA the GPU.",
    source: "bee: twice the spread healthy GPUs of one model show in a node",
    check: () => [],
  },
];
