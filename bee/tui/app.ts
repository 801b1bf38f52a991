// The tty1 operator menu (@inquirer/prompts): hardware summary, re-run audit, acceptance tests with
// the running/abort/result screens (nvtop alongside the NVIDIA SAT), SAT results, network, shell,
// reboot/power off on the live CD. Esc goes back; Ctrl-C never leaves a broken terminal.
import process from "node:process";
import { checkbox, confirm, select, Separator } from "@inquirer/prompts";
import { LiveMachine, readRegularText } from "../lib/machine.ts";

/** The TUI's few short commands (GPU list, addresses) go through the one machine interface. */
const machine = new LiveMachine();
import { loadAudit } from "../model/load.ts";
import { parseIpAddr } from "../parsers/ip.ts";
import { parseGpuList } from "../sat/nvidia/plan.ts";
import { extractFromTarGz } from "../lib/tar.ts";
import { listSatArchives } from "../sat/archives.ts";
import { runningSat, type SatLockInfo } from "../sat/runner.ts";
import { consoleGlyphs, forTerminal } from "../lib/text.ts";

function describeSat(s: SatLockInfo): string {
  return forTerminal(
    `${String(s.kind).slice(0, 20)}, pid ${s.pid}, since ${String(s.started).slice(11, 19)} UTC`,
  );
}
import { parseSummary } from "../sat/summary.ts";
import {
  fit,
  hardwareScreen,
  networkScreen,
  reachLines,
  resultScreen,
  runningScreen,
  stripAnsi,
  unattendedScreen,
  wrap,
} from "./screens.ts";
import { readSatStatus } from "../sat/status.ts";
import { liveStatusFile, readUnattended } from "../sat/unattended.ts";
import { parseBootParams } from "../parsers/cmdline.ts";
import { runProc } from "../lib/proc.ts";

export interface TuiOptions {
  runtime: "livecd" | "host";
  audit: string;
  satDir: string;
  /** the one-SAT-at-a-time lock (names the running SAT) */
  satLock: string;
  /** the bee launcher the SATs and the audit run through */
  bee: string;
}

const BACK = "__back__";
const enc = new TextEncoder();
/** The Linux console's font has no em dash, ellipsis or arrows: they are drawn as ASCII there. */
const linuxConsole = () => (Deno.env.get("TERM") ?? "") === "linux";
const write = (s: string) => Deno.stdout.writeSync(enc.encode(linuxConsole() ? consoleGlyphs(s) : s));

/** The prompts (inquirer) write through process.stdout: the same ASCII for them on the Linux console. */
function asciiPrompts(): void {
  if (!linuxConsole()) return;
  const out = process.stdout as unknown as { write: (chunk: unknown, ...rest: unknown[]) => boolean };
  const orig = out.write.bind(out);
  out.write = (chunk: unknown, ...rest: unknown[]) =>
    orig(typeof chunk === "string" ? consoleGlyphs(chunk) : chunk, ...rest);
}
const clear = () => write("\x1b[2J\x1b[H");
const color = () => !Deno.env.get("NO_COLOR");

/** Prompt errors that mean "go back": Esc (our abort) or Ctrl-C. */
function isBack(e: unknown): boolean {
  const name = (e as Error)?.name ?? "";
  return name === "AbortPromptError" || name === "ExitPromptError" || name === "CancelPromptError";
}

/** Runs a prompt that Esc aborts (→ null); Ctrl-C also comes back as null. */
async function ask<T>(run: (ctx: { signal: AbortSignal }) => Promise<T>): Promise<T | null> {
  const ac = new AbortController();
  const onKey = (_s: string, key: { name?: string }) => {
    if (key?.name === "escape") ac.abort();
  };
  process.stdin.on("keypress", onKey);
  clear();
  try {
    return await run({ signal: ac.signal });
  } catch (e) {
    if (isBack(e)) return null;
    throw e;
  } finally {
    process.stdin.off("keypress", onKey);
  }
}

/** Shows lines and waits for Enter, Esc or q. */
async function pager(lines: string[]): Promise<void> {
  clear();
  const rows = Math.max(10, (Deno.consoleSize?.().rows ?? 25) - 2);
  for (let i = 0; i < lines.length; i += rows) {
    write(lines.slice(i, i + rows).join("\n") + "\n");
    const more = i + rows < lines.length;
    write(fit(more ? "-- Enter: more, q/Esc: back --" : "-- Enter, q or Esc: back --"));
    const k = await readKey();
    write("\n");
    clear();
    if (!more || k === "q" || k === "\x1b") return;
  }
}

/** One key press in raw mode (through node's stdin, which the prompts also use). */
function readKey(timeoutMs?: number): Promise<string | null> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    const raw = stdin.isTTY;
    if (raw) stdin.setRawMode(true);
    stdin.resume();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = (v: string | null) => {
      stdin.off("data", onData);
      clearTimeout(timer);
      stdin.pause();
      if (raw) stdin.setRawMode(false);
      resolve(v);
    };
    const onData = (d: Uint8Array | string) => done(typeof d === "string" ? d : new TextDecoder().decode(d));
    stdin.on("data", onData);
    if (timeoutMs !== undefined) timer = setTimeout(() => done(null), timeoutMs);
  });
}

/** The console's width in columns (80 where it cannot be read: a serial line, a test). */
function consoleWidth(): number {
  try {
    return Math.max(40, Math.min(300, Deno.consoleSize().columns));
  } catch {
    return 80;
  }
}

/**
 * The prompts' theme: on the Linux console (TERM=linux, tty1 through a BMC), whose font has no `•`, `⏎` or
 * arrows, the key help is plain ASCII; elsewhere inquirer's own.
 */
export function promptTheme(term = Deno.env.get("TERM") ?? "") {
  if (term !== "linux") return undefined;
  const names: Record<string, string> = { "↑↓": "up/down", "⏎": "enter" };
  return {
    style: {
      keysHelpTip: (keys: [string, string][]) => keys.map(([k, a]) => `${names[k] ?? k} ${a}`).join(" - "),
    },
  };
}

/** Runs a child with the terminal (shell, nvtop, bee audit); the terminal is restored after. */
async function foreground(cmd: string, args: string[], env?: Record<string, string>): Promise<number> {
  clear();
  try {
    const st = await new Deno.Command(cmd, {
      args,
      env,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    })
      .spawn().status;
    return st.code;
  } catch (e) {
    write(`cannot run ${cmd}: ${(e as Error).message}\n`);
    return 127;
  } finally {
    write("\x1b[?25h\x1b[0m"); // cursor on, colours off, whatever the child left
  }
}

function onPath(tool: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${tool}`).isFile) return true;
    } catch { /* next */ }
  }
  return false;
}

/**
 * Runs `bee sat <args>` in the background with the running screen, through the same process tracking as
 * every command bee runs (its own process group, SIGTERM to abort, swept when it ends). What came of it is
 * read from its final status record (archive or error) — never from its stdout or stderr.
 */
async function runSat(o: TuiOptions, args: string[], title: string, useNvtop: boolean): Promise<void> {
  const held = await runningSat(o.satLock);
  if (held) {
    await pager([
      `A SAT is already running: ${describeSat(held)}.`,
      "Wait for it to finish (see SAT results).",
    ]);
    return;
  }
  const work = await Deno.makeTempDir({ prefix: "bee-tui-" });
  const statusFile = `${work}/status.json`;
  const abort = new AbortController();
  let exited = false;
  const proc = runProc("/bin/sh", [
    o.bee,
    "sat",
    ...args,
    "--out",
    o.satDir,
    "--audit",
    o.audit,
    "--status-file",
    statusFile,
    "--lock",
    o.satLock,
  ], {
    timeoutMs: 8 * 24 * 3600 * 1000,
    signal: abort.signal,
    // after "abort", bee sat stops its job and still writes the archive: it gets the time it needs
    graceMs: 30 * 60 * 1000,
    stdoutPath: `${work}/sat.out`,
    stderrPath: `${work}/sat.log`,
  }).finally(() => exited = true);
  const nvtop = useNvtop && onPath("nvtop");
  if (nvtop) await foreground("nvtop", []);
  while (!exited) {
    clear();
    write(runningScreen(await readSatStatus(statusFile), { nvtop, title }).join("\n") + "\n");
    const k = await readKey(1000);
    if (exited) break;
    if (k === "o" && nvtop) await foreground("nvtop", []);
    else if (k === "a") {
      const yes = await ask((ctx) =>
        confirm({ message: "Abort the test? The archive is still written.", default: false }, ctx)
      );
      if (yes) abort.abort();
    }
  }
  const r = await proc;
  const final = await readSatStatus(statusFile);
  const archive = final?.archive ?? "";
  const errors = final?.error
    ? [final.error]
    : archive
    ? []
    : [`bee sat ended (${r.kind}${"code" in r ? ` ${r.code}` : ""}) without an archive or a final status`];
  await Deno.remove(work, { recursive: true }).catch(() => {});
  await pager(await resultOf(archive, errors));
}

/** The result screen of an archive: its summary and terminal chart (unknown when unreadable). */
async function resultOf(archive: string, errors: string[]): Promise<string[]> {
  let summary: Record<string, string> = {};
  let chart: string | null = null;
  try {
    const s = archive ? await extractFromTarGz(archive, "/summary.txt") : null;
    if (s) summary = parseSummary(new TextDecoder().decode(s));
    const c = archive ? await extractFromTarGz(archive, "/gpu-metrics-term.txt") : null;
    if (c) chart = new TextDecoder().decode(c);
  } catch { /* shown as unknown */ }
  return resultScreen(
    summary,
    color() ? chart : (chart === null ? null : stripAnsi(chart)),
    archive || "(none)",
    errors,
  );
}

async function nvidiaPack(o: TuiOptions): Promise<void> {
  const r = await machine.run(
    "nvidia-smi",
    ["--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"],
    {
      timeoutMs: 30_000,
    },
  );
  const gpus = r.kind === "exited" && r.code === 0 ? parseGpuList(r.stdout) : [];
  if (!gpus.length) {
    const why = r.kind === "missing"
      ? "nvidia-smi not found (no NVIDIA driver)"
      : "no NVIDIA GPU answered nvidia-smi";
    await pager([why]);
    return;
  }
  const duration = await ask((ctx) =>
    select({
      theme: promptTheme(),
      message: "NVIDIA acceptance test — duration",
      choices: [
        { name: "10 minutes", value: "10m" },
        { name: "1 hour", value: "1h" },
        { name: "8 hours", value: "8h" },
        { name: "24 hours", value: "24h" },
        { name: "Back", value: BACK },
      ],
    }, ctx)
  );
  if (!duration || duration === BACK) return;
  const chosen = await ask((ctx) =>
    checkbox({
      theme: promptTheme(),
      message: "GPUs to test (space toggles, enter starts)",
      choices: gpus.map((g) => ({
        name: fit(`GPU ${g.index}  ${g.name}  ${g.memory_mib ?? "?"} MiB`, 70),
        value: g.index,
        checked: true,
      })),
      required: true,
    }, ctx)
  );
  if (!chosen?.length) return;
  const args = ["nvidia", "--duration", duration, "--gpus", chosen.join(",")];
  if (!await showPlan(o, args)) return;
  await runSat(o, args, `NVIDIA acceptance test (${duration})`, true);
}

/** The plan `bee sat nvidia --dry-run` prints (jobs, durations, figures, references), then Start or Back. */
async function showPlan(o: TuiOptions, args: string[]): Promise<boolean> {
  const lines: string[] = [];
  const r = await runProc("/bin/sh", [o.bee, "sat", ...args, "--dry-run"], {
    timeoutMs: 60_000,
    stdoutPath: null,
    stderrPath: null,
    onLine: (l) => lines.length < 400 && lines.push(l),
  });
  const text = r.kind === "exited" ? lines.join("\n") : `the plan could not be made: ${r.kind}`;
  const width = consoleWidth();
  await pager(forTerminal(text).split("\n").filter((l) => l.trim()).flatMap((l) => wrap(l, width)));
  const go = await ask((ctx) =>
    select({
      theme: promptTheme(),
      message: "Start this NVIDIA acceptance test?",
      choices: [{ name: "Start", value: "start" }, { name: "Back", value: BACK }],
    }, ctx)
  );
  return go === "start";
}

async function acceptance(o: TuiOptions): Promise<void> {
  while (true) {
    const v = await ask((ctx) =>
      select({
        theme: promptTheme(),
        message: "Acceptance tests",
        choices: [
          { name: "NVIDIA command pack (stress, health, bug report)", value: "nvidia" },
          { name: "Memory (memtester)", value: "memory" },
          { name: "Storage (SMART short self-test)", value: "storage" },
          { name: "Back", value: BACK },
        ],
      }, ctx)
    );
    if (!v || v === BACK) return;
    if (v === "nvidia") await nvidiaPack(o);
    else await runSat(o, [v], v === "memory" ? "memory test" : "storage self-tests", false);
  }
}

async function satResults(o: TuiOptions): Promise<void> {
  while (true) {
    const list = await listSatArchives(o.satDir);
    if (!list.length) {
      await pager([`no SAT archives in ${o.satDir} yet`]);
      return;
    }
    const v = await ask((ctx) =>
      select({
        theme: promptTheme(),
        message: "SAT results (newest first)",
        pageSize: 15,
        choices: [
          ...list.slice(0, 100).map((a) => ({
            name: fit(`${(a.overall_status ?? "?").padEnd(11)} ${a.name}`, 74),
            value: a.name,
          })),
          { name: "Back", value: BACK },
        ],
      }, ctx)
    );
    if (!v || v === BACK) return;
    const path = `${o.satDir}/${v}`;
    const s = await extractFromTarGz(path, "/summary.txt");
    const c = await extractFromTarGz(path, "/gpu-metrics-term.txt");
    const chart = c ? new TextDecoder().decode(c) : null;
    await pager(
      resultScreen(
        s ? parseSummary(new TextDecoder().decode(s)) : {},
        color() ? chart : (chart === null ? null : stripAnsi(chart)),
        path,
      ),
    );
  }
}

/** Written by the ISO's bee-sshsetup when the image was built without SSH keys (mode 0600, root). */
const ROOT_PASSWORD_FILE = "/run/bee/root-password";

async function network(): Promise<void> {
  const r = await machine.run("ip", ["-j", "addr"], { timeoutMs: 10_000 });
  let lines: string[];
  try {
    const pw = (await Deno.readTextFile(ROOT_PASSWORD_FILE).catch(() => "")).trim().slice(0, 64) || null;
    lines = r.kind === "exited" ? networkScreen(parseIpAddr(r.stdout), pw) : ["ip not available"];
  } catch {
    lines = ["ip -j addr gave unreadable output"];
  }
  await pager(lines);
}

/** `bee export` (finds, mounts, writes, syncs and unmounts the stick); its own lines are the result screen. */
async function exportResults(o: TuiOptions): Promise<void> {
  clear();
  write("bee export: looking for a USB stick and copying the audit and every SAT archive…\n");
  const r = await machine.run("/bin/sh", [o.bee, "export", "--audit", o.audit, "--sat-dir", o.satDir], {
    timeoutMs: 30 * 60_000,
  });
  const text = r.kind === "exited" ? `${r.stderr}${r.stdout}` : `bee export: ${r.kind}`;
  const lines = text.split("\n").filter((l) => l.trim()).map((l) => fit(stripAnsi(l), 80));
  await pager([
    ...lines,
    "",
    r.kind === "exited" && r.code === 0 ? "export finished" : "export failed (see above)",
  ]);
}

/** `SHA256:…` fingerprints of the SSH host keys (as ssh-keygen -l prints them), from their .pub files. */
async function hostKeyFingerprints(dir = "/etc/ssh"): Promise<string[]> {
  const out: string[] = [];
  for (const kind of ["ed25519", "ecdsa", "rsa"]) {
    const pub = await readRegularText(`${dir}/ssh_host_${kind}_key.pub`, 16 * 1024);
    const b64 = pub?.trim().split(/\s+/)[1];
    if (!b64) continue;
    try {
      const blob = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", blob));
      out.push(`${kind.toUpperCase()} SHA256:${btoa(String.fromCharCode(...digest)).replace(/=+$/, "")}`);
    } catch { /* not a key */ }
  }
  return out;
}

/** The lines at the top of the main menu: where the web page and SSH are, and the host keys. */
async function reachHeader(): Promise<string[]> {
  const r = await machine.run("ip", ["-j", "addr"], { timeoutMs: 10_000 });
  const ifaces = r.kind === "exited" && r.code === 0 ? parseIpAddr(r.stdout) : new Map();
  return reachLines(
    ifaces,
    await hostKeyFingerprints(Deno.env.get("BEE_SSH_DIR") || "/etc/ssh"),
    consoleWidth(),
  );
}

/** While unattended SATs run (bee.sat= at boot), tty1 follows them until the operator asks for the menu. */
async function followUnattended(o: TuiOptions): Promise<void> {
  const asked = parseBootParams((await readRegularText("/proc/cmdline")) ?? "").unattended;
  while (true) {
    const u = await readUnattended(o.satDir);
    if (u?.state === "done" || (!u && !asked)) return;
    clear();
    write(
      (u ? unattendedScreen(u, await readSatStatus(liveStatusFile(o.satDir))) : [
        `bee — unattended acceptance (${asked!.sats.join(", ")}): waiting for the boot audit…`,
        "",
        "keys: m menu",
      ])
        .join("\n") + "\n",
    );
    if ((await readKey(1000)) === "m") return;
  }
}

/** The unattended screen from the menu: follows it while it runs; once done, its final state in the pager. */
async function followUnattendedOnce(o: TuiOptions): Promise<void> {
  await followUnattended(o);
  const u = await readUnattended(o.satDir);
  if (u?.state === "done") await pager(unattendedScreen(u, null).slice(0, -1));
}

/** The main loop; returns when the operator quits (host runtime) — the live CD never quits. */
export async function runTui(o: TuiOptions): Promise<void> {
  asciiPrompts();
  await followUnattended(o);
  while (true) {
    // the same reader as the web page: a corrupt audit is named as such, never taken for "no audit yet"
    const loaded = await loadAudit(o.audit);
    const audit = loaded.kind === "ok" ? loaded.audit : null;
    const verdict = audit
      ? `${audit.hardware.summary.verdict}${
        audit.expect ? `, as ordered: ${audit.expect.as_ordered ? "yes" : "NO"}` : ""
      }`
      : loaded.kind === "bad"
      ? "audit unreadable"
      : "no audit yet";
    const sat = await runningSat(o.satLock);
    const unattended = await readUnattended(o.satDir);
    const choices = [
      { name: `Hardware summary (${verdict})`, value: "summary" },
      { name: "Re-run audit", value: "audit" },
      {
        name: sat ? fit(`Acceptance tests (running: ${describeSat(sat)})`, 70) : "Acceptance tests",
        value: "sat",
      },
      { name: "SAT results", value: "results" },
      ...(unattended ? [{ name: `Unattended SATs (${unattended.state})`, value: "unattended" }] : []),
      { name: "Network", value: "network" },
      { name: "Export results to USB stick", value: "export" },
      { name: "Shell", value: "shell" },
      new Separator(),
      ...(o.runtime === "livecd"
        ? [{ name: "Reboot", value: "reboot" }, { name: "Power off", value: "poweroff" }]
        : [{ name: "Quit", value: "quit" }]),
    ];
    clear();
    // how to reach this machine, under the title: the web page, SSH and the host keys' fingerprints
    const message = ["bee — server audit and burn-in", ...(await reachHeader()).map((l) => `  ${l}`)].join(
      "\n",
    );
    const v = await ask((ctx) => select({ theme: promptTheme(), message, choices, pageSize: 12 }, ctx));
    if (v === null) {
      if (o.runtime === "host") return; // Esc/Ctrl-C on the main menu leaves on a normal host
      continue;
    }
    switch (v) {
      case "summary":
        await pager(
          audit
            ? hardwareScreen(audit, color(), consoleWidth())
            : loaded.kind === "bad"
            ? [fit(loaded.problem, 78), `choose "Re-run audit" to write a new one`]
            : [`no audit at ${o.audit}: choose "Re-run audit"`],
        );
        break;
      case "audit":
        await foreground("/bin/sh", [o.bee, "audit", "--output", o.audit, "--no-qr"]);
        await pager(["audit finished"]);
        break;
      case "sat":
        await acceptance(o);
        break;
      case "results":
        await satResults(o);
        break;
      case "unattended":
        await followUnattendedOnce(o);
        break;
      case "network":
        await network();
        break;
      case "export":
        await exportResults(o);
        break;
      case "shell":
        await foreground(Deno.env.get("SHELL") || "/bin/bash", ["-l"]);
        break;
      case "reboot":
      case "poweroff": {
        const yes = await ask((ctx) =>
          confirm({ message: v === "reboot" ? "Reboot now?" : "Power off now?", default: false }, ctx)
        );
        if (yes) await foreground("systemctl", [v]);
        break;
      }
      case "quit":
        return;
    }
  }
}
