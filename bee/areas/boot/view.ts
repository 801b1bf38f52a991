// How the boot area shows itself: how the machine was booted and the unattended SATs it was asked for.
import type { Audit } from "../../model/schema.ts";
import { t, table } from "../../lib/html.ts";

/** The boot section of the audit page. */
export function webSection(a: Audit, _qrSvg: string): string {
  const b = a.hardware.boot;
  if (!b) return `<h2>Boot</h2><p class="none">not read</p>`;
  const u = b.unattended;
  const rows = [
    [
      "medium",
      b.fetch ? `network boot (${t(b.fetch, 300)})` : "local medium (ISO, USB stick, virtual media)",
    ],
    [
      "unattended SATs",
      u
        ? t(
          `${u.sats.join(", ")}${u.duration_s ? `, NVIDIA ${u.duration_s} s` : ""}${
            Object.keys(u.settings).length
              ? `, ${Object.entries(u.settings).map(([k, v]) => `${k}=${v}`).join(" ")}`
              : ""
          }, then ${u.after}`,
          400,
        )
        : "none (bee.sat= not given)",
    ],
    ...b.problems.map((p) => ["bad parameter", `<span class="sev-WARN">${t(p, 400)}</span>`]),
    ["kernel command line", `<code>${t(b.cmdline, 1000)}</code>`],
  ];
  return `<h2>Boot</h2>${table(["", ""], rows)}`;
}
