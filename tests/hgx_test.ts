// The HGX review's judging side, on contract lines: the cross-GPU checksum compares only like with like
// (algorithm, SM count), a hung GPU is named, peer access that could not be enabled fails its pair, error 802
// ("system not yet initialized") and NVSwitches without Fabric Manager make the CUDA jobs UNSUPPORTED, and
// the reference-check figures reach the facts.
import assert from "node:assert/strict";
import { foldStressLine, judgeStress, newStressState, type StressJudgeInput } from "../bee/sat/gpu_stress.ts";
import { foldP2pLine, judgeP2p, type P2pState } from "../bee/sat/gpu_p2p.ts";
import {
  countNvswitches,
  cudaNotInitialised,
  fabricBlocker,
  fabricNotReady,
} from "../bee/sat/nvidia/fabric.ts";
import { parseNvidiaSmiQ } from "../bee/parsers/nvidia_smi.ts";
import { fixture } from "../testkit/helpers.ts";

const H100 = "NVIDIA H100 80GB HBM3";
const SUM = "00000000deadbeef0000000012345678";
const ODD = "ffffffffdeadbeef0000000012345678";

/** Four H100s: start and result lines (bf16), each GPU with its own SM count, algorithm and checksum. */
function lines(gpus: { sms?: number; algo?: string; sum?: string }[], end = true): string[] {
  const out: string[] = [];
  gpus.forEach((g, d) =>
    out.push(JSON.stringify({
      event: "start",
      device: d,
      name: H100,
      pci_bus_id: `00000000:${(0x18 + d).toString(16).toUpperCase()}:00.0`,
      compute_capability: "9.0",
      sms: g.sms ?? 132,
      dtypes: ["bf16"],
      path: "cublaslt",
      cublaslt_version: "12.4.5",
    }))
  );
  gpus.forEach((g, d) =>
    out.push(JSON.stringify({
      event: "result",
      device: d,
      dtype: "bf16",
      requested: "bf16",
      path: "cublaslt",
      tflops: 700,
      iterations: 100,
      mismatches: 0,
      checksum: g.sum ?? SUM,
      algo: g.algo ?? "c0/id21/tile15/st33/sk1/red0/sw0/opt0",
      ref_elements: 67108864,
      ref_mismatches: 0,
      ref_max_ratio: 0.0123,
      fallback: null,
    }))
  );
  if (end) {
    out.push(JSON.stringify({ event: "end", status: "ok", exit_code: 0, mismatches: 0, errors: 0, hung: 0 }));
  }
  return out;
}

function input(ls: string[], proc: Partial<StressJudgeInput["proc"]> = {}): StressJudgeInput {
  const state = newStressState();
  for (const l of ls) assert.notEqual(foldStressLine(state, l), null, l);
  return {
    proc: {
      kind: "exited",
      command: "bee-gpu-stress",
      durationMs: 1,
      code: 0,
      signal: null,
      ...proc,
    } as StressJudgeInput[
      "proc"
    ],
    state,
    selected: [0, 1, 2, 3],
    hwSlowdown: new Map(),
    overTemp: new Map(),
    metricSamples: 10,
  };
}

Deno.test("HGX: a GPU that ran another cuBLASLt algorithm or has fewer SMs is not the odd one out", () => {
  const same = judgeStress(input(lines([{}, {}, {}, {}])));
  assert.equal(same.status, "OK", same.reason ?? "");
  assert.equal(same.facts?.["gpu0_bf16_algo"], "c0/id21/tile15/st33/sk1/red0/sw0/opt0");
  assert.equal(same.facts?.["gpu0_sms"], 132);
  assert.equal(same.facts?.["gpu3_bf16_ref_elements"], 67108864);
  assert.equal(same.facts?.["gpu3_bf16_ref_max_ratio"], 0.012);
  // GPU 3 took the heuristic's second candidate: its last bits differ, legitimately — not compared
  const other = lines([{}, {}, {}, { algo: "c1/id21/tile18/st33/sk1/red0/sw0/opt0", sum: ODD }]);
  assert.equal(judgeStress(input(other)).status, "OK");
  // a partitioned part (fewer SMs) neither
  assert.equal(judgeStress(input(lines([{}, {}, {}, { sms: 114, sum: ODD }]))).status, "OK");
  // the same algorithm and SM count with another checksum is a fault, named
  const bad = judgeStress(input(lines([{}, {}, {}, { sum: ODD }])));
  assert.equal(bad.status, "FAILED");
  assert.match(bad.reason!, /GPU 3: bf16 result differs from its 3 NVIDIA H100 80GB HBM3 peers/);
});

Deno.test("HGX: a hung GPU is named by its error line, the others keep their results", () => {
  const ls = lines([{}, {}, {}, {}], false).filter((l) => !l.includes('"device":2,"dtype"'));
  ls.push(JSON.stringify({
    event: "error",
    device: 2,
    message: "GPU 2 hung: no progress for 60 s (GEMM batch); not waited for",
  }));
  ls.push(JSON.stringify({ event: "end", status: "error", exit_code: 1, mismatches: 0, errors: 0, hung: 1 }));
  const r = judgeStress(input(ls, { code: 1 }));
  assert.equal(r.status, "FAILED");
  assert.match(r.reason!, /GPU 2: GPU 2 hung: no progress for 60 s \(GEMM batch\)/);
  assert.match(r.reason!, /no result for GPU 2/);
  assert.doesNotMatch(r.reason!, /no result for GPU [013]/);
  assert.equal(r.facts?.["gpu1_bf16_tflops"], 700);
});

Deno.test("HGX: error 802 (fabric not initialised) makes the CUDA jobs UNSUPPORTED, not FAILED GPUs", () => {
  const err = [
    JSON.stringify({
      event: "error",
      device: null,
      message: "no usable NVIDIA GPU: system not yet initialized (cudaErrorSystemNotReady)",
    }),
    JSON.stringify({ event: "end", status: "error", exit_code: 2 }),
  ];
  const r = judgeStress(input(err, { code: 2 }));
  assert.equal(r.status, "UNSUPPORTED");
  assert.match(r.reason!, /not yet initialised .*Fabric Manager has not set up the fabric/);
  // any other reason to exit 2 is still a failure
  const other = judgeStress(
    input(
      [err[0]!.replace("system not yet initialized (cudaErrorSystemNotReady)", "out of memory"), err[1]!],
      { code: 2 },
    ),
  );
  assert.equal(other.status, "FAILED");
  const p: P2pState = { pairs: [], errors: [], end: null };
  for (const l of err) foldP2pLine(p, l);
  const ok = { kind: "exited", command: "bee-gpu-stress", durationMs: 1, code: 2, signal: null } as const;
  assert.equal(judgeP2p(ok, p, [0, 1], []).status, "UNSUPPORTED");
  assert.equal(cudaNotInitialised(["out of memory"]), null);
});

Deno.test("HGX: peer access the driver offers but that could not be enabled fails the pair, named", () => {
  const s: P2pState = { pairs: [], errors: [], end: null };
  const pair = (a: number, b: number, enabled: boolean) =>
    JSON.stringify({
      event: "p2p",
      src: a,
      dst: b,
      peer_capable: true,
      peer_access: enabled,
      gbps: enabled ? 380 : 24,
      bytes: 268435456,
      iterations: 40,
      checksum_ok: true,
    });
  for (const l of [pair(0, 1, true), pair(1, 0, false)]) foldP2pLine(s, l);
  foldP2pLine(
    s,
    JSON.stringify({
      event: "error",
      device: 1,
      message:
        "GPU 1 -> GPU 0: enabling peer access: peer mapping resources exhausted (cudaErrorTooManyPeers)",
    }),
  );
  foldP2pLine(s, '{"event":"end","status":"error","exit_code":1,"mismatches":0,"errors":1}');
  const ok = { kind: "exited", command: "bee-gpu-stress", durationMs: 1, code: 1, signal: null } as const;
  const r = judgeP2p(ok, s, [0, 1], [{ a: 0, b: 1, connection: "NV18" }]);
  assert.equal(r.status, "FAILED");
  assert.match(r.reason!, /GPU 1 → GPU 0: peer access offered but could not be enabled/);
  // an older tool's line (peer_access = the capability query) still reads as before
  const old: P2pState = { pairs: [], errors: [], end: null };
  foldP2pLine(old, '{"event":"p2p","src":0,"dst":1,"peer_access":true,"gbps":380,"checksum_ok":true}');
  assert.equal(old.pairs[0]!.peer_capable, true);
});

Deno.test("HGX: NVSwitches on the bus without Fabric Manager, or a fabric still registering, block the CUDA jobs", () => {
  // `lspci -n -d 10de:` of an HGX H100 baseboard: GPUs (0302) and NVSwitches (0680), with and without domain
  const lspci = [
    "0000:18:00.0 0302: 10de:2330 (rev a1)",
    "0000:2a:00.0 0302: 10de:2330 (rev a1)",
    "0000:05:00.0 0680: 10de:22a3 (rev a1)",
    "06:00.0 0680: 10de:22a3 (rev a1)",
    "0000:07:00.0 0680: 10de:22a3 (rev a1)",
    "0000:08:00.0 0680: 10de:22a3 (rev a1)",
  ].join("\n");
  assert.equal(countNvswitches(lspci), 4);
  assert.equal(countNvswitches("0000:17:00.0 0302: 10de:2330 (rev a1)\n"), 0);
  assert.equal(fabricBlocker({ switches: 0, fmRunning: false, bootState: null }), null);
  assert.equal(fabricBlocker({ switches: 4, fmRunning: true, bootState: null }), null);
  assert.match(
    fabricBlocker({
      switches: 4,
      fmRunning: false,
      bootState: "absent: 4 NVSwitch(es), but this image carries no Fabric Manager",
    })!,
    /^4 NVSwitch\(es\) on the PCI bus and Fabric Manager is not running \(at boot: absent: .*\): CUDA cannot start/,
  );
  // nvidia-smi -q Fabric State: the real A6000 capture says N/A (no fabric), which blocks nothing
  const q = parseNvidiaSmiQ(fixture("nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt"));
  assert.equal(fabricNotReady(q.gpus, [0, 1, 2]), null);
  const waiting = q.gpus.map((g, i) => ({ ...g, fabric_state: i === 1 ? "In Progress" : "Completed" }));
  assert.match(
    fabricNotReady(waiting, [0, 1, 2])!,
    /^NVSwitch fabric not ready on GPU 1 \(state In Progress\)/,
  );
  assert.equal(fabricNotReady(waiting, [0, 2]), null, "only the selected GPUs count");
});
