// Text screens of the TUI, as pure functions of their data: every line fits the width given
// (80 columns at worst, through a BMC console), strings from hardware are stripped of control
// characters and bounded.
import type { Audit } from "../model/schema.ts";
import { terminalSummary } from "../audit/report.ts";
import { forTerminal } from "../lib/text.ts";
import type { SatStatus } from "../sat/status.ts";
import type { UnattendedState } from "../sat/unattended.ts";
import { AREAS } from "../areas/index.ts";

/** Areas with TUI details, in the order the details screen lists them. */
const TUI_AREAS = AREAS.filter((x) => x.tuiDetails).sort((x, y) => (x.tuiRank ?? 0) - (y.tuiRank ?? 0));

/** One line made safe for a terminal (control characters dropped, SGR colours kept), cut to `width`. */
export function fit(s: string, width = 80): string {
  let out = "", visible = 0;
  // deno-lint-ignore no-control-regex -- colour codes are kept, other control characters dropped
  for (const [t] of s.matchAll(/\x1b\[[0-9;]*m|[\s\S]/gu)) {
    if (t.length > 1 && t.startsWith("\x1b[")) out += t;
    // deno-lint-ignore no-control-regex -- hardware strings must not move the cursor
    else if (/[\x00-\x1f\x7f]/.test(t)) continue;
    else if (visible < width) {
      out += t;
      visible++;
    }
  }
  return out;
}

/** Text without SGR colour codes (for consoles without colours). */
export function stripAnsi(s: string): string {
  // deno-lint-ignore no-control-regex -- removing the escape sequences is the point
  return s.replace(/\x1b\[[0-9;]*m/g, "");
}

function hms(s: number): string {
  s = Math.max(0, Math.round(s));
  return `${String(Math.floor(s / 3600)).padStart(2, "0")}:${
    String(Math.floor((s % 3600) / 60)).padStart(2, "0")
  }:${String(s % 60).padStart(2, "0")}`;
}

/** The SAT status file as the runner writes it. */
export type { SatStatus };

const n = (
  v: number | null | undefined,
  unit: string,
) => (v === null || v === undefined ? "  –" : `${Math.round(v)}${unit}`);

/** The running screen: elapsed/remaining, the current job, the last metrics, the keys. */
export function runningScreen(s: SatStatus | null, o: { nvtop: boolean; title: string }): string[] {
  const lines = [`bee — ${o.title}`, "─".repeat(78)];
  if (!s) lines.push("starting…");
  else {
    const el = s.elapsed_s ?? 0, planned = s.planned_s ?? 0;
    lines.push(`elapsed ${hms(el)}   remaining ${hms(Math.max(0, planned - el))}   planned ${hms(planned)}`);
    lines.push(`job ${s.job_index ?? "?"}/${s.jobs ?? "?"}: ${s.job ?? ""}`);
    if (s.detail) lines.push(`  ${s.detail}`);
    if (s.aborting) lines.push("ABORTING: stopping the test and writing the archive…");
    if (s.metrics?.length) {
      lines.push("", "GPU  temp   util   power    SM clock");
      for (const m of s.metrics.slice(0, 12)) {
        lines.push(
          `${String(m.gpu).padEnd(4)} ${n(m.temperature_c, " °C").padStart(6)} ${
            n(m.utilization_pct, " %").padStart(6)
          } ${n(m.power_w, " W").padStart(7)} ${n(m.sm_clock_mhz, " MHz").padStart(10)}`,
        );
      }
    }
  }
  lines.push("", o.nvtop ? "keys: o reopen nvtop   a abort the test" : "keys: a abort the test");
  return lines.map((l) => fit(l));
}

/** tty1 while the unattended SATs run: the plan with each SAT's state, then the running SAT's screen. */
export function unattendedScreen(u: UnattendedState, live: SatStatus | null): string[] {
  const lines = [
    `bee — unattended acceptance (bee.sat=${u.results.map((r) => r.kind).join(",")}, then ${u.after})`,
    "─".repeat(78),
    ...u.results.map((r) => `  ${r.kind.padEnd(8)} ${r.status.padEnd(11)} ${r.archive ?? r.error ?? ""}`),
    ...u.problems.map((p) => `  bad boot parameter: ${forTerminal(p)}`),
    "",
  ];
  if (u.state === "running") {
    lines.push(...runningScreen(live, { nvtop: false, title: "running SAT" }).slice(2, -2));
  } else lines.push(`finished ${u.finished_at ?? ""}`);
  lines.push("", "keys: m menu (the SATs go on)");
  return lines.map((l) => fit(l));
}

/** The result screen: overall status, each job, the terminal chart, where the archive is. */
export function resultScreen(
  summary: Record<string, string>,
  chart: string | null,
  archive: string,
  errors: string[] = [],
): string[] {
  const lines = [
    `overall: ${summary["overall_status"] ?? (errors.length ? "not run" : "?")}${
      summary["overall_reason"] ? ` — ${summary["overall_reason"]}` : ""
    }`,
    `archive: ${archive}`,
    ...errors.map((e) => forTerminal(e)),
    "",
  ];
  for (const job of (summary["jobs"] ?? "").split(",").filter(Boolean)) {
    const st = summary[`${job}_status`] ?? "?";
    const why = summary[`${job}_reason`];
    lines.push(`  ${job.padEnd(20)} ${st.padEnd(11)} ${why ?? ""}`);
  }
  for (const [k, v] of Object.entries(summary)) {
    if (/_tflops$/.test(k)) lines.push(`  ${k.replace(/^gpu_stress_/, "")} = ${v}`);
  }
  if (chart) lines.push("", ...chart.trimEnd().split("\n"));
  return lines.map((l) => fit(l));
}

/**
 * A line as screen lines of at most `width` columns: broken at the last space that fits (the rest indented
 * under it), never cut off — a finding's message is read to its end on any console width.
 */
export function wrap(line: string, width = 80): string[] {
  const plain = stripAnsi(line);
  if ([...plain].length <= width) return [fit(line, width)];
  const out: string[] = [];
  let rest = [...fit(plain, 100_000)];
  let indent = "";
  while (rest.length) {
    const room = width - indent.length;
    if (rest.length <= room) {
      out.push(indent + rest.join(""));
      break;
    }
    let cut = rest.lastIndexOf(" ", room);
    if (cut <= 0) cut = room;
    out.push(indent + rest.slice(0, cut).join("").trimEnd());
    rest = [...rest.slice(cut).join("").trimStart()];
    indent = "       ";
  }
  return out;
}

/** Hardware summary, then per-component detail lines, wrapped to the console's width. */
export function hardwareScreen(a: Audit, color: boolean, width = 80): string[] {
  const lines = terminalSummary(a, color).split("\n");
  lines.push("", "Details");
  for (const area of TUI_AREAS) lines.push(...area.tuiDetails!(a));
  return lines.flatMap((l) => wrap(l, width));
}

/** Interface addresses, with where the web page and SSH are. */
export function networkScreen(
  ifaces: Map<string, { ipv4: string[]; ipv6: string[]; mac: string | null }>,
  rootPassword: string | null = null,
): string[] {
  const lines = ["Network interfaces", "─".repeat(78)];
  const v4: string[] = [];
  for (const [name, i] of ifaces) {
    if (name === "lo") continue;
    lines.push(`${name.padEnd(16)} ${i.mac ?? ""}`);
    for (const a of [...i.ipv4, ...i.ipv6]) lines.push(`    ${a}`);
    v4.push(...i.ipv4.map((a) => a.split("/")[0]!));
  }
  lines.push("");
  if (v4.length) { for (const ip of v4) lines.push(`web page: http://${ip}/    ssh: ssh root@${ip}`); }
  else lines.push("no IPv4 address: check the cable and DHCP");
  // only on the local console: an image built without SSH keys gets a random root password per boot
  if (rootPassword) lines.push("", `root password for SSH (this boot only): ${rootPassword}`);
  return lines.map((l) => fit(l));
}

/**
 * How to reach this machine, for the top of the main menu: its IPv4 addresses with the web page and SSH, and
 * the SSH host keys' fingerprints (what an operator compares on first connect). Loopback left out.
 */
export function reachLines(
  ifaces: Map<string, { ipv4: string[]; ipv6: string[]; mac: string | null }>,
  fingerprints: string[],
  width = 80,
): string[] {
  const v4 = [...ifaces].filter(([n]) => n !== "lo").flatMap(([, i]) => i.ipv4.map((a) => a.split("/")[0]!));
  const lines = v4.length
    ? v4.slice(0, 4).map((ip) => `web http://${ip}/   ssh root@${ip}`)
    : ["no IPv4 address yet (cable, DHCP): see Network"];
  for (const f of fingerprints.slice(0, 3)) lines.push(`ssh host key ${f}`);
  return lines.map((l) => fit(l, width));
}
