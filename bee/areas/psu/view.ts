// How the psu area shows itself (power supplies): its section of the web page.
import type { Audit } from "../../model/schema.ts";
import { t, table } from "../../lib/html.ts";

/** The psu section of the audit page. */
export function webSection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  const sensors = hw.psu?.sensors?.filter((x) => x.is_power) ?? null;
  return (
    `<h2>Power supplies</h2>` + (sensors
      ? table(
        ["Sensor", "Status", "Entity", "Reading"],
        sensors.map((x) => [t(x.name), t(x.status), t(x.entity), t(x.reading)]),
      )
      : `<p class="none">${t(a.collectors.find((c) => c.name === "psu")?.message ?? "no IPMI data")}</p>`)
  );
}
