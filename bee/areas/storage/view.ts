// How the storage area shows itself (disks): its section of the web page, its TUI details.
import type { Audit } from "../../model/schema.ts";
import { bytes, esc, t, table } from "../../lib/html.ts";

/** The storage section of the audit page. */
export function webSection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  return (
    `<h2>Disks</h2>` + (hw.storage
      ? table(
        ["Device", "Model", "Serial", "Size", "Transport", "SMART", "Temp °C", "Wear %", "Notes"],
        hw.storage.disks.map((d) => {
          const h = d.nvme?.health ?? d.smart?.nvme_health;
          const smart = !d.smart
            ? "not read"
            : !d.smart.available
            ? "not supported"
            : d.smart.passed === false
            ? "FAILED"
            : d.smart.passed
            ? "passed"
            : "?";
          const notes = [
            d.smart?.reallocated_sectors ? `${d.smart.reallocated_sectors} reallocated` : "",
            d.smart?.pending_sectors ? `${d.smart.pending_sectors} pending` : "",
            h?.media_errors ? `${h.media_errors} media errors` : "",
            h?.critical_warning ? `critical warning ${h.critical_warning}` : "",
          ].filter(Boolean).join(", ");
          return [
            t(d.path),
            t(d.model),
            t(d.serial),
            bytes(d.size_bytes),
            t(d.transport),
            esc(smart),
            t(d.smart?.temperature_c ?? h?.temperature_c),
            t(h?.percentage_used),
            esc(notes),
          ];
        }),
      )
      : `<p class="none">storage not read</p>`)
  );
}

/** Lines of the TUI's details screen. */
export function tuiDetails(a: Audit): string[] {
  const h = a.hardware;
  const out: string[] = [];
  for (const d of h.storage?.disks ?? []) {
    out.push(
      `  disk ${d.name} ${d.model ?? "?"} ${d.serial ?? ""} SMART ${
        d.smart?.passed === false ? "FAILED" : d.smart ? "ok" : "–"
      }`,
    );
  }
  return out;
}
