// How the network area shows itself (network interfaces): its section of the web page, its TUI details.
import type { Audit } from "../../model/schema.ts";
import { t, table } from "../../lib/html.ts";

/** The network section of the audit page. */
export function webSection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  return (
    `<h2>Network</h2>` + (hw.network
      ? table(
        ["Interface", "MAC", "State", "Speed", "IPv4", "IPv6"],
        hw.network.interfaces.filter((i) => i.name !== "lo").map((i) => [
          t(i.name),
          t(i.mac),
          t(i.operstate),
          i.speed_mbps ? `${i.speed_mbps} Mb/s` : "–",
          t((i.ipv4 ?? []).join(" "), 400),
          t((i.ipv6 ?? []).join(" "), 400),
        ]),
      )
      : `<p class="none">network not read</p>`)
  );
}

/** Lines of the TUI's details screen. */
export function tuiDetails(a: Audit): string[] {
  const h = a.hardware;
  const out: string[] = [];
  // the loopback interface is no way to reach the machine: left out
  for (const i of (h.network?.interfaces ?? []).filter((i) => i.name !== "lo")) {
    out.push(`  net ${i.name} ${i.operstate ?? "?"} ${(i.ipv4 ?? []).join(" ")}`);
  }
  return out;
}
