// The TUI in a real terminal: tmux at 80×25, keys sent with send-keys, screens read with capture-pane.
// Fake nvidia-smi (two GPUs), bee-gpu-stress and nvtop (a script that waits for q) drive the real
// menu, the real `bee sat nvidia` and the real abort path.
import assert from "node:assert/strict";
import { fakeBin, FIX, REPO, writeFakeTool } from "../testkit/helpers.ts";
import { fakeStress, nvidiaFakes } from "./sat_fakes.ts";
import { passAudit } from "../testkit/web_fixtures.ts";
import { parseArcconfConfig } from "../bee/parsers/arcconf.ts";
import { parseMdstat } from "../bee/parsers/mdstat.ts";
import { parseMdadmDetail } from "../bee/parsers/mdadm.ts";

const dec = new TextDecoder();

class Tmux {
  readonly socket = `bee-test-${crypto.randomUUID().slice(0, 8)}`;
  constructor(readonly cmd: string) {
    this.tmux(["new-session", "-d", "-s", "bee", "-x", "80", "-y", "25", cmd]);
    this.tmux(["set-option", "-t", "bee", "remain-on-exit", "on"]);
  }
  tmux(args: string[]): string {
    const r = new Deno.Command("tmux", {
      args: ["-L", this.socket, ...args],
      stdout: "piped",
      stderr: "piped",
    })
      .outputSync();
    if (r.code !== 0) throw new Error(`tmux ${args[0]}: ${dec.decode(r.stderr)}`);
    return dec.decode(r.stdout);
  }
  keys(...keys: string[]): void {
    for (const k of keys) {
      this.tmux(["send-keys", "-t", "bee", k]);
      // give the program a moment to redraw between keys, as a person would
      Deno.execPath() && new Deno.Command("sleep", { args: ["0.25"] }).outputSync();
    }
  }
  screen(): string {
    return this.tmux(["capture-pane", "-p", "-t", "bee"]);
  }
  async waitFor(re: RegExp, timeoutMs = 30_000): Promise<string> {
    const t0 = Date.now();
    let s = "";
    while (Date.now() - t0 < timeoutMs) {
      s = this.screen();
      if (re.test(s)) return s;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`screen never showed ${re}:\n${s}`);
  }
  /** Pages through the NVIDIA plan (bee sat nvidia --dry-run) and starts the test; returns the plan's screens. */
  async startFromPlan(): Promise<string> {
    await this.waitFor(/plan \(dry run: nothing runs\)/);
    const end = /-- Enter: more, q\/Esc: back --|-- Enter, q or Esc: back --/;
    let page = await this.waitFor(end);
    let all = page;
    for (let i = 0; i < 20 && /-- Enter: more/.test(page); i++) {
      assertFits(page);
      const last = page;
      this.keys("Enter");
      const t0 = Date.now();
      while ((page = this.screen()) === last || !end.test(page)) {
        assert.ok(Date.now() - t0 < 10_000, "the plan's next page");
        await new Promise((r) => setTimeout(r, 100));
      }
      all += page;
    }
    this.keys("Enter");
    await this.waitFor(/Start this NVIDIA acceptance test\?/);
    this.keys("Enter");
    return all;
  }
  kill(): void {
    try {
      this.tmux(["kill-server"]);
    } catch { /* gone */ }
  }
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function setup(
  o: {
    nvtop: boolean;
    stress: "slow" | "hang";
    runtime?: string;
    env?: string[];
    lock?: string;
    auditText?: string;
    /** writes into the SAT folder before the TUI starts */
    prepare?: (satDir: string) => void;
  },
) {
  const bin = fakeBin();
  nvidiaFakes(bin);
  // the TUI's GPU list (three columns) answers two GPUs; the SAT's own list (four columns) too
  writeFakeTool(bin, "nvidia-smi-list", []);
  const two = "0, NVIDIA RTX A6000, 49140\n1, NVIDIA RTX A6000, 49140\n";
  const smi = Deno.readTextFileSync(`${bin}/nvidia-smi`).replace(
    'case "$*" in',
    `case "$*" in\n  '--query-gpu=index,name,memory.total --format=csv,noheader,nounits') printf '%s' ${
      shq(two)
    }; exit 0 ;;\n` +
      `  '--query-gpu=index,name,memory.total,pci.bus_id --format=csv,noheader,nounits') printf '%s' ${
        shq("0, NVIDIA RTX A6000, 49140, 00000000:4F:00.0\n1, NVIDIA RTX A6000, 49140, 00000000:52:00.0\n")
      }; exit 0 ;;`,
  );
  Deno.writeTextFileSync(`${bin}/nvidia-smi`, smi);
  fakeStress(bin, o.stress);
  writeFakeTool(bin, "ip", [{ args: "-j addr", file: "ip/firecracker-devvm-addr.json" }]);
  if (o.nvtop) {
    Deno.writeTextFileSync(
      `${bin}/nvtop`,
      `#!/bin/sh
echo "nvtop" >> ${shq(`${bin}/nvtop.calls`)}
/bin/stty raw -echo
printf 'FAKE NVTOP: press q to quit\\r\\n'
while :; do c=$(/bin/dd bs=1 count=1 2>/dev/null); [ "$c" = q ] && break; done
/bin/stty sane
`,
      { mode: 0o755 },
    );
  }
  const audit = `${Deno.makeTempDirSync()}/bee-audit.json`;
  Deno.writeTextFileSync(audit, o.auditText ?? JSON.stringify(passAudit()));
  const satDir = Deno.makeTempDirSync();
  o.prepare?.(satDir);
  const env = [
    `PATH=${bin}`,
    `BEE_DENO=${Deno.execPath()}`,
    `HOME=${Deno.env.get("HOME") ?? "/root"}`,
    "TERM=screen",
    "NO_COLOR=1",
    `SHELL=/bin/sh`,
    ...(o.env ?? []),
  ];
  const lock = o.lock ?? `${Deno.makeTempDirSync()}/sat.lock`;
  const cmd = `/usr/bin/env -i ${env.map(shq).join(" ")} /bin/sh ${shq(`${REPO}/bin/bee`)} tui --runtime ${
    o.runtime ?? "host"
  } --audit ${shq(audit)} --sat-dir ${shq(satDir)} --sat-lock ${shq(lock)}`;
  return { bin, satDir, lock, tmux: new Tmux(cmd) };
}

function calls(bin: string, tool: string): string {
  try {
    return Deno.readTextFileSync(`${bin}/${tool}.calls`);
  } catch {
    return "";
  }
}

function pgrep(pattern: string): string {
  return dec.decode(new Deno.Command("pgrep", { args: ["-f", pattern], stdout: "piped" }).outputSync().stdout)
    .trim();
}

function assertFits(screen: string): void {
  for (const line of screen.split("\n")) assert.ok([...line].length <= 80, `line over 80 columns: ${line}`);
}

Deno.test("tui: main menu at 80×25, hardware summary, network, Esc/q back; reboot only on the live CD", async () => {
  const { tmux, bin } = setup({ nvtop: false, stress: "slow" });
  try {
    const menu = await tmux.waitFor(/server audit and burn-in[\s\S]*Quit/);
    for (
      const item of [
        "Hardware summary (PASS)",
        "Re-run audit",
        "Acceptance tests",
        "SAT results",
        "Network",
        "Export results to USB stick",
        "Shell",
      ]
    ) {
      assert.ok(menu.includes(item), `${item} in\n${menu}`);
    }
    assert.doesNotMatch(menu, /Reboot|Power off/);
    assertFits(menu);
    tmux.keys("Enter");
    const summary = await tmux.waitFor(/PASS[\s\S]*Enter, q or Esc: back|-- Enter: more/);
    assertFits(summary);
    tmux.keys("q");
    await tmux.waitFor(/server audit and burn-in/);
    tmux.keys("Down", "Down", "Down", "Down", "Enter");
    const net = await tmux.waitFor(/Network interfaces/);
    assert.match(net, /web page: http:\/\/\d+\.\d+\.\d+\.\d+\//);
    tmux.keys("Escape");
    await tmux.waitFor(/server audit and burn-in/);
    tmux.keys("Down", "Down", "Enter");
    await tmux.waitFor(/Acceptance tests[\s\S]*NVIDIA command pack/);
    tmux.keys("Escape");
    await tmux.waitFor(/server audit and burn-in/);
    // export with no stick plugged in: bee export's own line, then back to the menu
    writeFakeTool(bin, "lsblk", [{ args: "-J -b -o *", text: '{"blockdevices":[]}' }]);
    tmux.keys("Down", "Down", "Down", "Down", "Down", "Enter");
    const ex = await tmux.waitFor(/export failed/);
    assert.match(ex, /bee: no USB stick found: plug one in/);
    assertFits(ex);
    tmux.keys("q");
    await tmux.waitFor(/server audit and burn-in/);
  } finally {
    tmux.kill();
  }
  const live = setup({ nvtop: false, stress: "slow", runtime: "livecd" });
  try {
    const menu = await live.tmux.waitFor(/Power off/);
    assert.match(menu, /Reboot/);
    assert.doesNotMatch(menu, /Quit/);
    assertFits(menu);
  } finally {
    live.tmux.kill();
  }
});

Deno.test("tui: NVIDIA pack — deselect a GPU, nvtop takes the screen, o reopens it, result with chart", async () => {
  const { tmux, bin, satDir } = setup({ nvtop: true, stress: "slow" });
  try {
    await tmux.waitFor(/server audit and burn-in/);
    tmux.keys("Down", "Down", "Enter");
    await tmux.waitFor(/NVIDIA command pack/);
    tmux.keys("Enter");
    await tmux.waitFor(/duration[\s\S]*10 minutes[\s\S]*24 hours/);
    tmux.keys("Enter");
    const pick = await tmux.waitFor(/GPU 0 +NVIDIA RTX A6000[\s\S]*GPU 1 +NVIDIA RTX A6000/);
    assertFits(pick);
    tmux.keys("Down", "Space", "Enter");
    const plan = await tmux.startFromPlan();
    assert.match(plan, /GPUs 0 of 2, stress 600 s/);
    assert.match(plan, /gpu_stress/);
    await tmux.waitFor(/FAKE NVTOP/);
    tmux.keys("q");
    const running = await tmux.waitFor(
      /elapsed \d\d:\d\d:\d\d +remaining[\s\S]*keys: o reopen nvtop +a abort the test/,
    );
    assertFits(running);
    tmux.keys("o");
    await tmux.waitFor(/FAKE NVTOP/);
    tmux.keys("q");
    const result = await tmux.waitFor(/archive: \S+bee-sat-nvidia-/, 60_000);
    assert.match(result, /overall: OK/);
    assertFits(result);
    assert.equal(calls(bin, "nvtop").trim().split("\n").length, 2);
    assert.match(calls(bin, "bee-gpu-stress"), /--seconds 600 --size-mb 49140 \| CUDA_VISIBLE_DEVICES=0 \|/);
    assert.equal([...Deno.readDirSync(satDir)].filter((e) => e.name.endsWith(".tar.gz")).length, 1);
    tmux.keys("q");
    await tmux.waitFor(/\? Acceptance tests/);
    tmux.keys("Escape");
    await tmux.waitFor(/server audit and burn-in/);
  } finally {
    tmux.kill();
  }
});

Deno.test("tui: without nvtop the status screen shows; a + confirm aborts, the archive says aborted, nothing left", async () => {
  const { tmux } = setup({ nvtop: false, stress: "hang" });
  try {
    await tmux.waitFor(/server audit and burn-in/);
    tmux.keys("Down", "Down", "Enter");
    await tmux.waitFor(/NVIDIA command pack/);
    tmux.keys("Enter");
    await tmux.waitFor(/10 minutes/);
    tmux.keys("Enter");
    await tmux.waitFor(/GPU 1 +NVIDIA/);
    tmux.keys("Enter");
    await tmux.startFromPlan();
    const running = await tmux.waitFor(/keys: a abort the test/);
    assert.doesNotMatch(running, /nvtop/);
    const t0 = Date.now();
    while (!pgrep("sleep 988")) {
      assert.ok(Date.now() - t0 < 30_000, "stress started");
      await new Promise((r) => setTimeout(r, 100));
    }
    tmux.keys("a");
    await tmux.waitFor(/Abort the test\?/);
    tmux.keys("y", "Enter");
    const result = await tmux.waitFor(/archive: \S+bee-sat-nvidia-/, 60_000);
    assert.match(result, /overall: FAILED — aborted/);
    assert.match(result, /gpu_stress +FAILED +aborted/);
    for (const p of ["sleep 986", "sleep 987", "sleep 988"]) assert.equal(pgrep(p), "", `${p} left running`);
  } finally {
    tmux.kill();
  }
  assert.ok(FIX);
});

Deno.test("tui: a SAT that cannot start shows bee sat's own error (issue 13, case 14)", async () => {
  const { tmux, bin } = setup({ nvtop: false, stress: "slow", env: ["BEE_MEMTESTER_PASSES=abc"] });
  writeFakeTool(bin, "memtester", [{ args: "*", text: "Done.\n" }]);
  try {
    await tmux.waitFor(/server audit and burn-in/);
    tmux.keys("Down", "Down", "Enter");
    await tmux.waitFor(/Memory \(memtester\)/);
    tmux.keys("Down", "Enter");
    const result = await tmux.waitFor(/archive: \(none\)/, 30_000);
    assert.match(result, /overall: not run/);
    assert.match(result, /bee: BEE_MEMTESTER_PASSES="abc" is not a decimal integer/);
    assertFits(result);
  } finally {
    tmux.kill();
  }
});

Deno.test("tui: a running SAT is named on the main menu and a second one is refused", async () => {
  const lock = `${Deno.makeTempDirSync()}/sat.lock`;
  Deno.writeTextFileSync(
    lock,
    JSON.stringify({
      pid: Deno.pid,
      kind: "storage",
      folder: "bee-sat-storage-x",
      started: "2026-11-30T10:11:12Z",
      // as bee writes it: the holder's start time, so a reused PID is told apart
      start_ticks: Number(
        (() => {
          const st = Deno.readTextFileSync(`/proc/${Deno.pid}/stat`);
          return st.slice(st.lastIndexOf(")") + 2).split(" ")[19];
        })(),
      ),
    }),
  );
  const { tmux } = setup({ nvtop: false, stress: "slow", lock });
  try {
    const menu = await tmux.waitFor(/server audit and burn-in/);
    assert.match(menu, /Acceptance tests \(running: storage, pid \d+, since 10:11:12 UTC\)/);
    tmux.keys("Down", "Down", "Enter");
    await tmux.waitFor(/Memory \(memtester\)/);
    tmux.keys("Down", "Enter");
    await tmux.waitFor(/A SAT is already running: storage/);
  } finally {
    tmux.kill();
  }
});

Deno.test("tui: a corrupt audit is named as unreadable (the web page's reader), never taken for no audit", async () => {
  const { tmux } = setup({ nvtop: false, stress: "slow", auditText: '{"bee": {"version": "0.1.0"}, "trunc' });
  try {
    const menu = await tmux.waitFor(/server audit and burn-in[\s\S]*Quit/);
    assert.match(menu, /Hardware summary \(audit unreadable\)/);
    tmux.keys("Enter");
    const screen = await tmux.waitFor(/Re-run audit" to write a new one/);
    assert.match(screen, /is not valid JSON \(truncated or corrupt\)/);
  } finally {
    tmux.kill();
  }
});

Deno.test("24.6: on the Linux console (TERM=linux) the menu's key help is plain ASCII, no glyph the console font lacks", async () => {
  const { tmux } = setup({ nvtop: false, stress: "slow", env: ["TERM=linux"] });
  try {
    const menu = await tmux.waitFor(/server audit and burn-in[\s\S]*Quit/);
    assert.match(menu, /up\/down navigate - enter select/);
    assert.doesNotMatch(menu, /[•⏎↑↓❯]/u);
  } finally {
    tmux.kill();
  }
});

Deno.test("24.6: the main menu says how to reach the machine — web page, SSH and the host key's fingerprint", async () => {
  const ssh = Deno.makeTempDirSync();
  // a host key made by ssh-keygen; `ssh-keygen -lf` printed SHA256:HaiWySurQWolQHwRuos5pI9ZHaiFI9ao0HhSU/TQc+g
  Deno.writeTextFileSync(
    `${ssh}/ssh_host_ed25519_key.pub`,
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHEUq8r3FgqheGg5Li8MmUnlkSw4JDh9RjJ2egLgQZdg root@bee\n",
  );
  const { tmux } = setup({ nvtop: false, stress: "slow", env: [`BEE_SSH_DIR=${ssh}`] });
  try {
    const menu = await tmux.waitFor(/server audit and burn-in[\s\S]*Quit/);
    // the fake `ip -j addr` is a real capture: its one non-loopback IPv4 address
    assert.match(menu, /^ {2}web http:\/\/\d+\.\d+\.\d+\.\d+\/ {3}ssh root@\d+\.\d+\.\d+\.\d+$/m);
    assert.doesNotMatch(menu, /127\.0\.0\.1/);
    assert.match(menu, /^ {2}ssh host key ED25519 SHA256:HaiWySurQWolQHwRuos5pI9ZHaiFI9ao0HhSU\/TQc\+g$/m);
  } finally {
    tmux.kill();
  }
});

Deno.test("tui: unattended SATs (bee.sat= at boot) take tty1 — the plan, the running job, bad parameters; m for the menu", async () => {
  const state = (st: string, memory: string, storage: string) =>
    JSON.stringify({
      state: st,
      started_at: "2026-12-07T20:00:00Z",
      finished_at: st === "done" ? "2026-12-07T20:05:00Z" : null,
      after: "poweroff",
      duration_s: null,
      settings: { BEE_MEMTESTER_SIZE_MB: "64" },
      problems: ['bee.sat: unknown SAT "gpu" (expected nvidia, memory, storage)'],
      results: [
        { kind: "memory", status: memory, archive: null, error: null, started_at: null, finished_at: null },
        { kind: "storage", status: storage, archive: null, error: null, started_at: null, finished_at: null },
      ],
    });
  let dir = "";
  const { tmux } = setup({
    nvtop: false,
    stress: "slow",
    prepare: (satDir) => {
      dir = satDir;
      Deno.writeTextFileSync(`${satDir}/unattended.json`, state("running", "running", "pending"));
      Deno.writeTextFileSync(
        `${satDir}/running.json`,
        JSON.stringify({
          kind: "memory",
          job: "memtester",
          job_index: 1,
          jobs: 1,
          elapsed_s: 30,
          planned_s: 120,
          detail: "memtester 64M x 1",
        }),
      );
    },
  });
  try {
    const s = await tmux.waitFor(/unattended acceptance \(bee\.sat=memory,storage, then poweroff\)/);
    assertFits(s);
    assert.match(s, /memory\s+running/);
    assert.match(s, /storage\s+pending/);
    assert.match(s, /bad boot parameter: bee\.sat: unknown SAT "gpu"/);
    assert.match(s, /job 1\/1: memtester/);
    assert.match(s, /elapsed 00:00:30\s+remaining 00:01:30/);
    tmux.keys("m");
    await tmux.waitFor(/Unattended SATs \(running\)/);
    // the run ends: from the menu, its final state
    Deno.writeTextFileSync(`${dir}/unattended.json`, state("done", "OK", "UNSUPPORTED"));
    tmux.keys("Down", "Down", "Down", "Down", "Enter");
    const done = await tmux.waitFor(/finished 2026-12-07T20:05:00Z/);
    assert.match(done, /memory\s+OK/);
    assert.match(done, /storage\s+UNSUPPORTED/);
  } finally {
    tmux.kill();
  }
});

Deno.test("tui: on the Linux console (TERM=linux) the title and prompts are drawn without glyphs its font lacks", async () => {
  const { tmux } = setup({ nvtop: false, stress: "slow", env: ["TERM=linux"] });
  try {
    const s = await tmux.waitFor(/bee - server audit and burn-in/);
    assert.doesNotMatch(s, /[\u2014\u2026\u2192]/);
  } finally {
    tmux.kill();
  }
});

Deno.test("tui: the hardware summary lists a RAID controller with its failed drive and a degraded md array", async () => {
  // the audit carries real captures: the 6805E through arcconf, and the RAID 1 made on bee's own image
  const audit = passAudit();
  audit.hardware.storage = {
    ...audit.hardware.storage!,
    raid: [
      parseArcconfConfig(
        Deno.readTextFileSync(`${FIX}/arcconf/adaptec-6805e-degraded-getconfig-al.txt`),
        "1",
      )!,
    ],
    md_arrays: parseMdstat(Deno.readTextFileSync(`${FIX}/mdstat/qemu-bee-raid1-degraded.txt`)).map((a) => ({
      ...a,
      detail: parseMdadmDetail(Deno.readTextFileSync(`${FIX}/mdadm/qemu-bee-detail-degraded.txt`))!,
    })),
  };
  const { tmux } = setup({ nvtop: false, stress: "slow", auditText: JSON.stringify(audit) });
  try {
    await tmux.waitFor(/server audit and burn-in/);
    tmux.keys("Enter");
    let seen = "";
    for (let page = 0; page < 8; page++) {
      const s = await tmux.waitFor(/-- Enter: more|Enter, q or Esc: back/);
      assertFits(s);
      seen += s;
      if (/Enter, q or Esc: back/.test(s)) break;
      tmux.keys("Enter");
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.match(
      seen,
      /raid arcconf c1 Adaptec 6805E 3A211320B60: 2 virtual \(Optimal,\s+Degraded\),\s+8\s+drives,\s+c0:d2 Failed/,
    );
    assert.match(seen, /md127 raid1 active \[1\/2\] \[U_\] \(clean,\s+degraded\)/);
  } finally {
    tmux.kill();
  }
});
