// Benchmark: the whole NVIDIA acceptance test on this machine at a short preset — every job, with the ISO's
// CUDA libraries (cuBLAS, cuBLASLt, cudart, NCCL from the ISO build cache) and the host's driver — then every
// figure against its reference, as a table. Needs an NVIDIA GPU.
//   deno task bench:gpu [seconds] [bee-gpu-stress dir]
// BEE_BENCH_LIB: folder of the ISO's CUDA libraries (default: the newest cuBLAS+NCCL part in
// ~/.cache/bee/iso). Exit: the SAT's (0 OK, 1 FAILED, 3 UNSUPPORTED).
import { readAllTarGz } from "../bee/lib/tar.ts";
import { parseSummary } from "../bee/sat/summary.ts";

const seconds = Deno.args[0] ?? "60";
const binDir = Deno.args[1] ?? "iso/gpu-stress";
const home = Deno.env.get("HOME") ?? "/root";

async function isoLibs(): Promise<string | null> {
  const given = Deno.env.get("BEE_BENCH_LIB");
  if (given) return given;
  const dir = `${home}/.cache/bee/iso`;
  const parts: { path: string; mtime: number }[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isDirectory || !/^cublas-.*\+nccl/.test(e.name)) continue;
      const st = await Deno.stat(`${dir}/${e.name}/lib`).catch(() => null);
      if (st) parts.push({ path: `${dir}/${e.name}/lib`, mtime: st.mtime?.getTime() ?? 0 });
    }
  } catch { /* no ISO build here */ }
  return parts.sort((a, b) => b.mtime - a.mtime)[0]?.path ?? null;
}

const lib = await isoLibs();
const out = await Deno.makeTempDir({ prefix: "bee-bench-gpu-" });
const env: Record<string, string> = {
  PATH: `${await Deno.realPath(binDir)}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
};
if (lib) {
  env.LD_LIBRARY_PATH = [lib, Deno.env.get("LD_LIBRARY_PATH")].filter(Boolean).join(":");
  env.BEE_NCCL_PATH = `${lib}/libnccl.so.2`;
}
console.log(
  `bench:gpu: bee sat nvidia --duration ${seconds}; libraries: ${lib ?? "the system's"}; archive in ${out}`,
);
const sat = await new Deno.Command("sh", {
  args: ["bin/bee", "sat", "nvidia", "--duration", seconds, "--out", out, "--lock", `${out}/sat.lock`],
  env,
  stdout: "piped",
  stderr: "inherit",
  // the SAT bounds every job itself; this bounds the whole run (stress + soak phases + bug report)
  signal: AbortSignal.timeout((Number(seconds) * 3 + 3600) * 1000),
}).output();
const last = new TextDecoder().decode(sat.stdout).trimEnd().split("\n").at(-1) ?? "";
const archive = last.match(/^archive: (\S+)$/)?.[1];
if (!archive) {
  console.error(`bench:gpu: no archive (${last.slice(0, 200)})`);
  Deno.exit(sat.code || 1);
}
const files = await readAllTarGz(archive);
const get = (suffix: string) => {
  for (const [k, v] of files ?? []) if (k.endsWith(suffix)) return new TextDecoder().decode(v);
  return null;
};
const s = parseSummary(get("/summary.txt") ?? "");
const names = Object.entries(s).filter(([k]) => /^gpu\d+_name$/.test(k)).map(([, v]) => v);
console.log(
  `card: ${[...new Set(names)].join(", ") || "?"} × ${names.length}; driver ${
    s["nvidia_smi_q_driver_version"] ?? "?"
  }`,
);
console.log("job             status       reason");
for (const job of (s["jobs"] ?? "").split(",").filter(Boolean)) {
  console.log(
    `${job.padEnd(15)} ${(s[`${job}_status`] ?? "?").padEnd(12)} ${(s[`${job}_reason`] ?? "").slice(0, 120)}`,
  );
}
const results = JSON.parse(get("/gpu-results.json") ?? '{"results":[]}').results as {
  gpu: number;
  model: string | null;
  figure: string;
  unit: string;
  value: number;
  reference: number | null;
  fail_below: number | null;
  verdict: string;
}[];
console.log("gpu  figure          value        expected   floor      ratio   verdict");
for (const r of results) {
  const ratio = r.reference ? `${(r.value / r.reference * 100).toFixed(1)}%` : "–";
  console.log(
    `${String(r.gpu).padEnd(4)} ${r.figure.padEnd(15)} ${`${r.value.toFixed(2)} ${r.unit}`.padEnd(12)} ${
      String(r.reference ?? "–").padEnd(10)
    } ${String(r.fail_below ?? "–").padEnd(10)} ${ratio.padEnd(7)} ${r.verdict}`,
  );
}
if (s["gpu_nccl_busbw_gbs"]) {
  console.log(
    `NCCL all-reduce bus bandwidth ${s["gpu_nccl_busbw_gbs"]} GB/s over ${s["gpu_nccl_gpus"]} GPUs (${
      s["gpu_nccl_reference"] ?? ""
    })`,
  );
}
console.log(`overall ${s["overall_status"] ?? "?"}; archive ${archive}`);
Deno.exit(sat.code);
