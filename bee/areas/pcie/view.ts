// How the pcie area shows itself (PCIe devices): its section of the web page.
import type { Audit } from "../../model/schema.ts";
import { t, table } from "../../lib/html.ts";

/** The pcie section of the audit page. */
export function webSection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  return (
    `<h2>PCIe devices</h2>` + (hw.pcie
      ? table(
        ["Address", "Class", "Vendor", "Device", "Driver", "NUMA", "Link"],
        hw.pcie.devices.map((d) => [
          t(d.address),
          t(d.class ?? d.class_id),
          t(d.vendor ?? d.vendor_id),
          t(d.device ?? d.device_id),
          t(d.driver),
          t(d.numa_node),
          d.max_link_width
            ? `x${t(d.current_link_width)}/x${t(d.max_link_width)} ${t(d.current_link_speed)}`
            : "–",
        ]),
      )
      : `<p class="none">PCIe not read</p>`)
  );
}
