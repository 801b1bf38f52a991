// Human-facing renderings of an audit: the terminal summary and the compact text the QR code holds.
import type { Audit } from "../model/schema.ts";
import { forTerminal as T } from "../lib/text.ts";

const GiB = 1024 ** 3;

/** One-line inventory: CPUs, RAM, disks, GPUs. */
export function inventory(a: Audit): { cpu: string; ram: string; disks: string; gpus: string } {
  const hw = a.hardware;
  const sockets = hw.cpu?.sockets?.filter((s) => s.populated) ?? [];
  const cpuModel = sockets[0]?.model ?? hw.cpu?.os?.model ?? "?";
  const cpuCount = sockets.length || hw.cpu?.os?.packages || 0;
  const slots = hw.memory?.slots;
  const ramBytes = hw.memory?.installed_bytes ?? hw.memory?.os_total_bytes ?? null;
  const pmem = hw.memory?.pmem_bytes ?? 0;
  const ram = ramBytes === null ? "?" : `${Math.round(ramBytes / GiB)}G` +
    (slots ? ` (${slots.filter((s) => s.installed).length}/${slots.length} slots)` : "") +
    (pmem ? ` + ${Math.round(pmem / GiB)}G PMem` : "");
  const gpus = hw.nvidia?.gpus ?? [];
  const gpuNames = [...new Set(gpus.map((g) => g.name ?? "?"))];
  return {
    cpu: `${cpuCount}x ${cpuModel}`,
    ram,
    disks: hw.storage ? String(hw.storage.disks.length) : "?",
    gpus: hw.nvidia ? (gpus.length ? `${gpus.length}x ${gpuNames.join("+")}` : "0") : "-",
  };
}

/** Compact text for the QR code (kept short so the code stays small enough for a phone camera). */
export function qrText(a: Audit): string {
  const s = a.hardware.summary;
  const inv = inventory(a);
  const serial = a.hardware.board?.system.serial ?? "?";
  return [
    "BEE1",
    `host=${a.host.hostname ?? "?"}`,
    `sn=${serial}`,
    `verdict=${s.verdict}`,
    `warn=${s.warnings}`,
    `fail=${s.failures}`,
    `cpu=${inv.cpu}`,
    `ram=${inv.ram}`,
    `disks=${inv.disks}`,
    `gpus=${inv.gpus}`,
    ...(a.expect ? [`ordered=${a.expect.as_ordered ? "yes" : "no"}`] : []),
  ].join("|").slice(0, 400);
}

/** The terminal summary printed after an audit. `color` adds ANSI colours. */
/** "as ordered: yes/no …" for an audit made against an expected bill of materials; null without one. */
export function asOrderedText(a: Audit): string | null {
  const e = a.expect;
  if (!e) return null;
  const what = e.name ? ` (${e.name})` : "";
  return e.as_ordered
    ? `as ordered: yes${what}, ${e.lines} line(s) checked`
    : `as ordered: NO${what}, ${e.differences} difference(s) from ${e.lines} line(s)`;
}

export function terminalSummary(a: Audit, color: boolean): string {
  const s = a.hardware.summary;
  const paint = (code: string, t: string) => (color ? `\x1b[${code}m${t}\x1b[0m` : t);
  const verdictColor = s.verdict === "PASS" ? "1;32" : s.verdict === "WARN" ? "1;33" : "1;31";
  const inv = inventory(a);
  const b = a.hardware.board;
  // every value below may come from firmware: control bytes never reach the terminal
  const lines = [
    T(`bee ${a.bee.version} audit of ${a.host.hostname ?? "?"} — ${b?.system.manufacturer ?? "?"} ${
      b?.system.product ?? ""
    } serial ${b?.system.serial ?? "?"}`),
    `${paint(verdictColor, `VERDICT: ${s.verdict}`)}  (${s.failures} failure(s), ${s.warnings} warning(s))`,
    ...(a.expect ? [paint(a.expect.as_ordered ? "32" : "1;31", T(asOrderedText(a) ?? ""))] : []),
    T(`CPU ${inv.cpu} | RAM ${inv.ram} | disks ${inv.disks} | GPUs ${inv.gpus}`),
  ];
  for (const f of s.findings) {
    lines.push(
      `  ${paint(f.severity === "FAIL" ? "31" : "33", f.severity)} ${
        T(`${f.component}: ${f.message} [${f.code}]`)
      }`,
    );
    lines.push(T(`       → ${f.action}`));
  }
  lines.push(
    T("collectors: " + a.collectors.map((c) => `${c.name} ${c.status}`).join(", ")),
  );
  return lines.join("\n");
}
