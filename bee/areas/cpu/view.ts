// How the cpu area shows itself (processors): its section of the web page.
import type { Audit } from "../../model/schema.ts";
import { t, table } from "../../lib/html.ts";

/** The cpu section of the audit page. */
export function webSection(a: Audit, _qrSvg: string): string {
  const hw = a.hardware;
  const cpu = hw.cpu;
  return (
    `<h2>CPUs</h2>` + (cpu?.sockets
      ? table(
        ["Socket", "Model", "Cores", "Threads", "Max MHz", "Status"],
        cpu.sockets.map((
          c,
        ) => [
          t(c.socket),
          t(c.model),
          `${t(c.cores_enabled ?? c.cores)}`,
          t(c.threads),
          t(c.max_speed_mhz),
          t(c.status),
        ]),
      )
      : `<p class="none">socket data not available</p>`) +
    (cpu?.os
      ? `<p class="meta">Kernel sees ${cpu.os.packages} package(s), ${cpu.os.cores} cores, ${cpu.os.logical_cpus} logical CPUs (${
        t(cpu.os.model)
      }).</p>`
      : "")
  );
}
