// Verdict rules as data: every rule is one row — stable code, severity, what triggers it, what to do, where
// its threshold comes from, and its check over the typed audit. judge() applies the rows in order; the
// README's rule table is checked against them (tests/verdict_test.ts), so a new rule is one row and one test.
import type {
  CollectorStatus,
  Disk,
  Finding,
  Gpu,
  Hardware,
  IbDevice,
  IbPort,
  NvmeHealth,
  PciDevice,
  SdrSensor,
  Smart,
  Summary,
} from "../model/schema.ts";
import { SMARTCTL_EXIT_BITS } from "../parsers/smartctl.ts";
import { selTime } from "../parsers/ipmitool.ts";
import { type BomHit, compareExpect } from "../expect/compare.ts";
import type { Expect } from "../model/expect.ts";

type Sev = Finding["severity"];

/** One place a rule fired. */
export interface Hit {
  component: string;
  message: string;
  /** the row's severity unless the source of the hit says otherwise (an order line's on_* setting) */
  severity?: Sev;
}

const hit = (component: string, message: string): Hit => ({ component, message });

/** What the checks read: the hardware sections and collector statuses, with the views several rules share. */
export class JudgeInput {
  constructor(
    readonly hw: Omit<Hardware, "summary">,
    readonly collectors: CollectorStatus[],
    readonly expect: Expect | null = null,
    /** the audit's time (epoch ms): SEL events are recent relative to it */
    readonly now: number = Date.now(),
  ) {}

  #bom: BomHit[] | null = null;
  /** Differences from the expected bill of materials (none without one). */
  bom(code: BomHit["code"]): Hit[] {
    this.#bom ??= this.expect ? compareExpect(this.hw, this.expect) : [];
    return this.#bom.filter((h) => h.code === code);
  }

  status(name: string): CollectorStatus | undefined {
    return this.collectors.find((c) => c.name === name);
  }

  /** Disks whose SMART smartctl could read. */
  smartDisks(): { d: Disk; s: Smart; comp: string }[] {
    return (this.hw.storage?.disks ?? []).flatMap((d) =>
      d.smart && d.smart.available ? [{ d, s: d.smart, comp: `storage:${d.path}` }] : []
    );
  }

  /** NVMe health per disk (nvme-cli's, else smartctl's). */
  nvmeHealth(): { d: Disk; h: NvmeHealth; comp: string }[] {
    return (this.hw.storage?.disks ?? []).flatMap((d) => {
      const h = d.nvme?.health ?? d.smart?.nvme_health ?? null;
      return h ? [{ d, h, comp: `storage:${d.path}` }] : [];
    });
  }

  /** BMC sensors of memory (entity 8 memory module / 32 memory device, or a DIMM/MEM/ECC name). */
  memorySensors(): { s: SdrSensor; comp: string; reading: string }[] {
    return (this.hw.psu?.sensors ?? []).flatMap((s) =>
      /^(8|32)\.\d+$/.test(s.entity ?? "") || /\b(dimm|mem(ory)?|ecc)/i.test(s.name ?? "")
        ? [{ s, comp: `memory:${s.name ?? s.sensor_id ?? "sensor"}`, reading: s.reading ?? "" }]
        : []
    );
  }

  /** Temperature and fan sensors of the SDR (power sensors have their own rules). */
  thermalSensors(): {
    s: SdrSensor;
    comp: string;
    st: string;
    reading: string;
    kind: "temperature" | "fan";
  }[] {
    return (this.hw.psu?.sensors ?? []).flatMap((s) => {
      if (s.is_power) return [];
      const text = `${s.name ?? ""} ${s.reading ?? ""}`;
      const kind = /degrees c|\btemp/i.test(text)
        ? "temperature"
        : /\brpm\b|\bfan/i.test(text)
        ? "fan"
        : null;
      return kind
        ? [{
          s,
          kind,
          comp: `bmc:${s.name ?? s.sensor_id ?? kind}`,
          st: s.status ?? "",
          reading: s.reading ?? "",
        }]
        : [];
    });
  }

  /** Asserted SEL events of a class within SEL_RECENT_DAYS of the audit (undated ones count), by kind. */
  selEvents(cls: "fatal" | "critical"): Hit[] {
    const from = this.now - SEL_RECENT_DAYS * 86_400_000;
    const events = (this.hw.bmc?.sel?.events ?? []).filter((e) => {
      if (e.class !== cls) return false;
      const t = selTime(e.timestamp);
      return t === null || t >= from;
    });
    const byKind = new Map<string, typeof events>();
    for (const e of events) {
      const k = `${e.sensor_type ?? "?"}: ${(e.event ?? "").split(" | ")[0]}`;
      byKind.set(k, [...(byKind.get(k) ?? []), e]);
    }
    return [...byKind.entries()].map(([k, es]) =>
      hit(
        `bmc:sel:${es[0]!.sensor_type ?? "event"}`,
        `${k} × ${es.length} (sensors: ${
          [...new Set(es.map((e) => e.sensor ?? "?"))].slice(0, 5).join(", ")
        }; last ${es.at(-1)!.timestamp ?? "undated"})`,
      )
    );
  }

  /** InfiniBand / RDMA ports with the adapter that has them. */
  ibPorts(): { d: IbDevice; p: IbPort; comp: string; who: string }[] {
    return (this.hw.infiniband?.devices ?? []).flatMap((d) =>
      d.ports.map((p) => ({
        d,
        p,
        comp: `infiniband:${d.name}/${p.port}`,
        who: `${d.name} port ${p.port}${
          d.hca_type ? ` (${d.hca_type}${d.fw_ver ? `, fw ${d.fw_ver}` : ""})` : ""
        }`,
      }))
    );
  }

  /** NVSwitches on the PCI bus (NVIDIA bridge-class functions, as an HGX baseboard shows them). */
  nvswitches(): PciDevice[] {
    return (this.hw.pcie?.devices ?? []).filter((d) =>
      d.vendor_id === "10de" && (d.class_id ?? "").startsWith("0680")
    );
  }

  /** PCI functions with AER counters. */
  aer(): { d: PciDevice; a: NonNullable<PciDevice["aer"]>; comp: string }[] {
    return (this.hw.pcie?.devices ?? []).flatMap((d) =>
      d.aer ? [{ d, a: d.aer, comp: `pcie:${d.address}` }] : []
    );
  }

  /** NVIDIA display/3D controllers on the PCI bus. */
  pciGpus(): PciDevice[] {
    return (this.hw.pcie?.devices ?? []).filter((d) =>
      d.vendor_id === "10de" && (d.class_id ?? "").startsWith("03")
    );
  }

  gpus(): { g: Gpu; comp: string; who: string }[] {
    return (this.hw.nvidia?.gpus ?? []).map((g) => ({
      g,
      comp: `nvidia:gpu${g.index}`,
      who: `${g.name ?? "GPU"} ${g.pci_bus_id ?? ""}`.trim(),
    }));
  }

  /** PSUs: distinct Power Supply entities (10.N) on the sensors, else PSn / PSUn names. */
  psuCount(): number {
    return new Set(
      (this.hw.psu?.sensors ?? []).flatMap((s) => {
        if (s.entity && /^10\.\d+$/.test(s.entity)) return [s.entity];
        const m = /\bPSU?\s*(\d+)/i.exec(s.name ?? "");
        return m ? [`ps${m[1]}`] : [];
      }),
    ).size;
  }

  /** PSU redundancy sensors (IPMI generic event type 0Bh: their states are the reading). */
  redundancySensors(): { s: SdrSensor; comp: string; reading: string }[] {
    return (this.hw.psu?.sensors ?? []).flatMap((s) =>
      isRedundancy(s) && (s.is_power || /\bPSU?|power|pwr/i.test(s.name ?? ""))
        ? [{ s, comp: `psu:${s.name ?? s.sensor_id ?? "redundancy"}`, reading: s.reading ?? "" }]
        : []
    );
  }

  /** Power sensors other than redundancy. */
  powerSensors(): { s: SdrSensor; comp: string; st: string; reading: string }[] {
    return (this.hw.psu?.sensors ?? []).flatMap((s) =>
      s.is_power && !isRedundancy(s)
        ? [{
          s,
          comp: `psu:${s.name ?? s.sensor_id ?? "sensor"}`,
          st: s.status ?? "",
          reading: s.reading ?? "",
        }]
        : []
    );
  }
}

const isRedundancy = (s: SdrSensor) => /redundan/i.test(`${s.name ?? ""} ${s.reading ?? ""}`);

const PSU_CRITICAL = (st: string, reading: string) =>
  /^(cr|nr|lcr|ucr|lnr|unr)$/.test(st) ||
  /failure detected|ac lost|input lost|power supply lost/i.test(reading);

/** EDAC errors per memory controller, naming the DIMMs (label → audit slot) that carry them. */
const edacHits = (x: JudgeInput, key: "ue_count" | "ce_count", what: string): Hit[] =>
  (x.hw.memory?.edac ?? []).flatMap((mc) => {
    if (!((mc[key] ?? 0) > 0)) return [];
    const dimms = (mc.dimms ?? []).filter((d) => (d[key] ?? 0) > 0).map((d) =>
      `${d.slot ?? d.label ?? d.dimm}: ${d[key]}`
    );
    return [
      hit(
        `memory:${mc.controller}`,
        `${mc[key]} ${what} memory errors${dimms.length ? ` (${dimms.join(", ")})` : ""}`,
      ),
    ];
  });

/** Disks whose smartctl exit status has `bit` set. */
const exitBit = (x: JudgeInput, bit: number): Hit[] =>
  x.smartDisks().flatMap(({ s, comp }) =>
    s.exit_bits.includes(bit)
      ? [hit(comp, `smartctl exit status ${s.exit_status}: ${SMARTCTL_EXIT_BITS[bit]}`)]
      : []
  );

const NVME_WARNING_BITS = [
  "spare below threshold",
  "temperature out of range",
  "reliability degraded",
  "read-only mode",
  "volatile backup failed",
  "persistent memory read-only",
];

/** SEL events older than this (by the BMC's clock, against the audit's time) are history, not findings. */
export const SEL_RECENT_DAYS = 30;

/** GPUs whose 8-GPU HGX baseboards carry a known number of NVSwitches (by nvidia-smi product name). */
const NVSWITCH_MODELS: Record<string, RegExp> = {
  "HGX A100": /^NVIDIA A100-SXM4/i,
  "HGX H100": /^NVIDIA H100 80GB HBM3$/i,
  "HGX H200": /^NVIDIA H200$/i,
};
export const NVSWITCHES_PER_HGX: Record<string, number> = { "HGX A100": 6, "HGX H100": 4, "HGX H200": 4 };

/** Symbol / receive errors since the driver loaded that make an InfiniBand link suspect. */
export const IB_ERROR_LIMIT = 10;

/** Correctable AER errors since boot that make a link suspect. */
export const AER_CORRECTABLE_LIMIT = 10;

/** DCGM's retired-pages limit (DCGM_LIMIT_MAX_RETIRED_PAGES = 60; later DCGM releases raised it to 63). */
export const RETIRED_PAGES_LIMIT = 60;

/** One rule: a row of the table. */
export interface Rule {
  code: string;
  severity: Sev;
  when: string;
  action: string;
  /** where the threshold or the state comes from */
  source: string;
  check: (x: JudgeInput) => Hit[];
}

/** Every rule bee applies, grouped by area, in the order findings are listed. */
export const RULE_ROWS: Rule[] = [
  {
    code: "storage.smart_failed",
    severity: "FAIL",
    when: "SMART overall health self-assessment failed",
    action: "Replace the disk before handover; copy off any data first.",
    source: "smartctl(8): SMART overall-health self-assessment",
    check: (x) =>
      x.smartDisks().filter(({ s }) => s.passed === false).map(({ d, comp }) =>
        hit(comp, `SMART overall health FAILED (${d.model ?? "unknown model"}, serial ${d.serial ?? "?"})`)
      ),
  },
  {
    code: "storage.smart_disk_failing",
    severity: "FAIL",
    when: "smartctl exit bit 3: SMART status DISK FAILING",
    action: "Replace the disk before handover.",
    source: "smartctl(8) RETURN VALUES, exit bit 3",
    check: (x) => exitBit(x, 3),
  },
  {
    code: "storage.smart_prefail",
    severity: "FAIL",
    when: "smartctl exit bit 4: a pre-failure attribute is at or below its threshold",
    action: "Replace the disk; the attribute table in the audit says which attribute tripped.",
    source: "smartctl(8) RETURN VALUES, exit bit 4",
    check: (x) => exitBit(x, 4),
  },
  {
    code: "storage.smart_past_threshold",
    severity: "WARN",
    when: "smartctl exit bit 5: a usage attribute was at or below its threshold in the past",
    action: "Check the disk's attribute history; plan a replacement.",
    source: "smartctl(8) RETURN VALUES, exit bit 5",
    check: (x) => exitBit(x, 5),
  },
  {
    code: "storage.smart_error_log",
    severity: "WARN",
    when: "smartctl exit bit 6: the device error log has entries",
    action: "Read the error log (smartctl -x); run a long self-test.",
    source: "smartctl(8) RETURN VALUES, exit bit 6",
    check: (x) => exitBit(x, 6),
  },
  {
    code: "storage.smart_selftest_log",
    severity: "WARN",
    when: "smartctl exit bit 7: the self-test log records failed tests",
    action: "Re-run a self-test; replace the disk if it fails again.",
    source: "smartctl(8) RETURN VALUES, exit bit 7",
    check: (x) => exitBit(x, 7),
  },
  {
    code: "storage.reallocated_sectors",
    severity: "WARN",
    when: "reallocated sectors (ATA id 5) or SAS grown defects > 0",
    action: "Watch the count during burn-in; replace the disk if it grows.",
    source:
      "MAAS smartctl-validate / Backblaze drive stats: any reallocated sector (ATA id 5) or SCSI grown defect",
    check: (x) =>
      x.smartDisks().flatMap(({ s, comp }) =>
        (s.reallocated_sectors ?? 0) + (s.grown_defects ?? 0) > 0
          ? [
            hit(
              comp,
              s.grown_defects
                ? `${s.grown_defects} grown defects`
                : `${s.reallocated_sectors} reallocated sectors`,
            ),
          ]
          : []
      ),
  },
  {
    code: "storage.pending_sectors",
    severity: "WARN",
    when: "pending (id 197) or offline-uncorrectable (id 198) sectors > 0",
    action: "Run a long self-test or full-surface write; replace the disk if sectors stay pending.",
    source: "ATA SMART ids 197/198 (smartmontools attribute notes): any pending sector",
    check: (x) =>
      x.smartDisks().flatMap(({ s, comp }) =>
        (s.pending_sectors ?? 0) + (s.offline_uncorrectable ?? 0) > 0
          ? [
            hit(
              comp,
              `${s.pending_sectors ?? 0} pending, ${
                s.offline_uncorrectable ?? 0
              } offline-uncorrectable sectors`,
            ),
          ]
          : []
      ),
  },
  {
    code: "storage.uncorrected_errors",
    severity: "WARN",
    when: "SAS error counter log shows uncorrected read/write errors",
    action: "Check cabling and the HBA; replace the disk if errors grow.",
    source: "SCSI error counter log (smartctl -x): total uncorrected errors",
    check: (x) =>
      x.smartDisks().flatMap(({ s, comp }) =>
        (s.uncorrected_read_errors ?? 0) + (s.uncorrected_write_errors ?? 0) > 0
          ? [
            hit(
              comp,
              `${s.uncorrected_read_errors ?? 0} uncorrected read, ${
                s.uncorrected_write_errors ?? 0
              } uncorrected write errors`,
            ),
          ]
          : []
      ),
  },
  {
    code: "storage.nvme_critical_warning",
    severity: "FAIL",
    when: "NVMe critical_warning ≠ 0",
    action: "Replace the NVMe drive; the message decodes which warning bits are set.",
    source: "NVMe base spec, SMART/Health log byte 0 (critical warning bits)",
    check: (x) =>
      x.nvmeHealth().flatMap(({ h, comp }) => {
        if (h.critical_warning === null || h.critical_warning === 0) return [];
        const set = NVME_WARNING_BITS.filter((_, i) => h.critical_warning! & (1 << i));
        return [
          hit(
            comp,
            `critical_warning=0x${h.critical_warning.toString(16)} (${set.join(", ") || "reserved bits"})`,
          ),
        ];
      }),
  },
  {
    code: "storage.nvme_spare_low",
    severity: "FAIL",
    when: "NVMe available_spare below available_spare_threshold",
    action: "Replace the NVMe drive.",
    source: "NVMe base spec: Available Spare below Available Spare Threshold",
    check: (x) =>
      x.nvmeHealth().flatMap(({ h, comp }) =>
        h.available_spare !== null && h.available_spare_threshold !== null &&
          h.available_spare < h.available_spare_threshold
          ? [
            hit(
              comp,
              `available spare ${h.available_spare}% below threshold ${h.available_spare_threshold}%`,
            ),
          ]
          : []
      ),
  },
  {
    code: "storage.nvme_wear",
    severity: "WARN",
    when: "NVMe percentage_used ≥ 90",
    action: "The drive is near its rated endurance; plan a replacement.",
    source: "NVMe base spec Percentage Used; 90 % chosen by bee (vendors rate endurance at 100 %)",
    check: (x) =>
      x.nvmeHealth().flatMap(({ h, comp }) =>
        h.percentage_used !== null && h.percentage_used >= 90
          ? [hit(comp, `percentage used ${h.percentage_used}%`)]
          : []
      ),
  },
  {
    code: "storage.nvme_media_errors",
    severity: "WARN",
    when: "NVMe media_errors > 0",
    action: "Run the NVMe self-test; replace the drive if errors grow.",
    source: "NVMe base spec: Media and Data Integrity Errors > 0",
    check: (x) =>
      x.nvmeHealth().flatMap(({ h, comp }) =>
        h.media_errors !== null && h.media_errors > 0 ? [hit(comp, `${h.media_errors} media errors`)] : []
      ),
  },
  {
    code: "storage.smart_unchecked",
    severity: "WARN",
    when: "disks present but smartctl is not installed",
    action: "Install smartmontools (it ships in the bee ISO) and re-run the audit.",
    source: "bee: a disk whose SMART was not read cannot pass",
    check: (x) =>
      x.hw.storage && x.hw.storage.disks.length > 0 && x.hw.storage.smartctl_missing
        ? [hit("storage", `${x.hw.storage.disks.length} disk(s) not checked: smartctl not installed`)]
        : [],
  },
  {
    code: "memory.os_ram_low",
    severity: "WARN",
    when:
      "OS-visible RAM more than 10 % below the installed DRAM (or, in PMem Memory Mode, the PMem's volatile size)",
    action: "Check BIOS memory settings and reseat DIMMs; a DIMM may be disabled after errors.",
    source: "bee: 10 % allows for firmware and kernel reservations",
    check: (x) => {
      const m = x.hw.memory;
      // PMem never counts as DRAM; in Memory Mode the OS gets the PMem's volatile size (DRAM is its cache)
      const pmem = (m?.slots ?? []).reduce((s, d) => s + (d.kind === "pmem" ? d.volatile_bytes ?? 0 : 0), 0);
      const expected = Math.max(m?.installed_bytes ?? 0, pmem);
      if (!(expected > 0 && m?.os_total_bytes != null && m.os_total_bytes < 0.9 * expected)) return [];
      const gib = (b: number) => (b / 1024 ** 3).toFixed(1);
      const what = pmem > (m.installed_bytes ?? 0) ? "PMem (Memory Mode)" : "DRAM";
      return [
        hit("memory", `OS sees ${gib(m.os_total_bytes)} GiB of ${gib(expected)} GiB ${what} installed`),
      ];
    },
  },
  {
    code: "memory.edac_uncorrected",
    severity: "FAIL",
    when: "EDAC ue_count > 0",
    action: "Find the failing DIMM from the EDAC controller and BMC log; replace it.",
    source: "Linux EDAC (ue_count); any uncorrected error",
    check: (x) => edacHits(x, "ue_count", "uncorrected"),
  },
  {
    code: "memory.edac_corrected",
    severity: "WARN",
    when: "EDAC ce_count > 0",
    action: "Run bee sat memory; replace the DIMM if corrected errors keep rising.",
    source: "Linux EDAC (ce_count); any corrected error on a machine under acceptance",
    check: (x) => edacHits(x, "ce_count", "corrected"),
  },
  {
    code: "memory.ipmi_ecc_uncorrectable",
    severity: "FAIL",
    when:
      "a BMC memory sensor (entity 8/32, or a DIMM/MEM/ECC name) asserts Uncorrectable ECC, Parity or Memory Device Disabled",
    action: "Replace the DIMM the sensor names; check the BMC event log for the slot.",
    source: "IPMI 2.0 sensor type 0Ch (Memory) offsets 01h, 02h, 04h",
    check: (x) =>
      x.memorySensors().flatMap(({ s, comp, reading }) =>
        /uncorrectable (ecc|machine check)|\bparity\b|memory device disabled/i.test(reading)
          ? [hit(comp, `BMC sensor ${s.name}: ${reading}`)]
          : []
      ),
  },
  {
    code: "memory.ipmi_ecc",
    severity: "WARN",
    when:
      "a BMC memory sensor asserts Correctable ECC, Correctable ECC logging limit reached, Memory Scrub Failed or Spare",
    action:
      "Find the DIMM in the BMC event log; run bee sat memory and replace the DIMM if corrected errors keep rising.",
    source: "IPMI 2.0 sensor type 0Ch (Memory) offsets 00h, 03h, 05h, 07h",
    check: (x) =>
      x.memorySensors().flatMap(({ s, comp, reading }) =>
        !/uncorrectable (ecc|machine check)|\bparity\b|memory device disabled/i.test(reading) &&
          /(^|[^n])correctable ecc|logging limit reached|memory scrub failed|\bspare\b/i.test(reading)
          ? [hit(comp, `BMC sensor ${s.name}: ${reading}`)]
          : []
      ),
  },
  {
    code: "cpu.sockets_mismatch",
    severity: "WARN",
    when: "populated sockets (SMBIOS) differ from CPU packages the kernel sees",
    action: "Check that every CPU is seated and enabled in the BIOS.",
    source: "SMBIOS type 4 Status vs sysfs physical_package_id",
    check: (x) => {
      const c = x.hw.cpu;
      if (!c?.sockets || !c.os) return [];
      const populated = c.sockets.filter((s) => s.populated);
      return populated.length > 0 && populated.length !== c.os.packages
        ? [
          hit(
            "cpu",
            `SMBIOS lists ${populated.length} populated socket(s), the kernel sees ${c.os.packages}`,
          ),
        ]
        : [];
    },
  },
  {
    code: "cpu.cores_missing",
    severity: "WARN",
    when: "the kernel sees fewer cores than SMBIOS reports enabled",
    action: "Check BIOS core settings and kernel command line (maxcpus, nosmt).",
    source: "SMBIOS type 4 Core Enabled vs sysfs core_id",
    check: (x) => {
      const c = x.hw.cpu;
      if (!c?.sockets || !c.os) return [];
      const enabled = c.sockets.filter((s) => s.populated).reduce(
        (n, s) => n + (s.cores_enabled ?? s.cores ?? 0),
        0,
      );
      return enabled > 0 && c.os.cores < enabled
        ? [hit("cpu", `SMBIOS reports ${enabled} enabled cores, the kernel sees ${c.os.cores}`)]
        : [];
    },
  },
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
  {
    code: "psu.redundancy_lost",
    severity: "FAIL",
    when:
      "a PSU redundancy sensor says Redundancy Lost or Non-Redundant: Insufficient Resources, with more than one PSU",
    action:
      "Find the failed or unplugged PSU (BMC event log, PSU LEDs); a redundant server must survive losing one.",
    source: "IPMI 2.0 generic event type 0Bh (redundancy) offsets 01h, 05h",
    check: (x) => {
      const n = x.psuCount();
      return x.redundancySensors().flatMap(({ s, comp, reading }) =>
        /redundancy lost|insufficient resources/i.test(reading) && n > 1
          ? [hit(comp, `${s.name}: ${reading} (${n} PSUs)`)]
          : []
      );
    },
  },
  {
    code: "psu.redundancy_degraded",
    severity: "WARN",
    when: "a PSU redundancy sensor says Non-Redundant: Sufficient from Redundant or Redundancy Degraded",
    action: "Check each PSU's input feed and status; the server runs, but one more PSU failure stops it.",
    source: "IPMI 2.0 generic event type 0Bh (redundancy) offsets 02h, 04h",
    check: (x) =>
      x.redundancySensors().flatMap(({ s, comp, reading }) =>
        !/redundancy lost|insufficient resources/i.test(reading) &&
          /sufficient from redundant|redundancy degraded/i.test(reading)
          ? [hit(comp, `${s.name}: ${reading}`)]
          : []
      ),
  },
  {
    code: "psu.sensor_critical",
    severity: "FAIL",
    when: "a PSU or power sensor reports critical / non-recoverable, or a failure / AC loss event",
    action: "Check the PSU's input power and cabling; replace the PSU.",
    source: "IPMI threshold states cr/nr and power-supply sensor offsets (type 08h)",
    check: (x) =>
      x.powerSensors().flatMap(({ s, comp, st, reading }) =>
        PSU_CRITICAL(st, reading)
          ? [hit(comp, `${s.name}: status ${st || "?"}${reading ? `, ${reading}` : ""}`)]
          : []
      ),
  },
  {
    code: "psu.sensor_warning",
    severity: "WARN",
    when: "a PSU or power sensor reports non-critical, or a predictive failure",
    action: "Check the PSU in the BMC event log; plan a replacement.",
    source: "IPMI threshold state nc and power-supply predictive failure (type 08h)",
    check: (x) =>
      x.powerSensors().flatMap(({ s, comp, st, reading }) =>
        !PSU_CRITICAL(st, reading) &&
          (/^(nc|lnc|unc)$/.test(st) || /predictive failure|out-of-range|out of range/i.test(reading))
          ? [hit(comp, `${s.name}: status ${st || "?"}${reading ? `, ${reading}` : ""}`)]
          : []
      ),
  },
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
  {
    code: "bmc.sel_fatal",
    severity: "FAIL",
    when:
      `an asserted SEL event of the last ${SEL_RECENT_DAYS} days (or undated): uncorrectable ECC, CPU IERR/thermal trip/MCE, PCI SERR/PERR/bus fatal, PSU failure or AC lost, non-recoverable threshold`,
    action:
      "Read the event in the BMC log, fix or replace the part it names, clear the SEL (ipmitool sel clear) and burn in again.",
    source: "IPMI 2.0 sensor-specific event offsets (table 42-3); window: bee, the burn-in period",
    check: (x) => x.selEvents("fatal"),
  },
  {
    code: "bmc.sel_critical",
    severity: "WARN",
    when:
      `an asserted SEL event of the last ${SEL_RECENT_DAYS} days (or undated): critical threshold crossed (temperature, voltage, fan), correctable ECC, predictive failure, drive fault, SEL full`,
    action:
      "Check what the event names (cooling, power, the DIMM); clear the SEL after fixing and watch it during SAT.",
    source: "IPMI 2.0 threshold and sensor-specific event offsets; window: bee, the burn-in period",
    check: (x) => x.selEvents("critical"),
  },
  {
    code: "bmc.sensor_critical",
    severity: "FAIL",
    when:
      "a temperature or fan sensor of the SDR reports critical or non-recoverable (cr, nr, lcr, ucr, lnr, unr)",
    action:
      "Check the fan (spinning, seated) and the airflow (blanks, shrouds, inlet temperature) before any load.",
    source: "IPMI threshold states from ipmitool sdr elist; thresholds set by the BMC vendor",
    check: (x) =>
      x.thermalSensors().flatMap(({ s, comp, st, reading, kind }) =>
        /^(cr|nr|lcr|ucr|lnr|unr)$/.test(st)
          ? [hit(comp, `${kind} ${s.name}: status ${st}, ${reading || "no reading"}`)]
          : []
      ),
  },
  {
    code: "bmc.sensor_warning",
    severity: "WARN",
    when: "a temperature or fan sensor of the SDR reports non-critical (nc, lnc, unc)",
    action: "Check cooling and fan speed; watch the sensor during the SAT.",
    source: "IPMI threshold states from ipmitool sdr elist; thresholds set by the BMC vendor",
    check: (x) =>
      x.thermalSensors().flatMap(({ s, comp, st, reading, kind }) =>
        /^(nc|lnc|unc)$/.test(st)
          ? [hit(comp, `${kind} ${s.name}: status ${st}, ${reading || "no reading"}`)]
          : []
      ),
  },
  {
    code: "collector.error",
    severity: "WARN",
    when: "a collector failed (tool error or unreadable output)",
    action: "Read the collector message in the audit; the area it covers was not checked.",
    source: "bee: an area that could not be read cannot pass",
    check: (x) =>
      x.collectors.filter((s) => s.status === "error").map((s) =>
        hit(`collector:${s.name}`, `${s.name}: ${s.message ?? "failed"}`)
      ),
  },
  {
    code: "collector.timeout",
    severity: "WARN",
    when: "a collector's command timed out",
    action: "Re-run the audit; a hanging tool often means a hanging device.",
    source: "bee: an area that could not be read cannot pass",
    check: (x) =>
      x.collectors.filter((s) => s.status === "timeout").map((s) =>
        hit(`collector:${s.name}`, `${s.name}: ${s.message ?? "timed out"}`)
      ),
  },
];

/** The order rows: differences from the expected bill of materials (`bee audit --expect FILE`). */
export const BOM_RULE_ROWS: Rule[] = [
  {
    code: "bom.missing",
    severity: "FAIL",
    when: "(order) fewer parts fit an order line than its count (a line's on_missing may set WARN or ignore)",
    action:
      "Find the missing part (not seated, not detected, not delivered) before handover; escalate to the supplier.",
    source: "the expected bill of materials given with --expect",
    check: (x) => x.bom("bom.missing"),
  },
  {
    code: "bom.extra",
    severity: "FAIL",
    when: "(order) more parts fit a line than its count, or parts fit no line of a category the order lists",
    action: "Check the part against the order: a wrong part delivered, or the order file is incomplete.",
    source: "the expected bill of materials given with --expect",
    check: (x) => x.bom("bom.extra"),
  },
  {
    code: "bom.system",
    severity: "FAIL",
    when: "(order) the system manufacturer or product is not the ordered one",
    action: "Confirm this is the machine of the order (serial, asset tag); the wrong chassis was delivered.",
    source: "the expected bill of materials given with --expect",
    check: (x) => x.bom("bom.system"),
  },
  {
    code: "bom.firmware",
    severity: "WARN",
    when: "(order) BIOS, BMC, disk, GPU (VBIOS, InfoROM) or NIC firmware differs from the order's version",
    action: "Update (or roll back) to the ordered firmware, then audit again.",
    source: "the expected bill of materials given with --expect",
    check: (x) => x.bom("bom.firmware"),
  },
  {
    code: "bom.link",
    severity: "WARN",
    when: "(order) a NIC port of a line with speed_gbps has no link or links below that speed",
    action: "Check the cable/optic and the switch port; reseat; a port that stays slow is a part to replace.",
    source: "the expected bill of materials given with --expect",
    check: (x) => x.bom("bom.link"),
  },
  {
    code: "bom.unchecked",
    severity: "WARN",
    when: "(order) something the order names could not be read (collector failed, firmware not reported)",
    action: "Fix what kept bee from reading it (see the collector's status) and audit again.",
    source: "bee: an order line bee could not verify is not reported as met",
    check: (x) => x.bom("bom.unchecked"),
  },
];

/** Rows that only `bee sat nvidia` raises (from the kernel log during the run); no audit check. */
export const SAT_RULE_ROWS: Rule[] = [
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
];

/** The rows by code (code → severity, when, action, source). */
export const RULES: Record<string, Omit<Rule, "code" | "check">> = Object.fromEntries(
  [...RULE_ROWS, ...BOM_RULE_ROWS, ...SAT_RULE_ROWS].map(({ code, check: _check, ...rest }) => [code, rest]),
);

/** A finding of rule `code` (any row, SAT-only ones included). */
export function finding(code: string, component: string, message: string): Finding {
  const r = RULES[code];
  if (!r) throw new Error(`unknown rule ${code}`);
  return {
    severity: r.severity,
    component: component.slice(0, 256),
    code,
    message: message.slice(0, 1024),
    action: r.action,
  };
}

/** Hardware with no section read: the base for judging one section alone (the SAT's after-state GPUs). */
export const NO_HARDWARE: Omit<Hardware, "summary"> = Object.freeze({
  board: null,
  cpu: null,
  memory: null,
  storage: null,
  pcie: null,
  psu: null,
  nvidia: null,
  network: null,
});

/** Applies every rule to the hardware data and the collector statuses. */
export function judge(
  hw: Omit<Hardware, "summary">,
  collectors: CollectorStatus[],
  expect: Expect | null = null,
  now: number = Date.now(),
): Finding[] {
  const x = new JudgeInput(hw, collectors, expect, now);
  return [...RULE_ROWS, ...BOM_RULE_ROWS].flatMap((rule) =>
    rule.check(x).map((h) => ({
      severity: h.severity ?? rule.severity,
      component: h.component.slice(0, 256),
      code: rule.code,
      message: h.message.slice(0, 1024),
      action: rule.action,
    }))
  );
}

/** The README's rule table, generated from the rows (`deno task rules` writes it between its markers). */
export function rulesMarkdown(): string {
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  return [
    "| code | severity | when | action | threshold source |",
    "| --- | --- | --- | --- | --- |",
    ...[...RULE_ROWS, ...BOM_RULE_ROWS, ...SAT_RULE_ROWS].map((r) =>
      `| \`${r.code}\` | ${r.severity} | ${cell(r.when)} | ${cell(r.action)} | ${cell(r.source)} |`
    ),
  ].join("\n");
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
