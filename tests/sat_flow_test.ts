// Whole `bee sat` flows through the real launcher and code, with fake tools on PATH: every status
// path, the summary, the archive's contents read back, the runtime overrides, and abort by SIGTERM.
import assert from "node:assert/strict";
import { makeHandler } from "../bee/web/handler.ts";
import { fakeBin, fixture, privateLock, REPO, runBee, satArgs, writeFakeTool } from "../testkit/helpers.ts";
import { fakeStress, NVIDIA_JOBS, type NvidiaFakes, nvidiaFakes, type StressMode } from "./sat_fakes.ts";
import { passAudit } from "../testkit/web_fixtures.ts";
import { readAllTarGz } from "../bee/lib/tar.ts";
import { parseSummary } from "../bee/sat/summary.ts";

const dec = new TextDecoder();

interface SatRun {
  code: number;
  stdout: string;
  stderr: string;
  summary: Record<string, string>;
  files: Map<string, Uint8Array>;
  archive: string;
  bin: string;
}

function auditFile(): string {
  const p = `${Deno.makeTempDirSync()}/bee-audit.json`;
  const a = passAudit();
  a.hardware.board!.system.serial = "SN-TEST-0042";
  Deno.writeTextFileSync(p, JSON.stringify(a));
  return p;
}

async function readArchive(
  stdout: string,
): Promise<{ archive: string; files: Map<string, Uint8Array>; summary: Record<string, string> }> {
  const last = stdout.trimEnd().split("\n").at(-1)!;
  // named after the audit's system serial, not the hostname
  const m = last.match(/^archive: (\S+\/(bee-sat-[a-z]+-SN-TEST-0042-\d{8}T\d{6}Z)\.tar\.gz)$/);
  assert.ok(m, `last line names the archive: ${last}`);
  const files = (await readAllTarGz(m[1]!))!;
  assert.ok(files, "archive reads back");
  for (const name of files.keys()) assert.ok(name.startsWith(`${m[2]}/`), name);
  const summary = parseSummary(dec.decode(files.get(`${m[2]}/summary.txt`)!));
  const short = new Map([...files].map(([k, v]) => [k.slice(m[2]!.length + 1), v]));
  return { archive: m[1]!, files: short, summary };
}

async function satNvidia(
  mode: StressMode | null,
  args: string[] = ["--duration", "2"],
  o: NvidiaFakes & { env?: Record<string, string>; noNvidia?: boolean } = {},
): Promise<SatRun> {
  const bin = fakeBin();
  if (!o.noNvidia) nvidiaFakes(bin, o);
  if (mode) fakeStress(bin, mode);
  const out = Deno.makeTempDirSync();
  const r = await runBee(satArgs("nvidia", auditFile(), out, ...args), {
    path: bin,
    env: o.env,
  });
  const a = await readArchive(r.stdout);
  return { ...r, ...a, bin };
}

function calls(bin: string, tool: string): string {
  try {
    return Deno.readTextFileSync(`${bin}/${tool}.calls`);
  } catch {
    return "";
  }
}

Deno.test("sat nvidia: clean run on 3 GPUs is OK and the archive holds every output", async () => {
  const r = await satNvidia("clean");
  assert.equal(r.code, 0, r.stderr);
  const s = r.summary;
  assert.equal(s["overall_status"], "OK");
  for (const j of NVIDIA_JOBS) {
    assert.equal(s[`${j}_status`], "OK", `${j}: ${s[`${j}_reason`]}`);
  }
  // every ordered pair of the three GPUs copied (the fake's 21.5 GB/s), named by nvidia-smi index
  assert.equal(s["gpu_p2p_pairs"], "6");
  assert.equal(s["gpu_p2p_2_0_gbps"], "21.5");
  // each unordered pair both directions at once
  assert.equal(s["gpu_p2p_0_2_bidir_gbps"], "40");
  assert.equal(s["gpu_p2p_2_0_bidir_gbps"], undefined);
  assert.equal(s["kind"], "nvidia");
  assert.equal(s["system_serial"], "SN-TEST-0042");
  assert.match(s["bee_version"]!, /^\d+\.\d+\.\d+$/);
  assert.match(s["started_utc"]!, /^\d{4}-\d\d-\d\dT/);
  assert.equal(s["gpus"], "0,1,2");
  assert.equal(s["stress_seconds"], "2");
  assert.equal(s["stress_size_mb"], "49140");
  assert.equal(s["gpu_stress_gpu2_bf16_tflops"], "151.3");
  assert.equal(s["gpu_stress_gpu1_bf16_mismatches"], "0");
  assert.equal(s["gpu_stress_gpu0_path"], "cublaslt");
  assert.equal(s["gpu_stress_gpu1_temperature_max_c"], "76");
  assert.equal(s["nvidia_smi_q_driver_version"], "550.127.05");
  for (
    const f of [
      "summary.txt",
      "audit.json",
      "nvidia-smi-q.txt",
      "nvidia-smi-q-after.txt",
      "nvidia-smi-q-after-memtest.txt",
      "gpu-stress.jsonl",
      "gpu-p2p.jsonl",
      "gpu-metrics.csv",
      "gpu-metrics.html",
      "gpu-metrics-term.txt",
      "gpu-metrics-raw.csv",
      "kernel-log-before.txt",
      "kernel-log-after.txt",
      "nvidia-bug-report.log.gz",
      "commands.log",
      "sat.log",
    ]
  ) assert.ok(r.files.has(f), `archive has ${f}: ${[...r.files.keys()]}`);
  assert.equal(
    JSON.parse(dec.decode(r.files.get("audit.json")!)).hardware.board.system.serial,
    "SN-TEST-0042",
  );
  assert.equal(dec.decode(r.files.get("gpu-metrics.csv")!).trim().split("\n").length, 20);
  assert.match(
    calls(r.bin, "bee-gpu-stress"),
    /^--seconds 2 --size-mb 49140 \| CUDA_VISIBLE_DEVICES=0,1,2 \| CUDA_DEVICE_ORDER=PCI_BUS_ID$/m,
  );
  assert.match(r.stderr, /bee sat nvidia: \d\d:\d\d:\d\d \/ \d\d:\d\d:\d\d +\[2\/10\] gpu_stress/);
  // the pulse phase: 60 s (the minimum), 2 s on / 2 s off
  assert.match(
    calls(r.bin, "bee-gpu-stress"),
    /^--seconds 60 --size-mb 49140 --pulse 2,2 \| CUDA_VISIBLE_DEVICES=0,1,2/m,
  );
  assert.equal(s["gpu_pulse_status"], "OK");
  assert.equal(s["gpu_pulse_cycles"], "15");
  // NCCL all-reduce over the three GPUs up to 1 GiB; no reference for 3 × RTX A6000
  assert.match(calls(r.bin, "bee-gpu-stress"), /^--nccl --size-mb 1024 \| CUDA_VISIBLE_DEVICES=0,1,2 \|/m);
  assert.equal(s["gpu_nccl_status"], "OK");
  assert.equal(s["gpu_nccl_busbw_gbs"], "18.93");
  assert.equal(s["gpu_nccl_largest_bytes"], "1073741824");
  assert.match(s["gpu_nccl_reference"]!, /^no reference for 3 × NVIDIA RTX A6000/);
  // the memory jobs: a 60 s pattern test (2 s stress: the minimum) and the bandwidth figures
  assert.match(calls(r.bin, "bee-gpu-stress"), /^--memtest --seconds 60 \| CUDA_VISIBLE_DEVICES=0,1,2 \|/m);
  assert.match(calls(r.bin, "bee-gpu-stress"), /^--bandwidth \| CUDA_VISIBLE_DEVICES=0,1,2 \|/m);
  assert.equal(s["gpu_memtest_status"], "OK");
  assert.equal(s["gpu_memtest_gpu2_coverage"], "0.92");
  assert.equal(s["gpu_bandwidth_status"], "OK");
  assert.equal(s["gpu_bandwidth_gpu1_h2d_gbs"], "24.5");
  assert.equal(s["gpu_bandwidth_hbm_tbs_verdict"], "PASS");
  for (const f of ["gpu-memtest.jsonl", "gpu-bandwidth.jsonl", "gpu-results.json"]) {
    assert.ok(r.files.has(f), f);
  }
  assert.match(dec.decode(r.files.get("commands.log")!), /exited code=0 :: bee-gpu-stress --seconds 2/);
});

Deno.test("sat nvidia: --gpus 0,2 sets CUDA_VISIBLE_DEVICES and maps results back to physical indices", async () => {
  const r = await satNvidia("clean", ["--duration", "2", "--gpus", "2,0"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(calls(r.bin, "bee-gpu-stress"), /CUDA_VISIBLE_DEVICES=0,2 /);
  assert.match(calls(r.bin, "nvidia-smi"), /-l 1 -i 0,2/);
  assert.equal(r.summary["gpus"], "0,2");
  assert.ok(r.summary["gpu_stress_gpu2_fp16_tflops"]);
  assert.equal(r.summary["gpu_stress_gpu1_fp16_tflops"], undefined);
});

Deno.test("sat nvidia: mismatches fail the SAT, also when the tool exits 0", async () => {
  for (const mode of ["mismatch", "lying"] as const) {
    const r = await satNvidia(mode);
    assert.equal(r.code, 1, mode);
    assert.equal(r.summary["overall_status"], "FAILED");
    assert.equal(r.summary["gpu_stress_status"], "FAILED");
    assert.match(r.summary["gpu_stress_reason"]!, /GPU 1 bf16: 5 mismatches/);
    assert.equal(r.summary["gpu_stress_gpu1_bf16_mismatches"], "5");
  }
});

Deno.test("sat nvidia: crash, could-not-run and missing stress tool are FAILED", async () => {
  const crash = await satNvidia("crash");
  assert.match(crash.summary["gpu_stress_reason"]!, /crashed \(SIGSEGV\)/);
  const nogpu = await satNvidia("nogpu");
  assert.match(nogpu.summary["gpu_stress_reason"]!, /could not run \(exit 2\).*no CUDA-capable device/);
  const missing = await satNvidia(null);
  assert.equal(missing.summary["gpu_stress_status"], "FAILED");
  assert.match(missing.summary["gpu_stress_reason"]!, /bee-gpu-stress not found/);
  for (const r of [crash, nogpu, missing]) assert.equal(r.code, 1);
});

Deno.test("sat nvidia on an HGX without Fabric Manager: the CUDA jobs are UNSUPPORTED with the reason, GPUs not failed", async () => {
  const bin = fakeBin();
  nvidiaFakes(bin);
  fakeStress(bin, "clean");
  // lspci shows the baseboard's NVSwitches; the Fabric Manager daemon is not running
  writeFakeTool(bin, "lspci", [{
    args: "-n -d 10de:",
    text: "0000:4f:00.0 0302: 10de:2330 (rev a1)\n0000:05:00.0 0680: 10de:22a3 (rev a1)\n" +
      "0000:06:00.0 0680: 10de:22a3 (rev a1)\n",
  }]);
  writeFakeTool(bin, "pgrep", [{ args: "-x nv-fabricmanager", exit: 1 }]);
  const out = Deno.makeTempDirSync();
  const r = await runBee(satArgs("nvidia", auditFile(), out, "--duration", "2"), { path: bin });
  const a = await readArchive(r.stdout);
  for (const job of ["gpu_stress", "gpu_p2p"]) {
    assert.equal(a.summary[`${job}_status`], "UNSUPPORTED", job);
    assert.match(
      a.summary[`${job}_reason`]!,
      /^2 NVSwitch\(es\) on the PCI bus and Fabric Manager is not running: CUDA cannot start/,
    );
  }
  assert.equal(a.summary["nvidia_smi_q_status"], "OK");
  assert.equal(a.summary["gpu_health_status"], "OK");
  assert.equal(a.summary["nvswitches"], "2");
  assert.equal(calls(bin, "bee-gpu-stress"), "", "bee-gpu-stress was not started");
  assert.notEqual(a.summary["overall_status"], "FAILED");
  // and where bee-gpu-stress itself meets error 802 (fabric not up yet), the same: UNSUPPORTED
  const nr = await satNvidia("notready");
  assert.equal(nr.summary["gpu_stress_status"], "UNSUPPORTED");
  assert.match(nr.summary["gpu_stress_reason"]!, /not yet initialised/);
});

Deno.test("sat nvidia: HW thermal slowdown, new ECC errors and XID 79 fail their jobs", async () => {
  const r = await satNvidia("clean", ["--duration", "2"], {
    metrics: "nvidia_smi_query/handmade-a6000x3-metrics-hw-thermal.csv",
    qAfter: "nvidia_smi/edited-a6000-first3-after-ecc.txt",
    dmesgAfter: "dmesg/edited-devvm-after-xid79.txt",
  });
  assert.equal(r.code, 1);
  assert.match(r.summary["gpu_stress_reason"]!, /GPU 1: HW thermal slowdown active \(first at 3 s\)/);
  assert.match(r.summary["gpu_stress_reason"]!, /GPU 1: 106 °C above its max operating temperature 93 °C/);
  assert.match(r.summary["gpu_health_reason"]!, /GPU 1: 2 new uncorrectable/);
  // the counters are read again right after the memory test: the test that met the errors fails with them
  assert.equal(r.summary["gpu_memtest_status"], "FAILED");
  assert.match(r.summary["gpu_memtest_reason"]!, /^after the memory test: GPU 1: 2 new uncorrectable/);
  assert.equal(r.summary["gpu_memtest_gpu1_memtest_ecc_volatile_uncorrectable_new"], "2");
  assert.equal(r.summary["gpu_xid_status"], "FAILED");
  assert.match(r.summary["gpu_xid_reason"]!, /79 \(GPU has fallen off the bus\) on 0000:52:00/);
  assert.equal(r.summary["gpu_xid_findings"], "nvidia.xid_hardware");
  assert.match(
    r.summary["gpu_xid_finding_1"]!,
    /^FAIL nvidia\.xid_hardware nvidia:0000:52:00: XID 79 .* → Check nvidia-smi -q/,
  );
  // gpu_health lists the audit's own GPU rules on the state after the stress
  assert.match(r.summary["gpu_health_findings"] ?? "", /nvidia\.ecc_uncorrected|nvidia\.remap_pending/);
  assert.match(dec.decode(r.files.get("kernel-log-new.txt")!), /Xid .*: 79/);
  assert.match(dec.decode(r.files.get("gpu-metrics.html")!), /fill="#d62728" fill-opacity/);
});

Deno.test("sat nvidia: a narrowed PCIe link, a slower link generation and low power under load fail the stress", async () => {
  const r = await satNvidia("clean", ["--duration", "2"], {
    metrics: "nvidia_smi_query/handmade-a6000x3-metrics-x8-lowpower.csv",
  });
  assert.equal(r.code, 1);
  const why = r.summary["gpu_stress_reason"]!;
  assert.match(why, /GPU 1: PCIe link at x8 under load, x16 possible/);
  assert.match(why, /GPU 2 power_w: 150 W under the floor 225 W of /);
  assert.equal(r.summary["gpu_stress_gpu2_power_limit_w"], "300");
  assert.match(r.summary["gpu_stress_findings"]!, /nvidia\.figure_below_floor/);
  assert.match(why, /GPU 2: PCIe link never above Gen3 under load, Gen4 possible/);
  assert.doesNotMatch(why, /GPU 0:/);
  assert.equal(r.summary["gpu_health_status"], "OK");
});

Deno.test("sat nvidia: no nvidia-smi is UNSUPPORTED everywhere (exit 3), a missing bug report tool is UNSUPPORTED", async () => {
  const r = await satNvidia(null, ["--duration", "2"], { noNvidia: true });
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.summary["overall_status"], "UNSUPPORTED");
  assert.equal(r.summary["gpu_stress_status"], "UNSUPPORTED");
  assert.match(r.summary["gpu_stress_reason"]!, /nvidia-smi not found/);
  const b = await satNvidia("clean", ["--duration", "2"], { bugReport: false });
  assert.equal(b.summary["nvidia_bug_report_status"], "UNSUPPORTED");
  assert.equal(b.summary["overall_status"], "OK");
});

Deno.test("sat nvidia: a driver that does not answer is FAILED", async () => {
  const bin = fakeBin();
  writeFakeTool(bin, "nvidia-smi", [{
    args: "*",
    text:
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n",
    exit: 9,
  }]);
  const out = Deno.makeTempDirSync();
  const r = await runBee(satArgs("nvidia", auditFile(), out), {
    path: bin,
  });
  assert.equal(r.code, 1);
  const { summary } = await readArchive(r.stdout);
  assert.match(summary["gpu_stress_reason"]!, /NVIDIA driver not usable: NVIDIA-SMI has failed/);
});

Deno.test("sat nvidia: runtime overrides are honoured and recorded; bad input is one line, exit 2", async () => {
  const r = await satNvidia("clean", [], {
    env: { BEE_GPU_STRESS_SECONDS: "3", BEE_GPU_STRESS_SIZE_MB: "1024" },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(calls(r.bin, "bee-gpu-stress"), /^--seconds 3 --size-mb 1024 /m);
  assert.equal(r.summary["stress_seconds_source"], "BEE_GPU_STRESS_SECONDS");
  assert.equal(r.summary["stress_size_mb_source"], "BEE_GPU_STRESS_SIZE_MB");
  assert.equal(r.summary["env_bee_gpu_stress_seconds"], "3");
  const bin = fakeBin();
  nvidiaFakes(bin);
  for (const args of [["--gpus", "7"], ["--gpus", "a"], ["--duration", "1y"]]) {
    const bad = await runBee([
      "sat",
      "nvidia",
      "--lock",
      privateLock(),
      "--out",
      Deno.makeTempDirSync(),
      ...args,
    ], { path: bin });
    assert.equal(bad.code, 2, `${args}: ${bad.stderr}`);
    assert.doesNotMatch(bad.stderr, /at .*\.ts:\d+/);
  }
  const none = await runBee(["sat"], { path: bin });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /name a kind/);
});

function pgrep(pattern: string): string {
  const r = new Deno.Command("pgrep", { args: ["-f", pattern], stdout: "piped" }).outputSync();
  return dec.decode(r.stdout).trim();
}

Deno.test("sat nvidia: SIGTERM kills the stress and the poller, and the archive says aborted", async () => {
  const bin = fakeBin();
  nvidiaFakes(bin);
  fakeStress(bin, "hang");
  const out = Deno.makeTempDirSync();
  const child = new Deno.Command("/bin/sh", {
    args: [
      `${REPO}/bin/bee`,
      "sat",
      "nvidia",
      "--lock",
      privateLock(),
      "--duration",
      "600",
      "--out",
      out,
      "--audit",
      auditFile(),
    ],
    env: { PATH: bin, BEE_DENO: Deno.execPath(), HOME: Deno.env.get("HOME") ?? "/root", NO_COLOR: "1" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const t0 = Date.now();
  while (!pgrep("sleep 988") || !pgrep("sleep 986")) {
    assert.ok(Date.now() - t0 < 30_000, "stress and poller started");
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGTERM");
  const res = await child.output();
  assert.equal(res.code, 1);
  for (const p of ["sleep 986", "sleep 987", "sleep 988"]) assert.equal(pgrep(p), "", `${p} left running`);
  const a = await readArchive(dec.decode(res.stdout));
  assert.equal(a.summary["overall_status"], "FAILED");
  assert.equal(a.summary["overall_reason"], "aborted");
  assert.equal(a.summary["aborted_by"], "SIGTERM");
  assert.equal(a.summary["gpu_stress_status"], "FAILED");
  assert.equal(a.summary["gpu_stress_reason"], "aborted");
  assert.equal(a.summary["nvidia_bug_report_reason"], "aborted before it started");
  assert.ok(a.files.has("gpu-metrics.csv"));
  assert.deepEqual(
    [...Deno.readDirSync(out)].map((e) => e.name),
    [a.archive.split("/").at(-1)],
    "no work folder left",
  );
});

Deno.test("sat memory: fake memtester pass, failure lines, non-zero exit and absence", async () => {
  const cases: [string, { file?: string; exit?: number } | null, string, string | RegExp][] = [
    ["pass", { file: "memtester/firecracker-devvm-16M-pass.txt" }, "OK", ""],
    ["fail", { file: "memtester/edited-16M-fail.txt", exit: 4 }, "FAILED", /2 failures: Compare MUL/],
    ["exit", { file: "memtester/firecracker-devvm-16M-pass.txt", exit: 1 }, "FAILED", /exit status 1/],
    ["missing", null, "UNSUPPORTED", /memtester not found/],
  ];
  for (const [label, c, status, reason] of cases) {
    const bin = fakeBin();
    if (c) writeFakeTool(bin, "memtester", [{ args: "64M 1", ...c }]);
    const r = await runBee(satArgs("memory", auditFile()), {
      path: bin,
      env: { BEE_MEMTESTER_SIZE_MB: "64", BEE_MEMTESTER_PASSES: "1" },
    });
    const a = await readArchive(r.stdout);
    assert.equal(a.summary["memtester_status"], status, `${label}: ${a.summary["memtester_reason"]}`);
    if (reason) assert.match(a.summary["memtester_reason"]!, reason as RegExp, label);
    assert.equal(a.summary["size_mb"], "64");
    assert.equal(a.summary["passes"], "1");
    assert.equal(a.summary["passes_source"], "BEE_MEMTESTER_PASSES");
    assert.equal(r.code, status === "OK" ? 0 : status === "UNSUPPORTED" ? 3 : 1, label);
    if (c) assert.ok(a.files.has("memtester.log"));
  }
});

function storageFakes(bin: string, selfTestResult: "pass" | "fail", nvmeSelfTest: boolean): void {
  const sda = JSON.parse(fixture("smartctl/qemu-devbox-x-sda.json"));
  const done = structuredClone(sda);
  if (selfTestResult === "fail") {
    done.ata_smart_self_test_log.standard.table = [{
      type: { value: 1, string: "Short offline" },
      status: { value: 121, string: "Completed: read failure", remaining_percent: 10, passed: false },
      lifetime_hours: 3,
      lba: 1234,
    }];
  }
  const running = structuredClone(sda);
  running.ata_smart_data.self_test.status = {
    value: 249,
    string: "in progress, 90% of test remaining",
    remaining_percent: 90,
  };
  const flag = `${bin}/polled`;
  writeFakeTool(bin, "lsblk", [{ args: "-J -b -d -o *", file: "lsblk/qemu-devbox-J-O.txt" }]);
  writeFakeTool(bin, "smartctl", [
    { args: "-x -j /dev/sda", text: JSON.stringify(sda), exit: 4 },
    { args: "-t short -j /dev/sda", text: "{}" },
    // first poll: running; then finished
    {
      args: "-j -c -l selftest /dev/sda",
      script: `if [ -f '${flag}' ]; then printf '%s' '${
        JSON.stringify(done)
      }'; else : > '${flag}'; printf '%s' '${JSON.stringify(running)}'; fi`,
    },
    { args: "-j -l selftest /dev/sda", text: JSON.stringify(done) },
    { args: "-x -j /dev/nvme*", file: "smartctl/qemu-devbox-x-nvme0.json" },
  ]);
  const id = JSON.parse(fixture("nvme/qemu-devbox-id-ctrl-nvme0.json"));
  if (nvmeSelfTest) id.oacs |= 0x10;
  writeFakeTool(bin, "nvme", [
    { args: "id-ctrl /dev/nvme* -o json", text: JSON.stringify(id) },
    { args: "smart-log /dev/nvme* -o json", file: "nvme/qemu-devbox-smart-log-nvme0.json" },
    { args: "error-log /dev/nvme* -o json", text: '{"errors":[]}' },
    { args: "device-self-test /dev/nvme* -n 0xffffffff -s 1", text: "Device self-test started\n" },
    {
      args: "self-test-log /dev/nvme* -o json",
      text:
        '{"Current Device Self-Test Operation":0,"Current Device Self-Test Completion":0,"List of Valid Reports":[{"Self test result":0,"Self test code":1,"Segment number":0,"Valid Diagnostic Information":0,"Power on hours":12}]}',
    },
  ]);
}

/** `bee sat storage` with the storage fakes, polling fast; the run and its archive. */
async function satStorage(result: "pass" | "fail", nvmeSelfTest: boolean) {
  const bin = fakeBin();
  storageFakes(bin, result, nvmeSelfTest);
  const args = satArgs("storage", auditFile(), undefined, "--poll", "0.1");
  const r = await runBee(args, { path: bin });
  return { r, a: await readArchive(r.stdout) };
}

Deno.test("sat storage: ATA short self-test polled to completion; NVMe without self-test is UNSUPPORTED", async () => {
  const { r, a } = await satStorage("pass", false);
  assert.equal(a.summary["storage_sda_status"], "OK", a.summary["storage_sda_reason"] ?? "");
  assert.equal(a.summary["storage_sda_self_test"], "completed without error");
  assert.equal(a.summary["storage_nvme0n1_status"], "UNSUPPORTED");
  assert.match(a.summary["storage_nvme0n1_reason"]!, /no Device Self-test/);
  assert.equal(a.summary["overall_status"], "OK");
  assert.equal(a.summary["storage_loop0_status"], undefined, "loop devices are not disks");
  for (
    const f of [
      "smartctl-x-before-sda.json",
      "smartctl-x-after-sda.json",
      "smartctl-selftest-log-sda.json",
      "nvme-smart-log-before-nvme0.json",
      "nvme-error-log-nvme0.json",
    ]
  ) {
    assert.ok(a.files.has(f), f);
  }
  // every command is in commands.log: the planner's disk list and the self-test polls too
  const log = new TextDecoder().decode(a.files.get("commands.log")!);
  assert.match(log, /^\(plan\) .* :: lsblk -J/m);
  assert.match(log, /:: smartctl -j -c -l selftest \/dev\/sda \(captured\)$/m);
  assert.equal(r.code, 0);
});

Deno.test("sat storage: a failed self-test is FAILED; NVMe with self-test runs it", async () => {
  const { r, a } = await satStorage("fail", true);
  assert.equal(a.summary["storage_sda_status"], "FAILED");
  assert.match(a.summary["storage_sda_reason"]!, /Short offline: Completed: read failure/);
  assert.equal(a.summary["storage_nvme0n1_status"], "OK", a.summary["storage_nvme0n1_reason"] ?? "");
  assert.equal(a.summary["storage_nvme0n1_self_test"], "completed without error");
  assert.equal(r.code, 1);
});

Deno.test("sat storage + audit: a two-namespace NVMe drive is queried and self-tested once (one controller)", async () => {
  // HAND-MADE: the real qemu-devbox lsblk with a second namespace nvme0n2 added on the same controller
  const ls = JSON.parse(fixture("lsblk/qemu-devbox-J-O.txt"));
  const ns1 = ls.blockdevices.find((d: { name: string }) => d.name === "nvme0n1");
  ls.blockdevices.push({ ...ns1, name: "nvme0n2", path: "/dev/nvme0n2" });
  const bin = fakeBin();
  storageFakes(bin, "pass", true);
  writeFakeTool(bin, "lsblk", [{ args: "-J -b -d -o *", text: JSON.stringify(ls) }]);
  const r = await runBee(
    satArgs("storage", auditFile(), undefined, "--poll", "0.1"),
    { path: bin },
  );
  const a = await readArchive(r.stdout);
  assert.equal(a.summary["storage_nvme0n1_status"], "OK", a.summary["storage_nvme0n1_reason"] ?? "");
  assert.equal(a.summary["storage_nvme0n2_status"], undefined);
  assert.equal(a.summary["nvme_namespaces_folded"], "nvme0n2→nvme0n1");
  const starts = calls(bin, "nvme").split("\n").filter((l) => l.startsWith("device-self-test /dev/nvme0 "));
  assert.equal(starts.length, 1, "one self-test for the controller");
  // the audit lists both namespaces but asks the controller once
  Deno.writeTextFileSync(`${bin}/nvme.calls`, "");
  const out = `${Deno.makeTempDirSync()}/audit.json`;
  const au = await runBee(["audit", "--output", out, "--no-qr"], { path: bin });
  assert.equal(au.code, 0, au.stderr);
  const audit = JSON.parse(Deno.readTextFileSync(out));
  assert.ok(
    ["nvme0n1", "nvme0n2"].every((n) =>
      audit.hardware.storage.disks.some((d: { name: string }) => d.name === n)
    ),
  );
  assert.equal(calls(bin, "nvme").split("\n").filter((l) => l.startsWith("id-ctrl /dev/nvme0 ")).length, 1);
});

Deno.test("sat nvidia: P2P — a pair far below the others fails naming it; corrupted data fails; one GPU is UNSUPPORTED", async () => {
  const slow = await satNvidia("p2pslow");
  assert.equal(slow.code, 1);
  assert.equal(slow.summary["gpu_p2p_status"], "FAILED");
  assert.equal(slow.summary["gpu_p2p_reason"], "GPU 0 → GPU 2: 3.1 GB/s, the other pairs' median 21.5 GB/s");
  assert.equal(slow.summary["gpu_stress_status"], "OK");
  const bad = await satNvidia("p2pcorrupt");
  assert.equal(bad.summary["gpu_p2p_status"], "FAILED");
  assert.match(bad.summary["gpu_p2p_reason"]!, /^GPU 1 → GPU 0: data arrived corrupted/);
  const one = await satNvidia("clean", ["--duration", "2", "--gpus", "1"]);
  assert.equal(one.summary["gpu_p2p_status"], "UNSUPPORTED");
  assert.equal(one.summary["overall_status"], "OK");
});

Deno.test("sat nvidia: a GPU far under its same-model peers fails naming it; gpu-results.json holds every figure", async () => {
  const r = await satNvidia("outlier");
  assert.equal(r.code, 1);
  assert.equal(r.summary["gpu_stress_status"], "FAILED");
  // 120.5 against the peers' median 151.25 is 20.3 % under (FAIL above 10 %); no reference for an RTX A6000
  assert.match(
    r.summary["gpu_stress_reason"]!,
    /^GPU 2 tflops_bf16: 20\.3 % under the median 151 TFLOPS of its 3 peers/,
  );
  assert.equal(r.summary["gpu_stress_tflops_bf16_gpu2"], "120.5");
  assert.equal(r.summary["gpu_stress_tflops_bf16_verdict"], "FAIL");
  assert.equal(r.summary["gpu_stress_tflops_fp16_verdict"], "PASS");
  assert.match(r.summary["gpu_stress_findings"]!, /nvidia\.peer_outlier_fail/);
  const results = JSON.parse(dec.decode(r.files.get("gpu-results.json")!));
  assert.equal(results.peer_fail_pct, 10);
  const bad = results.results.filter((x: { verdict: string }) => x.verdict !== "PASS");
  assert.equal(bad.length, 1);
  assert.equal(bad[0].gpu, 2);
  assert.equal(bad[0].reference, null);
  assert.match(bad[0].why, /judged against its peers in this run only/);
  // stress TFLOPS (3 formats) and bandwidth (HBM, H2D, D2H) for 3 GPUs; no power figure from 5 load samples
  // (30 needed); the RTX A6000 has no P2P reference row, so its pairs are judged by the P2P job's topology rule
  assert.equal(results.results.length, 18);
  assert.equal(r.summary["gpu_stress_gpu0_power_sustained_w"], undefined);
  // the web page's SAT view renders the figures (escaped), /metrics carries them with bounded labels
  const satDir = r.archive.slice(0, r.archive.lastIndexOf("/"));
  const name = r.archive.slice(satDir.length + 1);
  const handler = makeHandler({ auditPath: "/nonexistent/audit.json", satDir });
  const list = await (await handler(new Request("http://x/sat/"))).text();
  assert.match(list, new RegExp(`href="/sat/${name.replace(/\./g, "\\.")}/gpu-results">GPU figures`));
  const view = await handler(new Request(`http://x/sat/${name}/gpu-results`));
  assert.equal(view.status, 200);
  const html = await view.text();
  assert.match(html, /<code>tflops_bf16<\/code><\/td><td><b>120\.5<\/b> TFLOPS/);
  assert.match(html, /class="sev-FAIL">FAIL</);
  const metrics = await (await handler(new Request("http://x/metrics"))).text();
  assert.match(metrics, /^bee_sat_gpu_figure\{gpu="2",figure="tflops_bf16"\} 120\.5$/m);
  assert.match(metrics, /^bee_sat_gpu_figure\{gpu="0",figure="hbm_tbs"\} 0\.712$/m);
  assert.match(metrics, /^bee_sat_nccl_busbw_gbs\{gpus="3"\} 18\.93$/m);
  // a wider peer margin (BEE_PEER_FAIL_PCT=25) makes the same GPU a WARN: the job stays OK
  const wide = await satNvidia("outlier", ["--duration", "2"], { env: { BEE_PEER_FAIL_PCT: "25" } });
  assert.equal(wide.summary["gpu_stress_status"], "OK", wide.summary["gpu_stress_reason"] ?? "");
  assert.equal(wide.summary["gpu_stress_tflops_bf16_verdict"], "WARN");
  assert.match(wide.summary["gpu_stress_findings"]!, /nvidia\.peer_outlier(,|$)/);
});

Deno.test("sat nvidia: memory errors on one GPU fail the memory test naming it; a slow host link fails bandwidth", async () => {
  const r = await satNvidia("memerr");
  assert.equal(r.code, 1);
  assert.equal(r.summary["gpu_memtest_status"], "FAILED");
  assert.match(
    r.summary["gpu_memtest_reason"]!,
    /GPU 1 \(serial \S+, bus 00000000:50:00\.0\): 7 memory errors \(first at offset 0x1000, last at 0x100004\)/,
  );
  assert.match(r.summary["gpu_memtest_findings"]!, /nvidia\.memtest_errors/);
  assert.equal(r.summary["gpu_stress_status"], "OK");
  const x8 = await satNvidia("x8bw");
  assert.equal(x8.summary["gpu_bandwidth_status"], "FAILED");
  // the RTX A6000's link: Gen4 x16, 31.5 GB/s; 9.5 is 30 % of it (FAIL under 60 %); the peers' median also
  assert.match(
    x8.summary["gpu_bandwidth_reason"]!,
    /^GPU 2: 9\.5 GB\/s host→device, 30 % of the 31\.5 GB\/s its Gen4 x16 link carries \(now x16, Gen1\)/,
  );
  assert.match(x8.summary["gpu_bandwidth_findings"]!, /nvidia\.pcie_bandwidth_low/);
  assert.match(x8.summary["gpu_bandwidth_findings"]!, /nvidia\.peer_outlier_fail/);
  assert.equal(x8.summary["gpu_bandwidth_h2d_gbs_verdict"], "FAIL");
});

Deno.test("sat nvidia: NCCL — a wrong sum FAILs with the size; no libnccl is UNSUPPORTED, the rest still runs", async () => {
  const bad = await satNvidia("ncclbad");
  assert.equal(bad.summary["gpu_nccl_status"], "FAILED");
  assert.match(bad.summary["gpu_nccl_reason"]!, /all-reduce of 1024 MiB: 12 elements wrong/);
  const none = await satNvidia("nonccl");
  assert.equal(none.summary["gpu_nccl_status"], "UNSUPPORTED");
  assert.match(none.summary["gpu_nccl_reason"]!, /^libnccl\.so\.2 not found/);
  assert.equal(none.summary["overall_status"], "OK");
  const one = await satNvidia("clean", ["--duration", "2", "--gpus", "1"]);
  assert.equal(one.summary["gpu_nccl_status"], "UNSUPPORTED");
});

Deno.test("sat nvidia: a GPU lost during the pulse phase fails it, named; the other jobs still run", async () => {
  const r = await satNvidia("pulselost");
  assert.equal(r.summary["gpu_pulse_status"], "FAILED");
  assert.match(r.summary["gpu_pulse_reason"]!, /GPU 1 hung: no progress for 61 s/);
  assert.match(r.summary["gpu_pulse_reason"]!, /GPU 2: no result after the pulse phase \(lost or hung\)/);
  assert.equal(r.summary["gpu_health_status"], "OK");
  assert.equal(r.summary["gpu_stress_status"], "OK");
});
