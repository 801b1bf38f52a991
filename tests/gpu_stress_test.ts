// bee-gpu-stress (iso/gpu-stress): the PTX-only program built with the real nvcc, its argument and
// no-GPU paths (exit 2 with a clear message and a contract-conforming end line), and the peak table.
import assert from "node:assert/strict";
import { REPO } from "../testkit/helpers.ts";
import { foldStressLine, newStressState } from "../bee/sat/gpu_stress.ts";
import { peakRatio, peaksFor } from "../bee/sat/gpu_peaks.ts";

const dec = new TextDecoder();
const hasNvcc =
  new Deno.Command("sh", { args: ["-c", "command -v nvcc"], stdout: "null" }).outputSync().code === 0;
let built: string | null = null;

function build(): string {
  if (built) return built;
  const out = `${Deno.makeTempDirSync()}/bee-gpu-stress`;
  const r = new Deno.Command("make", {
    args: ["-s", "-C", `${REPO}/iso/gpu-stress`, `OUT=${out}`, "CUBLASLT_INCLUDE="],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  assert.equal(r.code, 0, dec.decode(r.stderr));
  assert.match(dec.decode(r.stdout), /building the ptx-only program for sm_75\/sm_80\/sm_86\/sm_89\/sm_90/);
  built = out;
  return out;
}

function run(args: string[], env: Record<string, string> = {}) {
  const r = new Deno.Command(build(), { args, env, stdout: "piped", stderr: "piped" }).outputSync();
  const state = newStressState();
  const lines = dec.decode(r.stdout).trim().split("\n");
  for (const l of lines) assert.notEqual(foldStressLine(state, l), null, `contract line: ${l}`);
  return { code: r.code, state, stderr: dec.decode(r.stderr), lines };
}

Deno.test({
  name: "bee-gpu-stress: nvcc builds the PTX-only fat binary (sm_75…sm_90 + PTX)",
  ignore: !hasNvcc,
  fn() {
    const bin = build();
    // cuobjdump lists what the fat binary holds (it ships with nvcc's toolkit when installed)
    const tool = ["/usr/local/cuda/bin/cuobjdump", "/usr/local/cuda-13.0/bin/cuobjdump", "cuobjdump"];
    for (const t of tool) {
      try {
        const r = new Deno.Command(t, {
          args: ["--list-elf", "--list-ptx", bin],
          stdout: "piped",
          stderr: "null",
        })
          .outputSync();
        const listing = dec.decode(r.stdout);
        for (const sm of ["sm_75", "sm_80", "sm_86", "sm_89", "sm_90"]) assert.match(listing, new RegExp(sm));
        assert.match(listing, /\.ptx/);
        return;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    assert.ok(Deno.statSync(bin).size > 100_000, "a fat binary, not an empty stub");
  },
});

Deno.test({
  name: "bee-gpu-stress: bad arguments exit 2 with an error and an end line",
  ignore: !hasNvcc,
  fn() {
    for (
      const args of [[], ["--seconds", "x"], ["--seconds", "10", "--dtypes", "fp64"], ["--bogus", "1"], [
        "--seconds",
      ]]
    ) {
      const r = run(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.equal(r.state.end?.status, "error");
      assert.equal(r.state.errors.length, 1);
      assert.match(r.stderr, /^bee-gpu-stress: /);
    }
    const help = new Deno.Command(build(), { args: ["--help"], stdout: "piped" }).outputSync();
    assert.equal(help.code, 0);
    assert.match(dec.decode(help.stdout), /usage: bee-gpu-stress --seconds N/);
  },
});

Deno.test({
  name: "bee-gpu-stress: without a GPU it cannot run: exit 2, says so, never a pass",
  ignore: !hasNvcc,
  fn() {
    const r = run(["--seconds", "5"], { BEE_GPU_STRESS_SIZE_MB: "1024" });
    assert.equal(r.code, 2);
    assert.match(r.state.errors[0]!, /no usable NVIDIA GPU: /);
    assert.equal(r.state.end?.status, "error");
    assert.equal(r.state.results.size, 0);
    // env defaults are honoured (seconds from the environment)
    assert.equal(
      run([], { BEE_GPU_STRESS_SECONDS: "5" }).state.errors[0]!.startsWith("no usable NVIDIA GPU"),
      true,
    );
  },
});

Deno.test({
  name: "bee-gpu-stress: --self-test checks FP4/UE4M3 encodings against cuda_fp4.h/cuda_fp8.h, no GPU needed",
  ignore: !hasNvcc,
  fn() {
    const r = new Deno.Command(build(), { args: ["--self-test"], stdout: "piped", stderr: "piped" })
      .outputSync();
    const lines = dec.decode(r.stdout).trim().split("\n");
    const last = JSON.parse(lines.at(-1)!);
    assert.equal(r.code, 0, dec.decode(r.stdout));
    assert.equal(last.event, "self_test");
    assert.equal(last.status, "ok");
    assert.equal(last.failed, 0);
    // nvcc 12.8+ ships cuda_fp4.h: then the decoding is compared with NVIDIA's own conversions
    const fp4Header = [
      "/usr/local/cuda/include/cuda_fp4.h",
      "/usr/local/cuda-13.0/targets/x86_64-linux/include/cuda_fp4.h",
    ].some((p) => {
      try {
        return Deno.statSync(p).isFile;
      } catch {
        return false;
      }
    });
    if (fp4Header) {
      assert.equal(last.fp4_header, true);
      assert.ok(last.checks > 90, `checks: ${last.checks}`);
    }
  },
});

Deno.test({
  name:
    "bee-gpu-stress: --self-test covers the HGX review's items (tolerances, burn chains, hang watch, sonames, T4, bus id)",
  ignore: !hasNvcc,
  fn() {
    // each check prints an error line naming itself when it fails; a passing run prints none — so every
    // named item is asserted by running the real program and finding no error for it and a clean count
    const r = new Deno.Command(build(), {
      args: ["--self-test"],
      stdout: "piped",
      stderr: "piped",
      env: { BEE_SELF_TEST_VERBOSE: "1" },
    }).outputSync();
    const out = dec.decode(r.stdout), err = dec.decode(r.stderr);
    assert.equal(r.code, 0, out);
    assert.doesNotMatch(out, /"event":"error"/);
    // the tolerance check ran for every format against emulated hardware rounding, with headroom
    for (const f of ["fp16", "bf16", "tf32", "fp8", "fp4"]) {
      const m = new RegExp(`^${f}: worst ([0-9.]+) of the tolerance$`, "m").exec(err);
      assert.ok(m, `${f} tolerance emulation ran: ${err}`);
      assert.ok(Number(m[1]) < 0.75, `${f}: an emulated healthy GPU uses ${m[1]} of its tolerance`);
    }
    const last = JSON.parse(out.trim().split("\n").at(-1)!);
    assert.ok(last.checks >= 60, `checks: ${last.checks}`);
  },
});

Deno.test({
  name: "bee-gpu-stress: one GPU listed twice in --devices is refused (two threads on one GPU)",
  ignore: !hasNvcc,
  fn() {
    const r = run(["--seconds", "1", "--devices", "0,1,0"]);
    assert.equal(r.code, 2);
    assert.match(r.state.errors[0]!, /--devices lists GPU 0 twice/);
    assert.equal(run(["--seconds", "1", "--stall-seconds", "0"]).code, 2);
    // no GPU: the CUDA error keeps CUDA's own words and name
    assert.match(run(["--seconds", "1"]).state.errors[0]!, /no usable NVIDIA GPU: .+ \(cuda[A-Za-z]+\)$/);
  },
});

Deno.test("bee-gpu-stress: every error path drains its streams before freeing what they use", () => {
  // freeing a buffer a queued kernel still writes is undefined behaviour on the error path; the cleanup
  // blocks are read from the source: the first synchronise must come before the first free
  for (const file of ["lt_run.cuh", "ptx.cuh"]) {
    const src = Deno.readTextFileSync(`${REPO}/iso/gpu-stress/${file}`);
    const cleanup = src.slice(src.lastIndexOf("\nfail:"));
    const sync = cleanup.indexOf("cudaStreamSynchronize"), free = cleanup.indexOf("cudaFree");
    assert.ok(sync > 0 && free > 0 && sync < free, `${file}: synchronise before free in its fail: block`);
    // and a hung GPU skips the cleanup altogether (it would block on the GPU that does not answer)
    assert.match(cleanup, /\nhung:\n\s+return -2;/);
  }
});

Deno.test({
  name: "bee-gpu-stress: fp4 is a known format (accepted, then no GPU: exit 2)",
  ignore: !hasNvcc,
  fn() {
    const r = run(["--seconds", "1", "--dtypes", "fp8,fp4"]);
    assert.equal(r.code, 2);
    assert.match(r.state.errors[0]!, /no usable NVIDIA GPU/);
    assert.match(run(["--seconds", "1", "--dtypes", "fp6"]).state.errors[0]!, /fp16,bf16,tf32,fp8,fp4,ptx/);
  },
});

// The full program needs cuBLASLt headers: CUBLASLT_INCLUDE, else what `sh tasks/cublaslt_headers.sh`
// (run by `tasks/setup.sh test` as root on Debian) extracted from Debian non-free nvidia-cuda-dev.
const ltCache = `${Deno.env.get("XDG_CACHE_HOME") || `${Deno.env.get("HOME")}/.cache`}/bee/cublaslt/include`;
const lt = Deno.env.get("CUBLASLT_INCLUDE") ||
  (() => {
    try {
      return Deno.statSync(`${ltCache}/cublasLt.h`).isFile ? ltCache : undefined;
    } catch {
      return undefined;
    }
  })();
Deno.test({
  name: "bee-gpu-stress: with CUBLASLT_INCLUDE the cuBLASLt program builds and degrades without libcublasLt",
  ignore: !hasNvcc || !lt,
  fn() {
    const out = `${Deno.makeTempDirSync()}/bee-gpu-stress`;
    const r = new Deno.Command("make", {
      args: ["-s", "-C", `${REPO}/iso/gpu-stress`, `OUT=${out}`, `CUBLASLT_INCLUDE=${lt}`],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    assert.equal(r.code, 0, dec.decode(r.stderr));
    assert.match(dec.decode(r.stdout), /building the cublaslt program/);
    assert.doesNotMatch(dec.decode(r.stderr), /warning/);
    const run = new Deno.Command(out, {
      args: ["--seconds", "1"],
      env: { LD_LIBRARY_PATH: "/nonexistent" },
      stderr: "piped",
      stdout: "piped",
    })
      .outputSync();
    assert.equal(run.code, 2);
    assert.match(
      dec.decode(run.stderr),
      /libcublasLt not found .*the ptx burn runs instead|no usable NVIDIA GPU/,
    );
    // the block-scaling constants bee defines match these headers where they know them (static_assert),
    // and the host-side checks pass in this build too
    const st = new Deno.Command(out, { args: ["--self-test"], stdout: "piped" }).outputSync();
    assert.equal(st.code, 0, dec.decode(st.stdout));
  },
});

Deno.test("gpu peaks: datasheet table by nvidia-smi model name", () => {
  assert.equal(peaksFor("NVIDIA H100 80GB HBM3")?.model, "H100 SXM");
  assert.equal(peaksFor("NVIDIA H100 PCIe")?.model, "H100 PCIe");
  assert.equal(peaksFor("NVIDIA H100 NVL")?.model, "H100 NVL");
  assert.equal(peaksFor("NVIDIA A100 80GB PCIe")?.model, "A100 PCIe");
  assert.equal(peaksFor("NVIDIA H200")?.bf16, 989);
  assert.equal(peaksFor("NVIDIA RTX A6000"), null);
  assert.equal(peakRatio("NVIDIA H100 80GB HBM3", "bf16", 798)?.toFixed(3), "0.807");
  assert.equal(peakRatio("NVIDIA A100-SXM4-80GB", "fp8", 100), null);
});

Deno.test("bench:gpu-stress prints TFLOPS and the datasheet ratio per format, and names fallbacks", () => {
  const dir = Deno.makeTempDirSync();
  const fake = `${dir}/bee-gpu-stress`;
  const lines = [
    { event: "start", device: 0, name: "NVIDIA H100 80GB HBM3", dtypes: ["bf16", "fp8"], path: "cublaslt" },
    {
      event: "result",
      device: 0,
      dtype: "bf16",
      requested: "bf16",
      path: "cublaslt",
      tflops: 798,
      mismatches: 0,
    },
    {
      event: "result",
      device: 0,
      dtype: "ptx",
      requested: "fp8",
      path: "ptx",
      tflops: 51.5,
      mismatches: 0,
      fallback: "cuBLASLt 12.4 offers no fp8 GEMM on this GPU",
    },
    { event: "end", status: "ok", exit_code: 0 },
  ];
  Deno.writeTextFileSync(
    fake,
    `#!/bin/sh\ncat <<'EOF'\n${lines.map((l) => JSON.stringify(l)).join("\n")}\nEOF\n`,
  );
  Deno.chmodSync(fake, 0o755);
  const r = new Deno.Command(`${REPO}/node_modules/.bin/deno`, {
    args: ["run", "--allow-all", `${REPO}/tasks/bench_gpu_stress.ts`, "5", fake],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).outputSync();
  const out = dec.decode(r.stdout);
  assert.equal(r.code, 0, out + dec.decode(r.stderr));
  assert.match(out, /^0 +NVIDIA H100 80GB HBM3 +bf16 +798\.0 +989\.4 +80\.7% {2}0$/m);
  assert.match(out, /^0 +NVIDIA H100 80GB HBM3 +fp8>ptx +51\.5 +– +– {2}0$/m);
  assert.match(out, /GPU 0 fp8: ptx burn ran instead \(cuBLASLt 12.4 offers no fp8 GEMM/);
});
