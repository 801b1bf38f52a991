// Pure SAT pieces: summary contract, stress JSON-lines judgement, metrics parsing and charts,
// before/after GPU health, XIDs, memtester, self-test parsers, tar round trip.
import assert from "node:assert/strict";
import { FIX, fixture } from "../testkit/helpers.ts";
import { overallStatus, parseSummary, renderSummary } from "../bee/sat/summary.ts";
import { foldStressLine, judgeStress, newStressState, type StressJudgeInput } from "../bee/sat/gpu_stress.ts";
import {
  downsample,
  fillGaps,
  hwSlowdowns,
  loadProblems,
  type MetricRow,
  MetricsCollector,
  metricsCsv,
  metricsFields,
  metricsHtml,
  metricsTermChart,
} from "../bee/sat/gpu_metrics.ts";
import { judgeHealth, judgeXids, newLines, parseXids } from "../bee/sat/gpu_health.ts";
import { parseNvidiaSmiQ } from "../bee/parsers/nvidia_smi.ts";
import { memtesterSizeMb, parseMemtester } from "../bee/sat/memory.ts";
import { ataSelfTest, scsiSelfTest, smartAccess } from "../bee/parsers/smartctl.ts";
import { nvmeSelfTest, nvmeSupportsSelfTest } from "../bee/parsers/nvme.ts";
import { parseDuration, parseGpuList, parseGpuSelection } from "../bee/sat/nvidia/plan.ts";
import { parseMeminfo } from "../bee/parsers/procfs.ts";
import { readAllTarGz, writeTarGz } from "../bee/lib/tar.ts";
import { archiveTag } from "../bee/sat/runner.ts";
import { foldP2pLine, judgeP2p } from "../bee/sat/gpu_p2p.ts";

Deno.test("summary: overall status rules and key=value format", () => {
  assert.equal(
    overallStatus([{ name: "a", status: "OK" }, { name: "b", status: "UNSUPPORTED", reason: "x" }]),
    "OK",
  );
  assert.equal(
    overallStatus([{ name: "a", status: "OK" }, { name: "b", status: "FAILED", reason: "x" }]),
    "FAILED",
  );
  assert.equal(overallStatus([{ name: "a", status: "UNSUPPORTED", reason: "x" }]), "UNSUPPORTED");
  const text = renderSummary(
    {
      bee_version: "0.1.0",
      kind: "memory",
      host: "h",
      system_serial: "S\nN=1",
      started_utc: "a",
      finished_utc: "b",
    },
    [{ name: "memtester", status: "FAILED", reason: "2 failures\nsecond line", facts: { failures: 2 } }],
    { status: "FAILED", reason: "memtester: 2 failures" },
  );
  for (const line of text.trimEnd().split("\n")) assert.match(line, /^[a-z0-9_]+=[^\n]*$/, line);
  const s = parseSummary(text);
  assert.equal(s["system_serial"], "S N=1");
  assert.equal(s["overall_status"], "FAILED");
  assert.equal(s["memtester_status"], "FAILED");
  assert.equal(s["memtester_reason"], "2 failures second line");
  assert.equal(s["memtester_failures"], "2");
  assert.equal(s["jobs"], "memtester");
});

function stressLines(mismatches = 0, devices = 3): string[] {
  const out: string[] = [];
  for (let d = 0; d < devices; d++) {
    out.push(JSON.stringify({
      event: "start",
      device: d,
      name: "NVIDIA RTX A6000",
      compute_capability: "8.6",
      dtypes: ["fp16", "bf16", "tf32"],
      path: "cublaslt",
    }));
  }
  for (let d = 0; d < devices; d++) {
    for (const dt of ["fp16", "bf16"]) {
      out.push(
        JSON.stringify({
          event: "progress",
          device: d,
          dtype: dt,
          tflops: 150.5,
          iterations: 10,
          mismatches: 0,
        }),
      );
      out.push(JSON.stringify({
        event: "result",
        device: d,
        dtype: dt,
        tflops: 151.25,
        iterations: 20,
        mismatches: d === 1 && dt === "bf16" ? mismatches : 0,
      }));
    }
  }
  out.push(
    JSON.stringify({ event: "end", status: mismatches ? "mismatches" : "ok", exit_code: mismatches ? 1 : 0 }),
  );
  return out;
}

function judgeInput(lines: string[], proc: Partial<StressJudgeInput["proc"]> = {}): StressJudgeInput {
  const state = newStressState();
  for (const l of lines) foldStressLine(state, l);
  return {
    proc: {
      kind: "exited",
      command: "bee-gpu-stress",
      durationMs: 1000,
      code: 0,
      signal: null,
      ...proc,
    } as StressJudgeInput["proc"],
    state,
    selected: [0, 2, 5],
    hwSlowdown: new Map(),
    overTemp: new Map(),
    metricSamples: 10,
  };
}

Deno.test("stress: clean run is OK with per-GPU per-dtype TFLOPS mapped to physical indices", () => {
  const r = judgeStress(judgeInput(stressLines()));
  assert.equal(r.status, "OK", r.reason ?? "");
  assert.equal(r.facts?.["gpu5_bf16_tflops"], 151.3);
  assert.equal(r.facts?.["gpu2_path"], "cublaslt");
  assert.equal(r.facts?.["gpu0_fp16_mismatches"], 0);
});

Deno.test("stress: mismatches fail even when the tool exits 0", () => {
  const r = judgeStress(judgeInput(stressLines(3)));
  assert.equal(r.status, "FAILED");
  assert.match(r.reason!, /GPU 2 bf16: 3 mismatches/);
});

Deno.test("stress: two formats that fell back to the ptx burn are both kept, under what was asked", () => {
  const res = (requested: string, mismatches: number, fallback: string) =>
    JSON.stringify({
      event: "result",
      device: 0,
      dtype: "ptx",
      requested,
      path: "ptx",
      tflops: 40.04,
      iterations: 9,
      mismatches,
      fallback,
    });
  const lines = [
    JSON.stringify({
      event: "start",
      device: 0,
      name: "NVIDIA B200",
      dtypes: ["fp8", "fp4"],
      path: "cublaslt",
      cublaslt_version: "12.4.5",
    }),
    res("fp8", 0, "cuBLASLt 12.4 offers no fp8 GEMM on this GPU"),
    res("fp4", 2, "cuBLASLt 12.4 has no block-scaled fp4 (12.8 or newer needed)"),
    '{"event":"end","status":"mismatches","exit_code":1}',
  ];
  const input = judgeInput(lines, { code: 1 });
  input.selected = [0];
  const r = judgeStress(input);
  assert.equal(r.status, "FAILED");
  assert.equal(input.state.results.size, 2);
  assert.equal(r.facts?.["gpu0_fp8_ptx_tflops"], 40);
  assert.equal(r.facts?.["gpu0_cublaslt_version"], "12.4.5");
  assert.equal(r.facts?.["gpu0_fp4_ptx_mismatches"], 2);
  assert.match(String(r.facts?.["gpu0_fp4_fallback"]), /12\.8 or newer/);
  assert.match(r.reason!, /GPU 0 fp4 \(ran ptx\): 2 mismatches/);
  // a result line without `requested` (older tools) is keyed by what ran
  const old = judgeInput(stressLines());
  assert.equal([...old.state.results.values()][0]!.requested, [...old.state.results.values()][0]!.dtype);
});

Deno.test("stress: exit 0 without results, end or metrics is FAILED, never OK", () => {
  const noResults = stressLines().filter((l) => !l.includes('"result"'));
  assert.match(judgeStress(judgeInput(noResults)).reason!, /no result for GPU 0/);
  const noEnd = stressLines().filter((l) => !l.includes('"end"'));
  assert.match(judgeStress(judgeInput(noEnd)).reason!, /no end line/);
  const i = judgeInput(stressLines());
  i.metricSamples = 0;
  assert.match(judgeStress(i).reason!, /no GPU metrics/);
  const noCount = stressLines().map((l) => l.replace(/,"mismatches":0/, ""));
  assert.equal(judgeStress(judgeInput(noCount)).status, "FAILED");
});

Deno.test("stress: crash, could-not-run, timeout, missing and abort are FAILED with the reason", () => {
  assert.match(
    judgeStress(judgeInput(stressLines(), { code: 139, signal: "SIGSEGV" })).reason!,
    /crashed \(SIGSEGV\)/,
  );
  const err = [
    JSON.stringify({ event: "error", device: null, message: "no CUDA device" }),
    '{"event":"end","status":"error"}',
  ];
  const r = judgeStress(judgeInput(err, { code: 2 }));
  assert.match(r.reason!, /could not run \(exit 2\).*no CUDA device/);
  assert.match(judgeStress(judgeInput([], { kind: "timeout" })).reason!, /^timeout/);
  assert.equal(judgeStress(judgeInput([], { kind: "aborted" })).reason, "aborted");
  const missing = judgeInput([]);
  missing.proc = { kind: "missing", command: "bee-gpu-stress", durationMs: 1 };
  assert.match(judgeStress(missing).reason!, /not found/);
  assert.equal(foldStressLine(newStressState(), "CUDA warning: not json"), null);
});

Deno.test("stress: hardware slowdown and over-temperature fail the job", () => {
  const i = judgeInput(stressLines());
  i.hwSlowdown = new Map([[2, { reasons: new Set(["HW thermal slowdown"]), first_s: 42 }]]);
  i.overTemp = new Map([[0, { peak_c: 95, max_c: 93 }]]);
  const r = judgeStress(i);
  assert.equal(r.status, "FAILED");
  assert.match(r.reason!, /GPU 2: HW thermal slowdown active \(first at 42 s\)/);
  assert.match(r.reason!, /GPU 0: 95 °C above/);
});

Deno.test("metrics: field names follow the driver's help, rows parse with [N/A] as null", () => {
  assert.ok(metricsFields("clocks_throttle_reasons.active").includes("clocks_throttle_reasons.hw_slowdown"));
  assert.ok(metricsFields("").includes("clocks_event_reasons.hw_slowdown"));
  const fields = metricsFields("clocks_event_reasons.active");
  const c = new MetricsCollector(fields);
  for (const l of fixture("nvidia_smi_query/handmade-a6000x3-metrics.csv").split("\n")) c.push(l);
  assert.equal(c.rows.length, 19);
  const na = c.rows.find((r) => r.gpu === 1 && r.temperature_c === null)!;
  assert.equal(na.power_w, null);
  assert.equal(na.elapsed_s, 1);
  const last = c.rows.at(-1)!;
  assert.deepEqual([last.elapsed_s, last.gpu, last.temperature_c, last.power_w, last.sm_clock_mhz], [
    5,
    2,
    77,
    310,
    1800,
  ]);
  assert.equal(last.sw_power_cap, true);
  assert.equal(hwSlowdowns(c.rows).size, 0, "SW power cap alone is normal");
  const hw = new MetricsCollector(fields);
  for (const l of fixture("nvidia_smi_query/handmade-a6000x3-metrics-hw-thermal.csv").split("\n")) hw.push(l);
  const seen = hwSlowdowns(hw.rows);
  assert.deepEqual([...seen.keys()], [1]);
  assert.equal(seen.get(1)!.first_s, 3);
  assert.ok(seen.get(1)!.reasons.has("HW thermal slowdown"));
  assert.equal(c.push("garbage"), null);
});

Deno.test("metrics: DCGM's under-load rules (power reach, PCIe width and generation) need enough load samples", () => {
  const row = (gpu: number, o: Partial<MetricRow> = {}): MetricRow => ({
    elapsed_s: 0,
    gpu,
    temperature_c: 70,
    utilization_pct: 100,
    power_w: 280,
    sm_clock_mhz: 1800,
    reasons_active: 4,
    hw_slowdown: false,
    hw_thermal_slowdown: false,
    hw_power_brake_slowdown: false,
    sw_thermal_slowdown: false,
    sw_power_cap: true,
    power_limit_w: 300,
    sm_clock_max_mhz: 2100,
    pcie_gen: 5,
    pcie_gen_max: 5,
    pcie_width: 16,
    pcie_width_max: 16,
    ...o,
  });
  const many = (n: number, gpu: number, o: Partial<MetricRow> = {}) =>
    Array.from({ length: n }, () => row(gpu, o));
  assert.equal(loadProblems(many(40, 0)).size, 0);
  // power is no longer a load problem: it is the judged power_w figure (tests/gpu_figures_test.ts)
  assert.equal(loadProblems(many(40, 0, { power_w: 100 })).size, 0);
  // the link generation may drop at idle: one load sample at the maximum is enough
  const gens = [...many(10, 1, { pcie_gen: 3 }), row(1)];
  assert.equal(loadProblems(gens).size, 0);
  assert.match(
    loadProblems(many(10, 1, { pcie_gen: 3 })).get(1)![0]!,
    /never above Gen3 under load, Gen5 possible/,
  );
  // one narrow sample under load is a narrowed link
  assert.match(
    loadProblems([...many(10, 2), row(2, { pcie_width: 8 })]).get(2)![0]!,
    /x8 under load, x16 possible/,
  );
  // [N/A] fields are not evidence
  assert.equal(loadProblems(many(40, 3, { power_w: null, pcie_gen: null, pcie_width: null })).size, 0);
  // the generation field follows the driver's help
  assert.ok(metricsFields("pcie.link.gen.gpucurrent").includes("pcie.link.gen.gpucurrent"));
  assert.ok(metricsFields("").includes("pcie.link.gen.current"));
});

Deno.test("metrics: CSV columns, offline SVG that parses as XML, terminal chart with 4 coloured series", async () => {
  const c = new MetricsCollector(metricsFields(""));
  for (const l of fixture("nvidia_smi_query/handmade-a6000x3-metrics-hw-thermal.csv").split("\n")) c.push(l);
  const csv = metricsCsv(c.rows).split("\n");
  assert.equal(
    csv[0],
    "elapsed_s,gpu,temperature_c,utilization_pct,power_w,sm_clock_mhz,clocks_event_reasons_active,hw_slowdown,hw_thermal_slowdown,hw_power_brake_slowdown,sw_thermal_slowdown,sw_power_cap,pcie_gen,pcie_width",
  );
  assert.equal(csv.filter((l) => l).length, 19);
  const names = new Map([[0, "NVIDIA RTX A6000"], [1, "<script>alert(1)</script>"], [2, "x"]]);
  const html = metricsHtml(c.rows, names, "GPU metrics");
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)|<link|@import|url\(/i);
  const svgs = html.match(/<svg[\s\S]*?<\/svg>/g)!;
  assert.equal(svgs.length, 3);
  // well-formed XML: checked by a real XML parser (xmllint) when present, else by the DOMParser-free check below
  for (const svg of svgs) {
    const p = new Deno.Command("xmllint", { args: ["--noout", "-"], stdin: "piped", stderr: "piped" })
      .spawn();
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(svg));
    await w.close();
    const st = await p.output();
    assert.equal(st.code, 0, new TextDecoder().decode(st.stderr));
    assert.equal((svg.match(/<polyline/g) ?? []).length >= 4, true);
  }
  const term = metricsTermChart(c.rows, names);
  const perGpu = term.split(/\n(?=GPU \d)/);
  assert.equal(perGpu.length, 3);
  for (const block of perGpu) {
    for (const color of ["\x1b[31m", "\x1b[34m", "\x1b[32m", "\x1b[33m"]) {
      assert.ok(block.includes(color), JSON.stringify(color));
    }
    assert.match(block, /[┤┼]/);
    assert.match(block, /[╭╮╰╯─│]/);
    assert.match(block, /^ +100 +[┤┼]/m);
    assert.match(block, /temperature, °C/);
    assert.match(block, /power, % of 300 W/);
  }
  // deno-lint-ignore no-control-regex -- control characters are what is being removed
  const visible = term.replace(/\x1b\[[0-9;]*m/g, "").split("\n");
  assert.ok(visible.every((l) => [...l].length <= 80), visible.find((l) => [...l].length > 80) ?? "");
  assert.deepEqual(downsample([1, 3, null, null, 5, 7], 3), [3, null, 7]);
  // a spike or a dip in a bucket is what the bucket shows
  assert.deepEqual(downsample([50, 50, 100, 50, 50, 0, 50, 50], 2), [100, 0]);
  assert.deepEqual(fillGaps([null, 4, null, 6]), [4, 4, 4, 6]);
  // [N/A] samples in the middle of a series still chart
  const gaps = new MetricsCollector(metricsFields(""));
  for (const l of fixture("nvidia_smi_query/handmade-a6000x3-metrics.csv").split("\n")) gaps.push(l);
  assert.match(metricsTermChart(gaps.rows, names), /GPU 1/);
});

Deno.test("health: new double-bit ECC and remapped rows fail; identical snapshots pass", () => {
  const a = parseNvidiaSmiQ(fixture("nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt"));
  const b = parseNvidiaSmiQ(fixture("nvidia_smi/edited-a6000-first3-after-ecc.txt"));
  assert.equal(judgeHealth(a, a, [0, 1, 2]).status, "OK");
  const r = judgeHealth(a, b, [0, 1, 2]);
  assert.equal(r.status, "FAILED");
  assert.match(r.reason!, /GPU 1: 2 new uncorrectable/);
  assert.match(r.reason!, /GPU 1: 1 rows newly remapped/);
  assert.equal(judgeHealth(a, b, [0, 2]).status, "OK", "GPU 1 was not under test");
  const gone = { ...b, gpus: b.gpus.filter((g) => g.index !== 2) };
  assert.match(judgeHealth(a, gone, [2]).reason!, /missing after the stress/);
});

Deno.test("xid: only new lines count; any new XID fails, named with its meaning; the hardware list picks the action", () => {
  const before = fixture("dmesg/firecracker-devvm.txt");
  assert.equal(newLines(before, before), "");
  const x13 = parseXids(newLines(before, fixture("dmesg/edited-devvm-after-xid13.txt")));
  assert.deepEqual(x13.map((x) => [x.xid, x.pci]), [[13, "0000:4f:00"]]);
  const app = judgeXids(x13);
  assert.equal(app.status, "FAILED", "an acceptance test does not wave an XID through");
  assert.match(app.reason!, /13 \(graphics engine exception\) on 0000:4f:00/);
  assert.match(String(app.facts!["action"]), /^application\/driver XID/);
  const bad = judgeXids(parseXids(newLines(before, fixture("dmesg/edited-devvm-after-xid79.txt"))));
  assert.equal(bad.status, "FAILED");
  assert.match(bad.reason!, /79 \(GPU has fallen off the bus\) on 0000:52:00/);
  assert.match(String(bad.facts!["action"]), /^GPU hardware XID/);
  // the same Finding type and codes as the audit
  assert.deepEqual(bad.findings!.map((f) => `${f.severity} ${f.code} ${f.component}`), [
    "FAIL nvidia.xid_hardware nvidia:0000:52:00",
  ]);
  assert.deepEqual(app.findings!.map((f) => f.code), ["nvidia.xid"]);
  assert.equal(judgeXids([]).status, "OK");
  for (const x of [62, 63, 64, 92, 94, 95]) {
    const r = judgeXids([{ xid: x, pci: "0000:4f:00", text: `NVRM: Xid (PCI:0000:4f:00): ${x}, pid=1` }]);
    assert.match(String(r.facts!["action"]), /^GPU hardware XID/, `XID ${x}`);
  }
});

Deno.test("memtester: size from meminfo with the reserve, failure lines from real output", () => {
  const mi = parseMeminfo(fixture("procfs/qemu-devbox-meminfo.txt"));
  const free = mi["MemFree"]!, total = mi["MemTotal"]!;
  const want = Math.floor((free - Math.max(67584 * 1024 + 10 * 1048576, total * 0.0077)) / 1048576);
  assert.equal(memtesterSizeMb(mi, 67584), want);
  assert.equal(memtesterSizeMb({ MemFree: 1024, MemTotal: 2048 }, 67584), 0);
  const pass = parseMemtester(fixture("memtester/firecracker-devvm-16M-pass.txt"));
  assert.deepEqual(pass, { failures: [], locked: true, loopsDone: 1 });
  const fail = parseMemtester(fixture("memtester/edited-16M-fail.txt"));
  assert.equal(fail.failures.length, 2);
  assert.match(fail.failures[0]!, /^Compare MUL\s+: FAILURE: 0x4c0f5a9e12f3b5d1 != 0x4c0f5a9e12f3b5d9/);
});

Deno.test("storage: SMART reachability from real smartctl captures", () => {
  const vda = smartAccess(fixture("smartctl/firecracker-devvm-a-vda.json"), 1);
  assert.equal(vda.protocol, null);
  assert.match(vda.unsupported!, /Unable to detect device type/);
  const sda = smartAccess(fixture("smartctl/qemu-devbox-x-sda.json"), 4);
  assert.deepEqual(sda, {
    unsupported: null,
    protocol: "ata",
    passed: true,
    selfTest: true,
    pollingMinutes: 2,
  });
  const sas = smartAccess(fixture("smartctl/freebsd-sas-toshiba-al13sxb60en-a.json"), 0);
  assert.equal(sas.protocol, "scsi");
  assert.equal(smartAccess(fixture("smartctl/qemu-devbox-x-nvme0.json"), 0).protocol, "nvme");
  const failing = smartAccess(fixture("smartctl/edited-failing-ata-sda.json"), 88);
  assert.equal(failing.passed, false);
});

Deno.test("storage: self-test states (ATA running/passed/failed, SCSI, NVMe)", () => {
  const ata = JSON.parse(fixture("smartctl/qemu-devbox-x-sda.json"));
  assert.deepEqual(ataSelfTest(JSON.stringify(ata)), {
    running: false,
    passed: true,
    text: "completed without error",
  });
  ata.ata_smart_data.self_test.status = {
    value: 249,
    string: "in progress, 90% of test remaining",
    remaining_percent: 90,
  };
  assert.deepEqual(ataSelfTest(JSON.stringify(ata)), { running: true, remainingPct: 90 });
  ata.ata_smart_data.self_test.status = { value: 0, string: "completed without error", passed: true };
  ata.ata_smart_self_test_log.standard.table = [{
    type: { value: 1, string: "Short offline" },
    status: { value: 121, string: "Completed: read failure", remaining_percent: 10, passed: false },
    lifetime_hours: 3,
    lba: 1234,
  }];
  assert.deepEqual(ataSelfTest(JSON.stringify(ata)), {
    running: false,
    passed: false,
    text: "Short offline: Completed: read failure",
  });
  assert.deepEqual(
    scsiSelfTest(
      '{"scsi_self_test_0":{"code":{"value":1,"string":"Background short"},"result":{"value":15,"string":"Self test in progress"}}}',
    ),
    { running: true, remainingPct: null },
  );
  assert.equal(
    scsiSelfTest(
      '{"scsi_self_test_0":{"code":{"value":1,"string":"Background short"},"result":{"value":0,"string":"Completed"}}}',
    )!.running,
    false,
  );
  assert.deepEqual(
    nvmeSelfTest(
      '{"Current Device Self-Test Operation":1,"Current Device Self-Test Completion":40,"List of Valid Reports":[]}',
    ),
    { running: true, remainingPct: 60 },
  );
  assert.deepEqual(
    nvmeSelfTest(
      '{"Current Device Self-Test Operation":0,"Current Device Self-Test Completion":0,"List of Valid Reports":[{"Self test result":7,"Self test code":1,"Segment number":2}]}',
    ),
    { running: false, passed: false, text: "completed with one or more failed segments" },
  );
  assert.equal(nvmeSelfTest("not json"), null);
  assert.equal(
    nvmeSupportsSelfTest(fixture("nvme/qemu-devbox-id-ctrl-nvme0.json")),
    (JSON.parse(fixture("nvme/qemu-devbox-id-ctrl-nvme0.json")).oacs & 0x10) !== 0,
  );
});

Deno.test("nvidia options: durations, GPU lists and nvidia-smi's GPU list", () => {
  assert.equal(parseDuration("10m"), 600);
  assert.equal(parseDuration("24h"), 86400);
  assert.equal(parseDuration("60"), 60);
  assert.equal(parseDuration("0"), null);
  assert.equal(parseDuration("1d"), null);
  assert.deepEqual(parseGpuSelection("0,2,2"), [0, 2]);
  assert.equal(parseGpuSelection("0;2"), null);
  assert.deepEqual(
    parseGpuList(
      "0, NVIDIA H100 80GB HBM3, 81559, 00000000:1B:00.0\n1, NVIDIA H100 80GB HBM3, [N/A], 00000000:43:00.0\n",
    ),
    [
      { index: 0, name: "NVIDIA H100 80GB HBM3", memory_mib: 81559, pci_bus_id: "00000000:1B:00.0" },
      { index: 1, name: "NVIDIA H100 80GB HBM3", memory_mib: null, pci_bus_id: "00000000:43:00.0" },
    ],
  );
});

Deno.test("tar: written archives read back by our reader and by GNU tar, long names included", async () => {
  const src = Deno.makeTempDirSync();
  const long = "d".repeat(60) + "/" + "f".repeat(90) + ".txt";
  Deno.mkdirSync(`${src}/${long.split("/")[0]}`);
  Deno.writeTextFileSync(`${src}/${long}`, "long\n");
  const big = new Uint8Array(700_000).map((_, i) => (i * 7) % 251);
  Deno.writeFileSync(`${src}/big.bin`, big);
  Deno.writeTextFileSync(`${src}/summary.txt`, "overall_status=OK\n");
  const out = `${Deno.makeTempDirSync()}/bee-sat-test.tar.gz`;
  await writeTarGz(out, src, "bee-sat-test");
  const files = (await readAllTarGz(out))!;
  assert.deepEqual([...files.keys()].sort(), [
    "bee-sat-test/big.bin",
    `bee-sat-test/${long}`,
    "bee-sat-test/summary.txt",
  ]);
  assert.deepEqual(files.get("bee-sat-test/big.bin"), big);
  const gnu = new Deno.Command("tar", { args: ["-tzf", out] }).outputSync();
  assert.equal(gnu.code, 0);
  assert.ok(new TextDecoder().decode(gnu.stdout).includes(`bee-sat-test/${long}`));
  assert.equal(FIX.length > 0, true);
});

Deno.test("stress: a GPU whose checksum disagrees with its peers (identical inputs) fails, named", () => {
  const SUM = "00000000deadbeef0000000012345678";
  const withSums = (odd: Record<number, string>) =>
    stressLines().map((l) => {
      const o = JSON.parse(l);
      if (o.event === "result") o.checksum = odd[o.device] ?? SUM;
      return JSON.stringify(o);
    });
  assert.equal(judgeStress(judgeInput(withSums({}))).status, "OK", "peers that agree pass");
  // CUDA device 1 is physical GPU 2 (selected [0, 2, 5])
  const one = judgeStress(judgeInput(withSums({ 1: "ffffffffdeadbeef0000000012345678" })));
  assert.equal(one.status, "FAILED");
  assert.match(one.reason!, /GPU 2: fp16 result differs from its 2 NVIDIA RTX A6000 peers/);
  // no majority among two: both named
  const two = judgeInput(withSums({ 1: "ffffffffdeadbeef0000000012345678" }));
  two.state.results.forEach((r, k) => {
    if (r.device === 2) two.state.results.delete(k);
  });
  two.selected = [0, 2];
  const r2 = judgeStress(two);
  assert.match(r2.reason!, /GPUs 0, 2 \(NVIDIA RTX A6000\) disagree on the fp16 result/);
  // a malformed checksum is ignored, never compared
  assert.equal(judgeStress(judgeInput(withSums({ 1: "not-hex" }))).status, "OK");
});

Deno.test("sat: archives are named after the system serial; placeholders and no serial fall back to the hostname", () => {
  assert.equal(archiveTag("SYSSN-0001", "debian"), "SYSSN-0001");
  assert.equal(archiveTag("J9 X/4 ", "debian"), "J9_X_4");
  for (const p of [null, "", "0", "000000", "0123456789", "Default string", "System Serial Number"]) {
    assert.equal(archiveTag(p, "bee-live"), "bee-live", String(p));
  }
});

Deno.test("p2p judge: pairs are compared with their own kind (topo -m); NVLink without peer access fails", () => {
  const st = (pairs: [number, number, number, boolean][]) => {
    const s = { pairs: [], errors: [], end: null } as Parameters<typeof judgeP2p>[1];
    for (const [a, b, g, peer] of pairs) {
      foldP2pLine(
        s,
        JSON.stringify({ event: "p2p", src: a, dst: b, peer_access: peer, gbps: g, checksum_ok: true }),
      );
    }
    foldP2pLine(s, '{"event":"end","status":"ok","exit_code":0}');
    return s;
  };
  const ok = { kind: "exited", command: "bee-gpu-stress", durationMs: 1, code: 0, signal: null } as const;
  // GPUs 0,1 joined by NVLink (NV12), GPU 2 across the SMP link: slow SYS pairs are not measured against NV12
  const topo = [{ a: 0, b: 1, connection: "NV12" }, { a: 0, b: 2, connection: "SYS" }, {
    a: 1,
    b: 2,
    connection: "SYS",
  }];
  const all: [number, number, number, boolean][] = [
    [0, 1, 250, true],
    [1, 0, 251, true],
    [0, 2, 20, false],
    [2, 0, 21, false],
    [1, 2, 19, false],
    [2, 1, 20, false],
  ];
  assert.equal(judgeP2p(ok, st(all), [0, 1, 2], topo).status, "OK");
  const noPeer = all.map((p) => (p[0] === 0 && p[1] === 1 ? [0, 1, 24, false] : p)) as typeof all;
  const r = judgeP2p(ok, st(noPeer), [0, 1, 2], topo);
  assert.equal(r.status, "FAILED");
  assert.equal(r.reason, "GPU 0 → GPU 1: NV12 but no peer access");
  // a missing pair (the tool stopped early) is never OK
  assert.match(judgeP2p(ok, st(all.slice(0, 4)), [0, 1, 2], topo).reason!, /^4 of 6 pairs measured/);
});
