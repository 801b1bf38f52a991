// How the nvidia area shows itself (NVIDIA GPUs): its section of the web page, its TUI details, its Prometheus gauges.
import type { Audit } from "../../model/schema.ts";
import { t, table } from "../../lib/html.ts";
import type { AreaMetric } from "../area.ts";

/** The nvidia section of the audit page. */
export function webSection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  const gpus = hw.nvidia?.gpus;
  return (
    `<h2>GPUs</h2>` +
    (gpus
      ? `<p class="meta">NVIDIA driver ${t(hw.nvidia?.driver_version)}, CUDA ${
        t(hw.nvidia?.cuda_version)
      }</p>` +
        table(
          [
            "#",
            "Name",
            "Serial",
            "Bus",
            "VBIOS",
            "Memory",
            "PCIe",
            "ECC",
            "ECC vol. C/U",
            "Remap pend./fail",
            "Temp °C",
            "Power W",
            "Clock events",
          ],
          gpus.map((g) => [
            String(g.index),
            t(g.name),
            t(g.serial),
            t(g.pci_bus_id),
            t(g.vbios),
            g.memory_total_mib === null ? "–" : `${g.memory_total_mib} MiB`,
            `Gen${t(g.pcie_gen_current)}/${t(g.pcie_gen_max)} x${t(g.pcie_width_current)}/${
              t(g.pcie_width_max)
            }`,
            `${t(g.ecc_mode)}${/^enabled$/i.test(g.mig_mode ?? "") ? " · MIG on" : ""}`,
            `${t(g.ecc_volatile.correctable)} / ${t(g.ecc_volatile.uncorrectable)}`,
            `${t(g.remapped_rows.pending)} / ${t(g.remapped_rows.failure)}`,
            t(g.temperature_c),
            `${t(g.power_draw_w)} / ${t(g.power_limit_w)}`,
            t((g.clock_event_reasons_active ?? []).join(", ")),
          ]),
        )
      : `<p class="none">no NVIDIA data (${
        t(
          a.collectors.find((c) => c.name === "nvidia")?.message ?? "not collected",
        )
      })</p>`)
  );
}

/** Lines of the TUI's details screen. */
export function tuiDetails(a: Audit): string[] {
  const h = a.hardware;
  const out: string[] = [];
  for (const g of h.nvidia?.gpus ?? []) {
    out.push(
      `  GPU ${g.index} ${g.name ?? "?"} ${g.pci_bus_id ?? ""} ${g.temperature_c ?? "?"} °C ECC ${
        g.ecc_mode ?? "?"
      }${/^enabled$/i.test(g.mig_mode ?? "") ? " MIG on" : ""}`,
    );
  }
  return out;
}

/** Per-GPU gauges of /metrics (labels: index, uuid, name). */
export function metrics(audit: Audit): AreaMetric[] {
  const out: AreaMetric[] = [];
  const gpus = audit.hardware.nvidia?.gpus ?? [];
  const g = (f: (x: typeof gpus[number]) => number | null) =>
    gpus.map((x) =>
      [{ gpu: x.index, uuid: x.uuid, name: x.name }, f(x)] as [Record<string, unknown>, number | null]
    );
  out.push({
    name: "bee_gpu_temperature_celsius",
    help: "GPU temperature at audit time",
    rows: g((x) => x.temperature_c),
  });
  out.push({
    name: "bee_gpu_power_draw_watts",
    help: "GPU power draw at audit time",
    rows: g((x) => x.power_draw_w),
  });
  out.push({
    name: "bee_gpu_power_limit_watts",
    help: "GPU enforced power limit",
    rows: g((x) => x.power_limit_w),
  });
  out.push({
    name: "bee_gpu_ecc_volatile_uncorrectable",
    help: "volatile uncorrectable ECC errors",
    rows: g((x) => x.ecc_volatile.uncorrectable),
  });
  out.push({
    name: "bee_gpu_ecc_volatile_correctable",
    help: "volatile correctable ECC errors",
    rows: g((x) => x.ecc_volatile.correctable),
  });
  out.push({
    name: "bee_gpu_remapped_rows_pending",
    help: "1 when a row remap is pending",
    rows: g((x) => x.remapped_rows.pending === null ? null : Number(x.remapped_rows.pending)),
  });
  return out;
}
