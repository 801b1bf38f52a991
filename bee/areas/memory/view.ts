// How the memory area shows itself (DIMMs and EDAC): its section of the web page.
import type { Audit } from "../../model/schema.ts";
import { bytes, t, table } from "../../lib/html.ts";

/** The memory section of the audit page. */
export function webSection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  const m = hw.memory;
  return (
    `<h2>Memory</h2><p class="meta">Installed ${bytes(m?.installed_bytes)}, visible to the OS ${
      bytes(m?.os_total_bytes)
    }` +
    (m?.edac
      ? `, EDAC: ${
        m.edac.map((e) => `${t(e.controller)} CE ${t(e.ce_count)} UE ${t(e.ue_count)}`).join("; ") ||
        "no controllers"
      }`
      : "") +
    `.</p>` +
    (m?.slots
      ? table(
        ["Slot", "Size", "Type", "Speed", "Configured", "Manufacturer", "Part number", "Serial"],
        m.slots.map((
          d,
        ) => [
          t(d.locator),
          d.installed ? bytes(d.size_bytes) : `<span class="none">empty</span>`,
          t(d.type),
          t(d.speed_mts),
          t(d.configured_speed_mts),
          t(d.manufacturer),
          t(d.part_number),
          t(d.serial),
        ]),
      )
      : `<p class="none">slot data not available</p>`)
  );
}
