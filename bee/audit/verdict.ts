// Verdict rules: the audit's hardware data → findings → PASS / WARN / FAIL. RULES is the one table
// (the README's rule table lists the same codes; a test keeps them in step).
import type { CollectorStatus, Disk, Finding, Hardware, NvmeHealth, Summary } from "./schema.ts";
import { SMARTCTL_EXIT_BITS } from "./parsers/smartctl.ts";

type Sev = Finding["severity"];

/** Every rule bee applies: its stable code, severity, what triggers it and what to do. */
export const RULES: Record<string, { severity: Sev; when: string; action: string }> = {
  "storage.smart_failed": {
    severity: "FAIL",
    when: "SMART overall health self-assessment failed",
    action: "Replace the disk before handover; copy off any data first.",
  },
  "storage.smart_disk_failing": {
    severity: "FAIL",
    when: "smartctl exit bit 3: SMART status DISK FAILING",
    action: "Replace the disk before handover.",
  },
  "storage.smart_prefail": {
    severity: "FAIL",
    when: "smartctl exit bit 4: a pre-failure attribute is at or below its threshold",
    action: "Replace the disk; the attribute table in the audit says which attribute tripped.",
  },
  "storage.smart_past_threshold": {
    severity: "WARN",
    when: "smartctl exit bit 5: a usage attribute was at or below its threshold in the past",
    action: "Check the disk's attribute history; plan a replacement.",
  },
  "storage.smart_error_log": {
    severity: "WARN",
    when: "smartctl exit bit 6: the device error log has entries",
    action: "Read the error log (smartctl -x); run a long self-test.",
  },
  "storage.smart_selftest_log": {
    severity: "WARN",
    when: "smartctl exit bit 7: the self-test log records failed tests",
    action: "Re-run a self-test; replace the disk if it fails again.",
  },
  "storage.reallocated_sectors": {
    severity: "WARN",
    when: "reallocated sectors (ATA id 5) or SAS grown defects > 0",
    action: "Watch the count during burn-in; replace the disk if it grows.",
  },
  "storage.pending_sectors": {
    severity: "WARN",
    when: "pending (id 197) or offline-uncorrectable (id 198) sectors > 0",
    action: "Run a long self-test or full-surface write; replace the disk if sectors stay pending.",
  },
  "storage.uncorrected_errors": {
    severity: "WARN",
    when: "SAS error counter log shows uncorrected read/write errors",
    action: "Check cabling and the HBA; replace the disk if errors grow.",
  },
  "storage.nvme_critical_warning": {
    severity: "FAIL",
    when: "NVMe critical_warning ≠ 0",
    action: "Replace the NVMe drive; the message decodes which warning bits are set.",
  },
  "storage.nvme_spare_low": {
    severity: "FAIL",
    when: "NVMe available_spare below available_spare_threshold",
    action: "Replace the NVMe drive.",
  },
  "storage.nvme_wear": {
    severity: "WARN",
    when: "NVMe percentage_used ≥ 90",
    action: "The drive is near its rated endurance; plan a replacement.",
  },
  "storage.nvme_media_errors": {
    severity: "WARN",
    when: "NVMe media_errors > 0",
    action: "Run the NVMe self-test; replace the drive if errors grow.",
  },
  "storage.smart_unchecked": {
    severity: "WARN",
    when: "disks present but smartctl is not installed",
    action: "Install smartmontools (it ships in the bee ISO) and re-run the audit.",
  },
  "memory.os_ram_low": {
    severity: "WARN",
    when:
      "OS-visible RAM more than 10 % below the installed DRAM (or, in PMem Memory Mode, the PMem's volatile size)",
    action: "Check BIOS memory settings and reseat DIMMs; a DIMM may be disabled after errors.",
  },
  "memory.edac_uncorrected": {
    severity: "FAIL",
    when: "EDAC ue_count > 0",
    action: "Find the failing DIMM from the EDAC controller and BMC log; replace it.",
  },
  "memory.edac_corrected": {
    severity: "WARN",
    when: "EDAC ce_count > 0",
    action: "Run bee sat memory; replace the DIMM if corrected errors keep rising.",
  },
  "memory.ipmi_ecc_uncorrectable": {
    severity: "FAIL",
    when:
      "a BMC memory sensor (entity 8/32, or a DIMM/MEM/ECC name) asserts Uncorrectable ECC, Parity or Memory Device Disabled",
    action: "Replace the DIMM the sensor names; check the BMC event log for the slot.",
  },
  "memory.ipmi_ecc": {
    severity: "WARN",
    when:
      "a BMC memory sensor asserts Correctable ECC, Correctable ECC logging limit reached, Memory Scrub Failed or Spare",
    action:
      "Find the DIMM in the BMC event log; run bee sat memory and replace the DIMM if corrected errors keep rising.",
  },
  "cpu.sockets_mismatch": {
    severity: "WARN",
    when: "populated sockets (SMBIOS) differ from CPU packages the kernel sees",
    action: "Check that every CPU is seated and enabled in the BIOS.",
  },
  "cpu.cores_missing": {
    severity: "WARN",
    when: "the kernel sees fewer cores than SMBIOS reports enabled",
    action: "Check BIOS core settings and kernel command line (maxcpus, nosmt).",
  },
  "pcie.link_degraded": {
    severity: "WARN",
    when: "an endpoint's PCIe link width is below its maximum",
    action: "Reseat the card or riser; check the slot's lane configuration in the BIOS.",
  },
  "pcie.gpu_missing": {
    severity: "FAIL",
    when: "an NVIDIA GPU seen by lspci is missing from nvidia-smi (fell off the bus)",
    action: "Check the kernel log for Xid 79; reseat the GPU and its power; RMA if it repeats.",
  },
  "nvidia.fabric_manager_down": {
    severity: "FAIL",
    when: "NVSwitches are on the PCI bus (HGX) and the Fabric Manager daemon is not running",
    action:
      "Start nvidia-fabricmanager (same version as the driver); CUDA will not start on this system without it.",
  },
  "nvidia.unavailable": {
    severity: "WARN",
    when: "NVIDIA GPUs on the PCI bus but nvidia-smi could not report (driver not loaded)",
    action: "Check bee-nvidia.service and the kernel log; GPU health was not checked.",
  },
  "nvidia.ecc_uncorrected": {
    severity: "FAIL",
    when: "volatile uncorrectable (double-bit) ECC errors > 0",
    action: "Reset the GPU, run bee sat nvidia; RMA if errors return.",
  },
  "nvidia.retirement_pending": {
    severity: "FAIL",
    when: "a page retirement is pending",
    action: "Reboot or reset the GPU to retire the page, then re-audit.",
  },
  "nvidia.remap_pending": {
    severity: "FAIL",
    when: "a row remap is pending",
    action: "Reset the GPU to apply the remap, then re-audit.",
  },
  "nvidia.remap_failure": {
    severity: "FAIL",
    when: "row remapping failed",
    action: "The GPU cannot repair its memory: RMA.",
  },
  "nvidia.retired_pages_limit": {
    severity: "FAIL",
    when:
      "retired pages (single + double bit) ≥ 60 (DCGM's DCGM_LIMIT_MAX_RETIRED_PAGES; newer DCGM allows 63)",
    action: "The GPU has used up its page retirement budget: RMA.",
  },
  "nvidia.vbios_mismatch": {
    severity: "WARN",
    when: "GPUs of one model run different VBIOS versions",
    action: "Flash all GPUs of the model to the same VBIOS.",
  },
  "nvidia.ecc_disabled": {
    severity: "WARN",
    when: "a GPU that has ECC reports ECC Mode Disabled (its error counters then read N/A)",
    action:
      "Enable ECC (nvidia-smi -i N -e 1, then reboot) and re-run the audit: without it memory errors go unseen.",
  },
  "nvidia.clock_slowdown": {
    severity: "WARN",
    when: "HW slowdown, HW thermal or power-brake clock event reason active",
    action: "Check cooling, fans and PSU capacity; the GPU is being throttled by hardware.",
  },
  "psu.redundancy_lost": {
    severity: "FAIL",
    when:
      "a PSU redundancy sensor says Redundancy Lost or Non-Redundant: Insufficient Resources, with more than one PSU",
    action:
      "Find the failed or unplugged PSU (BMC event log, PSU LEDs); a redundant server must survive losing one.",
  },
  "psu.redundancy_degraded": {
    severity: "WARN",
    when: "a PSU redundancy sensor says Non-Redundant: Sufficient from Redundant or Redundancy Degraded",
    action: "Check each PSU's input feed and status; the server runs, but one more PSU failure stops it.",
  },
  "psu.sensor_critical": {
    severity: "FAIL",
    when: "a PSU or power sensor reports critical / non-recoverable, or a failure / AC loss event",
    action: "Check the PSU's input power and cabling; replace the PSU.",
  },
  "psu.sensor_warning": {
    severity: "WARN",
    when: "a PSU or power sensor reports non-critical, or a predictive failure",
    action: "Check the PSU in the BMC event log; plan a replacement.",
  },
  "collector.error": {
    severity: "WARN",
    when: "a collector failed (tool error or unreadable output)",
    action: "Read the collector message in the audit; the area it covers was not checked.",
  },
  "collector.timeout": {
    severity: "WARN",
    when: "a collector's command timed out",
    action: "Re-run the audit; a hanging tool often means a hanging device.",
  },
};

/** DCGM's retired-pages limit (DCGM_LIMIT_MAX_RETIRED_PAGES = 60; later DCGM releases raised it to 63). */
export const RETIRED_PAGES_LIMIT = 60;

class Findings {
  readonly list: Finding[] = [];
  add(code: keyof typeof RULES & string, component: string, message: string): void {
    const rule = RULES[code];
    if (!rule) throw new Error(`unknown rule ${code}`);
    this.list.push({
      severity: rule.severity,
      component: component.slice(0, 256),
      code,
      message: message.slice(0, 1024),
      action: rule.action,
    });
  }
}

const NVME_WARNING_BITS = [
  "spare below threshold",
  "temperature out of range",
  "reliability degraded",
  "read-only mode",
  "volatile backup failed",
  "persistent memory read-only",
];

function nvmeHealthRules(f: Findings, comp: string, h: NvmeHealth): void {
  if (h.critical_warning !== null && h.critical_warning !== 0) {
    const set = NVME_WARNING_BITS.filter((_, i) => h.critical_warning! & (1 << i));
    f.add(
      "storage.nvme_critical_warning",
      comp,
      `critical_warning=0x${h.critical_warning.toString(16)} (${set.join(", ") || "reserved bits"})`,
    );
  }
  if (
    h.available_spare !== null && h.available_spare_threshold !== null &&
    h.available_spare < h.available_spare_threshold
  ) {
    f.add(
      "storage.nvme_spare_low",
      comp,
      `available spare ${h.available_spare}% below threshold ${h.available_spare_threshold}%`,
    );
  }
  if (h.percentage_used !== null && h.percentage_used >= 90) {
    f.add("storage.nvme_wear", comp, `percentage used ${h.percentage_used}%`);
  }
  if (h.media_errors !== null && h.media_errors > 0) {
    f.add("storage.nvme_media_errors", comp, `${h.media_errors} media errors`);
  }
}

function diskRules(f: Findings, d: Disk): void {
  const comp = `storage:${d.path}`;
  const s = d.smart;
  if (s && s.available) {
    if (s.passed === false) {
      f.add(
        "storage.smart_failed",
        comp,
        `SMART overall health FAILED (${d.model ?? "unknown model"}, serial ${d.serial ?? "?"})`,
      );
    }
    const bitRule: Record<number, string> = {
      3: "storage.smart_disk_failing",
      4: "storage.smart_prefail",
      5: "storage.smart_past_threshold",
      6: "storage.smart_error_log",
      7: "storage.smart_selftest_log",
    };
    for (const b of s.exit_bits) {
      const code = bitRule[b];
      if (code) f.add(code, comp, `smartctl exit status ${s.exit_status}: ${SMARTCTL_EXIT_BITS[b]}`);
    }
    const realloc = (s.reallocated_sectors ?? 0) + (s.grown_defects ?? 0);
    if (realloc > 0) {
      f.add(
        "storage.reallocated_sectors",
        comp,
        s.grown_defects ? `${s.grown_defects} grown defects` : `${s.reallocated_sectors} reallocated sectors`,
      );
    }
    const pending = (s.pending_sectors ?? 0) + (s.offline_uncorrectable ?? 0);
    if (pending > 0) {
      f.add(
        "storage.pending_sectors",
        comp,
        `${s.pending_sectors ?? 0} pending, ${s.offline_uncorrectable ?? 0} offline-uncorrectable sectors`,
      );
    }
    const unc = (s.uncorrected_read_errors ?? 0) + (s.uncorrected_write_errors ?? 0);
    if (unc > 0) {
      f.add(
        "storage.uncorrected_errors",
        comp,
        `${s.uncorrected_read_errors ?? 0} uncorrected read, ${
          s.uncorrected_write_errors ?? 0
        } uncorrected write errors`,
      );
    }
  }
  const health = d.nvme?.health ?? s?.nvme_health ?? null;
  if (health) nvmeHealthRules(f, comp, health);
}

const isNvidiaGpu = (d: { vendor_id: string | null; class_id: string | null }) =>
  d.vendor_id === "10de" && (d.class_id ?? "").startsWith("03");

/** Applies every rule to the hardware data and the collector statuses. */
export function judge(hw: Omit<Hardware, "summary">, collectors: CollectorStatus[]): Finding[] {
  const f = new Findings();
  const status = (n: string) => collectors.find((c) => c.name === n);

  // storage
  for (const d of hw.storage?.disks ?? []) diskRules(f, d);
  if (
    hw.storage && hw.storage.disks.length > 0 &&
    status("storage")?.commands.some((c) => c.command.startsWith("smartctl") && c.outcome === "missing")
  ) {
    f.add(
      "storage.smart_unchecked",
      "storage",
      `${hw.storage.disks.length} disk(s) not checked: smartctl not installed`,
    );
  }

  // memory
  const m = hw.memory;
  // PMem never counts as DRAM; in Memory Mode the OS gets the PMem's volatile size (DRAM is its cache)
  const pmemVolatile = (m?.slots ?? []).reduce(
    (s, d) => s + (d.kind === "pmem" ? d.volatile_bytes ?? 0 : 0),
    0,
  );
  const expected = Math.max(m?.installed_bytes ?? 0, pmemVolatile);
  if (expected > 0 && m?.os_total_bytes != null && m.os_total_bytes < 0.9 * expected) {
    const gib = (b: number) => (b / 1024 ** 3).toFixed(1);
    f.add(
      "memory.os_ram_low",
      "memory",
      `OS sees ${gib(m.os_total_bytes)} GiB of ${gib(expected)} GiB ${
        pmemVolatile > (m.installed_bytes ?? 0) ? "PMem (Memory Mode)" : "DRAM"
      } installed`,
    );
  }
  for (const mc of m?.edac ?? []) {
    if ((mc.ue_count ?? 0) > 0) {
      f.add("memory.edac_uncorrected", `memory:${mc.controller}`, `${mc.ue_count} uncorrected memory errors`);
    }
    if ((mc.ce_count ?? 0) > 0) {
      f.add("memory.edac_corrected", `memory:${mc.controller}`, `${mc.ce_count} corrected memory errors`);
    }
  }

  // memory sensors on the BMC (their states are the reading in `sdr elist`)
  for (const s of hw.psu?.sensors ?? []) {
    const memory = /^(8|32)\.\d+$/.test(s.entity ?? "") || /\b(dimm|mem(ory)?|ecc)/i.test(s.name ?? "");
    const reading = s.reading ?? "";
    if (!memory) continue;
    const comp = `memory:${s.name ?? s.sensor_id ?? "sensor"}`;
    if (/uncorrectable (ecc|machine check)|\bparity\b|memory device disabled/i.test(reading)) {
      f.add("memory.ipmi_ecc_uncorrectable", comp, `BMC sensor ${s.name}: ${reading}`);
    } else if (/(^|[^n])correctable ecc|logging limit reached|memory scrub failed|\bspare\b/i.test(reading)) {
      f.add("memory.ipmi_ecc", comp, `BMC sensor ${s.name}: ${reading}`);
    }
  }

  // cpu
  const c = hw.cpu;
  if (c?.sockets && c.os) {
    const populated = c.sockets.filter((s) => s.populated);
    if (populated.length > 0 && populated.length !== c.os.packages) {
      f.add(
        "cpu.sockets_mismatch",
        "cpu",
        `SMBIOS lists ${populated.length} populated socket(s), the kernel sees ${c.os.packages}`,
      );
    }
    const enabled = populated.reduce((n, s) => n + (s.cores_enabled ?? s.cores ?? 0), 0);
    if (enabled > 0 && c.os.cores < enabled) {
      f.add(
        "cpu.cores_missing",
        "cpu",
        `SMBIOS reports ${enabled} enabled cores, the kernel sees ${c.os.cores}`,
      );
    }
  }

  // pcie + nvidia presence
  for (const d of hw.pcie?.devices ?? []) {
    const bridge = (d.class_id ?? "").startsWith("06");
    if (
      !bridge && d.current_link_width !== null && d.max_link_width !== null &&
      d.current_link_width < d.max_link_width
    ) {
      f.add(
        "pcie.link_degraded",
        `pcie:${d.address}`,
        `${d.device ?? d.device_id ?? "device"}: link x${d.current_link_width} of x${d.max_link_width} (${
          d.current_link_speed ?? "?"
        } of ${d.max_link_speed ?? "?"})`,
      );
    }
  }
  const pciGpus = (hw.pcie?.devices ?? []).filter(isNvidiaGpu);
  const nv = status("nvidia");
  if (pciGpus.length > 0 && hw.nvidia) {
    const seen = new Set(hw.nvidia.gpus.map((g) => g.pci_bus_id));
    for (const d of pciGpus) {
      if (!seen.has(d.address)) {
        f.add(
          "pcie.gpu_missing",
          `pcie:${d.address}`,
          `${d.device ?? "NVIDIA GPU"} at ${d.address} is on the PCI bus but not in nvidia-smi`,
        );
      }
    }
  } else if (pciGpus.length > 0 && nv && nv.status !== "ok") {
    f.add(
      "nvidia.unavailable",
      "nvidia",
      `${pciGpus.length} NVIDIA GPU(s) on the PCI bus, nvidia-smi gave nothing: ${nv.message ?? nv.status}`,
    );
  }

  const nvSwitches = (hw.pcie?.devices ?? []).filter((d) =>
    d.vendor_id === "10de" && (d.class_id ?? "").startsWith("0680")
  );
  const fm = hw.nvidia?.fabric_manager;
  if (nvSwitches.length > 0 && hw.nvidia && fm?.running !== true) {
    f.add(
      "nvidia.fabric_manager_down",
      "nvidia",
      `${nvSwitches.length} NVSwitch(es) on the PCI bus, Fabric Manager ${
        fm?.running === false ? "not running" : "state unknown"
      }${fm?.version ? ` (installed: ${fm.version})` : " (not installed)"}`,
    );
  }

  // nvidia health
  const gpus = hw.nvidia?.gpus ?? [];
  for (const g of gpus) {
    const comp = `nvidia:gpu${g.index}`;
    const who = `${g.name ?? "GPU"} ${g.pci_bus_id ?? ""}`.trim();
    if ((g.ecc_volatile.uncorrectable ?? 0) > 0) {
      f.add(
        "nvidia.ecc_uncorrected",
        comp,
        `${who}: ${g.ecc_volatile.uncorrectable} volatile uncorrectable ECC errors`,
      );
    }
    if (g.retired_pages.pending) f.add("nvidia.retirement_pending", comp, `${who}: page retirement pending`);
    if (g.remapped_rows.pending) f.add("nvidia.remap_pending", comp, `${who}: row remap pending`);
    if (g.remapped_rows.failure) {
      f.add("nvidia.remap_failure", comp, `${who}: row remapping failure occurred`);
    }
    const retired = (g.retired_pages.single_bit ?? 0) + (g.retired_pages.double_bit ?? 0);
    if (retired >= RETIRED_PAGES_LIMIT) {
      f.add(
        "nvidia.retired_pages_limit",
        comp,
        `${who}: ${retired} retired pages (limit ${RETIRED_PAGES_LIMIT})`,
      );
    }
    const hwReasons = (g.clock_event_reasons_active ?? []).filter((r) =>
      /^HW (Slowdown|Thermal Slowdown|Power Brake Slowdown)$/i.test(r)
    );
    if (hwReasons.length) f.add("nvidia.clock_slowdown", comp, `${who}: ${hwReasons.join(", ")} active`);
    if (/^disabled$/i.test(g.ecc_mode ?? "")) {
      const mig = /^enabled$/i.test(g.mig_mode ?? "") ? " (MIG enabled)" : "";
      f.add("nvidia.ecc_disabled", comp, `${who}: ECC disabled${mig}`);
    }
  }
  const byModel = new Map<string, Set<string>>();
  for (const g of gpus) {
    if (!g.name || !g.vbios) continue;
    byModel.set(g.name, (byModel.get(g.name) ?? new Set()).add(g.vbios));
  }
  for (const [model, versions] of byModel) {
    if (versions.size > 1) {
      f.add("nvidia.vbios_mismatch", "nvidia", `${model}: VBIOS ${[...versions].sort().join(", ")}`);
    }
  }

  // psu: redundancy sensors (IPMI generic event type 0Bh: their states are the reading), then the others
  const sensors = hw.psu?.sensors ?? [];
  // PSUs: distinct Power Supply entities (10.N) on the sensors, else PSn / PSUn names
  const psus = new Set(
    sensors.flatMap((s) => {
      if (s.entity && /^10\.\d+$/.test(s.entity)) return [s.entity];
      const m = /\bPSU?\s*(\d+)/i.exec(s.name ?? "");
      return m ? [`ps${m[1]}`] : [];
    }),
  );
  const redundancy = (s: (typeof sensors)[number]) => /redundan/i.test(`${s.name ?? ""} ${s.reading ?? ""}`);
  for (const s of sensors) {
    if (!redundancy(s) || !s.is_power && !/\bPSU?|power|pwr/i.test(s.name ?? "")) continue;
    const reading = s.reading ?? "";
    const comp = `psu:${s.name ?? s.sensor_id ?? "redundancy"}`;
    if (/redundancy lost|insufficient resources/i.test(reading)) {
      if (psus.size > 1) f.add("psu.redundancy_lost", comp, `${s.name}: ${reading} (${psus.size} PSUs)`);
    } else if (/sufficient from redundant|redundancy degraded/i.test(reading)) {
      f.add("psu.redundancy_degraded", comp, `${s.name}: ${reading}`);
    }
  }
  for (const s of sensors) {
    if (!s.is_power || redundancy(s)) continue;
    const comp = `psu:${s.name ?? s.sensor_id ?? "sensor"}`;
    const st = s.status ?? "";
    const reading = s.reading ?? "";
    if (
      /^(cr|nr|lcr|ucr|lnr|unr)$/.test(st) ||
      /failure detected|ac lost|input lost|power supply lost/i.test(reading)
    ) {
      f.add("psu.sensor_critical", comp, `${s.name}: status ${st || "?"}${reading ? `, ${reading}` : ""}`);
    } else if (/^(nc|lnc|unc)$/.test(st) || /predictive failure|out-of-range|out of range/i.test(reading)) {
      f.add("psu.sensor_warning", comp, `${s.name}: status ${st || "?"}${reading ? `, ${reading}` : ""}`);
    }
  }

  // collectors
  for (const s of collectors) {
    if (s.status === "error") {
      f.add("collector.error", `collector:${s.name}`, `${s.name}: ${s.message ?? "failed"}`);
    }
    if (s.status === "timeout") {
      f.add("collector.timeout", `collector:${s.name}`, `${s.name}: ${s.message ?? "timed out"}`);
    }
  }
  return f.list;
}

/** Verdict and counts from findings: any FAIL → FAIL, else any WARN → WARN, else PASS. */
export function summarize(findings: Finding[]): Summary {
  const failures = findings.filter((x) => x.severity === "FAIL").length;
  const warnings = findings.filter((x) => x.severity === "WARN").length;
  // failures first, each group in rule order, so the most urgent line is read first
  const ordered = [
    ...findings.filter((x) => x.severity === "FAIL"),
    ...findings.filter((x) => x.severity === "WARN"),
  ];
  return { verdict: failures ? "FAIL" : warnings ? "WARN" : "PASS", warnings, failures, findings: ordered };
}
