// GPU figures: the reference table (sourced rows, README agreement), judging against references and
// same-model peers, sustained power from metrics rows, and the --dry-run plan on a fake 2×H100 machine.
import assert from "node:assert/strict";
import {
  FIGURES,
  referenceFor,
  referenceModel,
  REFERENCES,
  referencesMarkdown,
} from "../bee/sat/nvidia/references.ts";
import { figureFacts, figureFindings, judgeFigures, type Measurement } from "../bee/sat/nvidia/figures.ts";
import { sustainedPower } from "../bee/sat/nvidia/measure.ts";
import { judgeNccl } from "../bee/sat/nvidia/nccl_job.ts";
import { foldToolLine, judgeMemtest, memtestLine } from "../bee/sat/nvidia/mem_jobs.ts";
import { renderGpuResults } from "../bee/web/sat_results.ts";
import type { MetricRow } from "../bee/sat/gpu_metrics.ts";
import { fakeBin, REPO, runBee, writeFakeTool } from "../testkit/helpers.ts";
import { fakeStress, NVIDIA_JOBS, nvidiaFakes } from "./sat_fakes.ts";

const H100 = "NVIDIA H100 80GB HBM3";
const m = (gpu: number, figure: Measurement["figure"], value: number, name = H100): Measurement => ({
  gpu,
  name,
  serial: `S${gpu}`,
  figure,
  value,
});

Deno.test("references: every model the issue names, every row sourced and ordered floor ≤ warn ≤ expected ≤ peak", () => {
  const models = [
    "A100 SXM",
    "A100 SXM 40GB",
    "A100 PCIe",
    "A100 PCIe 40GB",
    "H100 SXM",
    "H100 PCIe",
    "H100 NVL",
    "H200",
    "L40S",
    "B200",
  ];
  for (const model of models) {
    const rows = REFERENCES.filter((r) => r.model === model);
    for (const f of ["tflops_bf16", "hbm_tbs", "power_w"]) {
      assert.ok(rows.some((r) => r.figure === f), `${model} ${f}`);
    }
  }
  for (const r of REFERENCES) {
    assert.ok(FIGURES.includes(r.figure));
    assert.ok(r.source.length > 10, `${r.model} ${r.figure} has a source`);
    if (r.expected !== null) {
      assert.ok(r.floor! <= r.warn! && r.warn! <= r.expected, `${r.model} ${r.figure} gates in order`);
      if (r.peak !== null) assert.ok(r.expected <= r.peak, `${r.model} ${r.figure} expected ≤ peak`);
    }
  }
  // sourced absolute floors win over the margins: Azure's 460 GB/s NCCL gate, 48 GB/s host copies
  assert.equal(referenceFor(H100, "nccl_busbw_gbs")?.floor, 460);
  assert.equal(referenceFor("NVIDIA H200", "nccl_busbw_gbs")?.floor, 431);
  assert.equal(referenceFor(H100, "h2d_gbs")?.floor, 48);
  // names as nvidia-smi prints them
  assert.equal(referenceModel("NVIDIA H100 NVL"), "H100 NVL");
  assert.equal(referenceModel("NVIDIA H100 PCIe"), "H100 PCIe");
  assert.equal(referenceModel("NVIDIA A100-SXM4-80GB"), "A100 SXM");
  assert.equal(referenceModel("NVIDIA A100 80GB PCIe"), "A100 PCIe");
  // the 40 GB parts have 1.555 TB/s of HBM, not the 80 GB parts' 2.0: a healthy DGX A100 (1.28 TB/s
  // measured) judged against the 80 GB row would WARN as slow memory
  assert.equal(referenceModel("NVIDIA A100-SXM4-40GB"), "A100 SXM 40GB");
  assert.equal(referenceModel("NVIDIA A100-PCIE-40GB"), "A100 PCIe 40GB");
  assert.equal(referenceFor("NVIDIA A100-SXM4-40GB", "hbm_tbs")?.expected, 1.28);
  assert.ok(referenceFor("NVIDIA A100-SXM4-40GB", "hbm_tbs")!.warn! <= 1.28 * 0.95 + 1e-9);
  assert.ok(
    referenceFor("NVIDIA A100-SXM4-80GB", "hbm_tbs")!.warn! > 1.31,
    "an 80 GB part at 40 GB speed WARNs",
  );
  assert.equal(referenceFor("NVIDIA A100-SXM4-40GB", "p2p_gbs")?.expected, 254);
  assert.equal(referenceModel("NVIDIA H200"), "H200");
  assert.equal(referenceModel("NVIDIA B200"), "B200");
  assert.equal(referenceModel("NVIDIA L40S"), "L40S");
  assert.equal(referenceModel("NVIDIA RTX A6000"), null);
});

Deno.test("references: the README table is the rows (deno task references regenerates it)", () => {
  const readme = Deno.readTextFileSync(new URL("../README.md", import.meta.url));
  const a = readme.indexOf("<!-- references:begin -->"), b = readme.indexOf("<!-- references:end -->");
  assert.ok(a > 0 && b > a, "README has the references block");
  const cells = (line: string) =>
    line.trim().replace(/^\||\|$/g, "").split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
  const want = referencesMarkdown().split("\n").slice(2).map(cells);
  const got = readme.slice(a, b).split("\n").filter((l) => /^\| [A-Z]\d/.test(l)).map(cells);
  assert.deepEqual(got, want);
});

Deno.test("figures: against the reference — PASS, WARN under the expected figure, uncalibrated floor WARNs", () => {
  const r = judgeFigures([m(0, "tflops_bf16", 800), m(1, "tflops_bf16", 790)]);
  assert.deepEqual(r.map((x) => x.verdict), ["PASS", "PASS"]);
  assert.equal(r[0]!.reference, 795);
  assert.equal(r[0]!.peer_median, 795);
  // one GPU alone: 740 is under 755.25 (5 % under 795) → WARN; 600 under the floor 675.75, not calibrated → WARN
  const [w] = judgeFigures([m(0, "tflops_bf16", 740)]);
  assert.equal(w!.verdict, "WARN");
  assert.match(w!.why!, /740 TFLOPS under 755 TFLOPS \(expected 795 for H100 SXM\)/);
  const [f] = judgeFigures([m(0, "tflops_bf16", 600)]);
  assert.equal(f!.verdict, "WARN");
  assert.match(f!.why!, /under the floor 676 TFLOPS of H100 SXM \(floor not yet calibrated/);
  assert.deepEqual(figureFindings([f!]).map((x) => x.code), ["nvidia.figure_below_expected"]);
});

Deno.test("figures: an outlier among 8 same-model GPUs — 7.5 % under WARNs, 12.5 % under FAILs, named", () => {
  const eight = (
    last: number,
  ) => [...Array.from({ length: 7 }, (_, i) => m(i, "tflops_bf16", 800)), m(7, "tflops_bf16", last)];
  const warn = judgeFigures(eight(740));
  assert.deepEqual(warn.map((x) => x.verdict), [...Array(7).fill("PASS"), "WARN"]);
  assert.match(warn[7]!.why!, /7\.5 % under the median 800 TFLOPS of its 8 peers/);
  const fail = judgeFigures(eight(700));
  assert.equal(fail[7]!.verdict, "FAIL");
  const fs = figureFindings(fail);
  assert.deepEqual(fs.map((x) => [x.code, x.severity, x.component]), [
    ["nvidia.figure_below_expected", "WARN", "nvidia:GPU7 (serial S7)"],
    ["nvidia.peer_outlier_fail", "FAIL", "nvidia:GPU7 (serial S7)"],
  ]);
  assert.equal(figureFacts(fail)["tflops_bf16_verdict"], "FAIL");
  assert.equal(figureFacts(fail)["tflops_bf16_gpu7"], 700);
  // the peer margin is configurable: at 15 % the same GPU only WARNs
  assert.equal(judgeFigures(eight(700), 15)[7]!.verdict, "WARN");
  // peers are grouped by model: an L40S next to H100s is not their outlier
  const mixed = judgeFigures([
    m(0, "tflops_bf16", 800),
    m(1, "tflops_bf16", 800),
    m(2, "tflops_bf16", 260, "NVIDIA L40S"),
  ]);
  assert.deepEqual(mixed.map((x) => x.verdict), ["PASS", "PASS", "PASS"]);
  assert.equal(mixed[2]!.peers, 1);
});

Deno.test("figures: an unknown model is judged against its peers only and says so", () => {
  const r = judgeFigures([
    m(0, "tflops_fp16", 150, "NVIDIA RTX A6000"),
    m(1, "tflops_fp16", 151, "NVIDIA RTX A6000"),
  ]);
  assert.deepEqual(r.map((x) => x.verdict), ["PASS", "PASS"]);
  assert.equal(r[0]!.reference, null);
  assert.match(r[0]!.why!, /no reference for NVIDIA RTX A6000: judged against its peers in this run only/);
});

const row = (gpu: number, o: Partial<MetricRow> = {}): MetricRow => ({
  elapsed_s: 0,
  gpu,
  temperature_c: 60,
  utilization_pct: 100,
  power_w: 680,
  sm_clock_mhz: 1980,
  reasons_active: 0x4,
  hw_slowdown: false,
  hw_thermal_slowdown: false,
  hw_power_brake_slowdown: false,
  sw_thermal_slowdown: false,
  sw_power_cap: true,
  power_limit_w: 700,
  sm_clock_max_mhz: 1980,
  pcie_gen: 5,
  pcie_gen_max: 5,
  pcie_width: 16,
  pcie_width_max: 16,
  ...o,
});

Deno.test("power: sustained (median under load) against the enforced limit; never reached names what held it back", () => {
  const rows = [
    ...Array.from({ length: 40 }, () => row(0)),
    ...Array.from({ length: 40 }, () => row(1, { power_w: 600, reasons_active: 0x20 })),
    ...Array.from({ length: 40 }, () => row(2, { power_w: 450, reasons_active: 0x40 | 0x4 })),
    // too few samples under load: no figure (a short run has not warmed up)
    ...Array.from({ length: 29 }, () => row(3, { power_w: 100 })),
    ...Array.from({ length: 40 }, () => row(4, { power_w: 100, utilization_pct: 40 })),
  ];
  const p = sustainedPower(rows, null);
  assert.deepEqual(p.map((x) => [x.gpu, x.sustained_w, x.limit_w, x.reasons.join("+")]), [
    [0, 680, 700, "SW power cap"],
    [1, 600, 700, "SW thermal slowdown"],
    [2, 450, 700, "SW power cap+HW thermal slowdown"],
  ]);
  const judged = judgeFigures(p.map((x) => ({ ...m(x.gpu, "power_w", x.sustained_w), limit: x.limit_w })));
  // 680/700 PASS; 600 < 630 (90 %) WARN; 450 < 525 (75 %) FAIL — the floor is calibrated
  assert.deepEqual(judged.map((x) => x.verdict), ["PASS", "WARN", "FAIL"]);
  assert.match(judged[2]!.why!, /450 W under the floor 525 W of H100 SXM/);
  assert.deepEqual(figureFindings([judged[2]!]).map((x) => x.code), [
    "nvidia.figure_below_floor",
    "nvidia.peer_outlier_fail",
  ]);
});

Deno.test("sat nvidia --dry-run on a fake 2×H100 prints the jobs, durations, figures and H100 references with sources", async () => {
  const bin = fakeBin();
  writeFakeTool(bin, "nvidia-smi", [
    {
      args: "--query-gpu=index,name,memory.total,pci.bus_id --format=csv,noheader,nounits",
      text: `0, ${H100}, 81559, 00000000:18:00.0\n1, ${H100}, 81559, 00000000:2A:00.0\n`,
    },
  ]);
  const r = await runBee(["sat", "nvidia", "--dry-run", "--duration", "1h", "--out", "/nonexistent/never"], {
    path: bin,
  });
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, /GPUs 0,1 of 2, stress 3600 s \(--duration\)/);
  assert.match(out, /GPU 0,1: NVIDIA H100 80GB HBM3 → reference model H100 SXM/);
  for (const job of NVIDIA_JOBS) {
    assert.match(out, new RegExp(`\\d\\. ${job} +[\\d.]+ (s|min|h) `));
  }
  assert.match(out, /gpu_stress +1\.0 h/);
  assert.match(
    out,
    /tflops_bf16 .*\n.*H100 SXM: expected 795, WARN < 755\.25, .*peak 989\.4\) — NVIDIA datasheet/,
  );
  assert.match(out, /p2p_gbs .*\n.*H100 SXM: expected 380.*Azure ND H100 v5 P2P 335/);
  assert.match(out, /power_w .*\n.*the enforced power limit, datasheet 700 W; WARN < 90 %, FAIL < 75 %/);
  assert.match(out, /WARN > 5 % under their median, FAIL > 10 %/);
  assert.match(out, /gpu_memtest +\d+ min +memory patterns over ≥ 90 % of each GPU's free memory for 540 s/);
  assert.match(out, /hbm_tbs .*\n.*H100 SXM: expected 2\.97, WARN < 2\.822, .*\(peak 3\.35\)/);
  assert.match(out, /h2d_gbs .*\n.*H100 SXM: expected 51, WARN < 48\.45, .*Azure H100 health check 48/);
  assert.match(out, /gpu_pulse +\d+ min +load on 2 s \/ off 2 s on all GPUs together for 360 s/);
  assert.match(out, /p2p_bidir_gbs .*\n.*H100 SXM: expected 750, WARN < 712\.5, .*\(peak 900\)/);
  assert.doesNotMatch(out, /not measured yet/);
  // the NCCL rows hold for 8 GPUs: with two, reported and not judged
  assert.match(out, /nccl_busbw_gbs .*\n +2 GPUs selected: the references hold for 8; reported, not judged/);
  // nothing ran: no stress tool was asked, no archive folder made
  assert.doesNotMatch(
    Deno.readTextFileSync(`${bin}/nvidia-smi.calls`),
    /(^| )-q( |$)|--query-gpu=timestamp/m,
  );
  // a machine without nvidia-smi: one line, exit 3
  const none = await runBee(["sat", "nvidia", "--dry-run"], { path: fakeBin() });
  assert.equal(none.code, 3);
  assert.match(none.stdout, /^bee sat nvidia — nothing to plan: nvidia-smi not found/);
});

Deno.test("sat nvidia --dry-run on a fake 2×B200: a figure with only a datasheet peak is judged against peers and says so", async () => {
  const bin = fakeBin();
  writeFakeTool(bin, "nvidia-smi", [{
    args: "--query-gpu=index,name,memory.total,pci.bus_id --format=csv,noheader,nounits",
    text: "0, NVIDIA B200, 183359, 00000000:18:00.0\n1, NVIDIA B200, 183359, 00000000:2A:00.0\n",
  }]);
  const r = await runBee(["sat", "nvidia", "--dry-run", "--out", "/nonexistent/never"], { path: bin });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /p2p_gbs .*\n +GPU 0,1 B200: peak 900 GB\/s, no published measured figure — peers only — NVLink 5/,
  );
  assert.match(
    r.stdout,
    /h2d_gbs .*\n +GPU 0,1 B200: expected 51, .*the same PCIe Gen5 x16 host link as HGX H100/,
  );
  assert.match(r.stdout, /hbm_tbs .*\n +GPU 0,1 B200: expected 5\.4/);
});

Deno.test("nccl: 8 × H100 under the uncalibrated floor WARNs; over the reference PASSes; other counts unjudged", () => {
  const st = (busbw: number, errors = 0) => ({
    results: [8, 1024].map((m) => ({
      bytes: m * 2 ** 20,
      gpus: 8,
      busbw_gbs: busbw,
      algbw_gbs: busbw / 1.75,
      errors,
    })),
    errors: [],
    end: { status: errors ? "mismatches" : "ok", exit_code: errors ? 1 : 0 },
  });
  const ok = { kind: "exited" as const, command: "bee-gpu-stress", durationMs: 1, code: 0, signal: null };
  const good = judgeNccl(ok, st(482), H100, 8);
  assert.equal(good.status, "OK");
  assert.equal(good.facts!["verdict"], "PASS");
  assert.match(String(good.facts!["reference"]), /^H100 SXM, 8 GPUs: nccl-tests #212/);
  const low = judgeNccl(ok, st(400), H100, 8);
  assert.equal(low.status, "OK");
  assert.equal(low.facts!["verdict"], "WARN");
  assert.deepEqual(low.findings!.map((f) => f.code), ["nvidia.figure_below_expected"]);
  assert.match(
    low.findings![0]!.message,
    /400\.0 GB\/s bus bandwidth at 1024 MiB over 8 GPUs, under the floor 460/,
  );
  const four = judgeNccl(ok, st(200), H100, 4);
  assert.equal(four.facts!["verdict"], "no reference");
  const wrong = judgeNccl({ ...ok, code: 1 }, st(480, 3), H100, 8);
  assert.equal(wrong.status, "FAILED");
  assert.match(wrong.reason!, /all-reduce of 8 MiB: 3 elements wrong/);
});

Deno.test("web: gpu-results.json from an archive is schema-checked and escaped", () => {
  const row = {
    gpu: 0,
    serial: "<script>alert(1)</script>",
    model: "H100 SXM",
    figure: "hbm_tbs",
    unit: "TB/s",
    value: 2.9,
    reference: 2.97,
    warn_below: 2.822,
    fail_below: 2.525,
    source: "a & b",
    peer_median: null,
    peers: 1,
    verdict: "PASS",
    why: null,
  };
  const ok = renderGpuResults(
    "bee-sat-nvidia-x.tar.gz",
    new TextEncoder().encode(JSON.stringify({ results: [row] })),
  );
  assert.equal(ok.ok, true);
  assert.doesNotMatch(ok.html, /<script>/);
  assert.match(ok.html, /&#60;script&#62;alert\(1\)&#60;\/script&#62;/);
  assert.match(ok.html, /a &#38; b/);
  for (const bad of ["not json", JSON.stringify({ results: [{ ...row, verdict: "MAYBE" }] })]) {
    const r = renderGpuResults("x", new TextEncoder().encode(bad));
    assert.equal(r.ok, false);
    assert.match(r.html, /gpu-results\.json does not parse/);
  }
});

Deno.test("bench:gpu runs the real SAT flow and prints every job and figure against its reference", () => {
  const bin = fakeBin();
  nvidiaFakes(bin);
  fakeStress(bin, "clean");
  const home = Deno.makeTempDirSync();
  const r = new Deno.Command(`${REPO}/node_modules/.bin/deno`, {
    args: ["run", "--allow-all", `${REPO}/tasks/bench_gpu.ts`, "2", bin],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", HOME: home, PATH: `${bin}:${Deno.env.get("PATH")}` },
  }).outputSync();
  const out = new TextDecoder().decode(r.stdout);
  assert.equal(r.code, 0, out + new TextDecoder().decode(r.stderr));
  assert.match(out, /libraries: the system's/);
  assert.match(out, /^card: NVIDIA RTX A6000 × 3; driver 550\.127\.05$/m);
  assert.match(out, /^gpu_nccl +OK/m);
  assert.match(out, /^gpu_pulse +OK/m);
  assert.match(out, /^1 +tflops_bf16 +151\.25 TFLOPS +– +– +– +PASS$/m);
  assert.match(out, /^NCCL all-reduce bus bandwidth 18\.93 GB\/s over 3 GPUs/m);
  assert.match(out, /^overall OK; archive \S+bee-sat-nvidia-/m);
});

Deno.test("memtest: under 90 % of the free memory covered fails; a GPU without a result fails; clean passes", () => {
  const ok = { kind: "exited" as const, command: "bee-gpu-stress", durationMs: 1, code: 0, signal: null };
  const gpu = (device: number, coverage: number) => ({
    device,
    pci_bus_id: `00000000:${18 + device}:00.0`,
    bytes: 70e9,
    free_bytes: 79e9,
    coverage,
    passes: 8,
    errors: 0,
    first_error_offset: -1,
    last_error_offset: -1,
    seconds: 60,
  });
  const end = { status: "ok", exit_code: 0 };
  assert.equal(
    judgeMemtest(ok, { results: [gpu(0, 0.92), gpu(1, 0.91)], errors: [], end }, [0, 1], null).status,
    "OK",
  );
  const low = judgeMemtest(ok, { results: [gpu(0, 0.92), gpu(1, 0.7)], errors: [], end }, [0, 1], null);
  assert.equal(low.status, "FAILED");
  assert.match(low.reason!, /GPU 1 \(bus 00000000:19:00\.0\): tested 70 % of its free memory, under 90 %/);
  const lost = judgeMemtest(ok, { results: [gpu(0, 0.92)], errors: [], end }, [0, 1], null);
  assert.match(lost.reason!, /GPU 1: no memory test result/);
});

Deno.test("bad tool output: a memtest or NCCL line missing its counts fails, never reads as clean", () => {
  const ok = { kind: "exited" as const, command: "bee-gpu-stress", durationMs: 1, code: 0, signal: null };
  const end = { status: "ok", exit_code: 0 };
  const s = { results: [] as ReturnType<typeof memtestLine>[], errors: [] as string[], end: null };
  // a truncated run: a result line without its error count, then no end line
  foldToolLine(
    s,
    '{"event":"memtest_result","device":0,"bytes":1000,"coverage":0.92}',
    "memtest_result",
    memtestLine,
  );
  foldToolLine(s, '{"event":"memtest_result","device":1,"byt', "memtest_result", memtestLine);
  foldToolLine(s, "not json at all", "memtest_result", memtestLine);
  const m = judgeMemtest(ok, s, [0, 1], null);
  assert.equal(m.status, "FAILED");
  assert.match(m.reason!, /exited 0 without an end line/);
  assert.match(m.reason!, /GPU 0: memory test result without its error count/);
  assert.match(m.reason!, /GPU 1: no memory test result/);
  const n = judgeNccl(
    ok,
    {
      results: [{ bytes: 2 ** 30, gpus: 8, busbw_gbs: NaN, algbw_gbs: NaN, errors: 0 }],
      errors: [],
      end,
    },
    H100,
    8,
  );
  assert.equal(n.status, "FAILED");
  assert.match(n.reason!, /1 all-reduce line\(s\) without bytes, bandwidth or error count/);
});
