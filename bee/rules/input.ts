// What rules read: the typed hardware sections and collector statuses, with the views several areas share
// (JudgeInput), and the shape of a rule row and of the place it fired (Hit).
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
} from "../model/schema.ts";
import { selTime } from "../parsers/ipmitool.ts";
import { type BomHit, compareExpect } from "../expect/compare.ts";
import type { Expect } from "../model/expect.ts";

export type Sev = Finding["severity"];

/** One place a rule fired. */
export interface Hit {
  component: string;
  message: string;
  /** the row's severity unless the source of the hit says otherwise (an order line's on_* setting) */
  severity?: Sev;
}

/** A PSU redundancy sensor (by its name or reading). */
export const isRedundancy = (s: SdrSensor) => /redundan/i.test(`${s.name ?? ""} ${s.reading ?? ""}`);

export const hit = (component: string, message: string): Hit => ({ component, message });

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
  smartDisks(): { d: Pick<Disk, "model" | "serial">; s: Smart; comp: string }[] {
    const disks = (this.hw.storage?.disks ?? []).flatMap((d) =>
      d.smart && d.smart.available ? [{ d, s: d.smart, comp: `storage:${d.path}` }] : []
    );
    // disks behind a RAID controller, read through it: the same SMART rules, named by controller and slot
    const behind = (this.hw.storage?.raid ?? []).flatMap((c) =>
      c.physical_drives.flatMap((p) =>
        p.smart && p.smart.available
          ? [{
            d: { model: p.smart.model ?? p.model, serial: p.smart.serial ?? p.serial },
            s: p.smart,
            comp: `raid:${c.tool} c${c.id ?? "?"} slot ${p.slot ?? "?"}`,
          }]
          : []
      )
    );
    return [...disks, ...behind];
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

/** SEL events older than this (by the BMC's clock, against the audit's time) are history, not findings. */
export const SEL_RECENT_DAYS = 30;

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
