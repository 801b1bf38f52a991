// Benchmark: `bee audit` wall time when every external command takes 1 s (fake tools that sleep,
// then print the qemu-devbox captures). Collectors run concurrently, so the wall time should be
// close to the slowest collector's chain, far below the sum of all command times.
import {
  fakeBin,
  manyDisksLsblk,
  qemuDevboxRoot,
  qemuDevboxTools,
  runBee,
  writeFakeTool,
} from "../testkit/helpers.ts";
import { Audit } from "../bee/model/schema.ts";
import { PER_TOOL_CONCURRENCY } from "../bee/lib/machine.ts";

const bin = fakeBin();
qemuDevboxTools(bin);
// wrap every fake: sleep 1 s first
for (const e of Deno.readDirSync(bin)) {
  if (!e.isFile || e.name.endsWith(".calls")) continue;
  const p = `${bin}/${e.name}`;
  Deno.writeTextFileSync(p, Deno.readTextFileSync(p).replace("#!/bin/sh\n", "#!/bin/sh\n/bin/sleep 1\n"));
}
writeFakeTool(bin, "nvidia-smi", [{
  args: "-q",
  sleep: 1,
  file: "nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt",
}]);
const out = `${Deno.makeTempDirSync()}/audit.json`;
const runs: number[] = [];
let audit: Audit | null = null;
for (let i = 0; i < 3; i++) {
  const r = await runBee(["audit", "--root", qemuDevboxRoot(), "--output", out, "--no-qr"], { path: bin });
  if (r.code !== 0) throw new Error(r.stderr);
  runs.push(r.ms);
  audit = Audit.parse(JSON.parse(Deno.readTextFileSync(out)));
}
const commands = audit!.collectors.flatMap((c) => c.commands);
const sum = commands.reduce((s, c) => s + c.duration_ms, 0);
const slowest = Math.max(...audit!.collectors.map((c) => c.duration_ms));
console.log(`fake tools: ${commands.length} commands, each sleeping 1 s`);
console.log(`sum of command times        : ${(sum / 1000).toFixed(2)} s`);
console.log(`slowest collector           : ${(slowest / 1000).toFixed(2)} s`);
console.log(`audit duration (in the JSON): ${(audit!.host.duration_ms / 1000).toFixed(2)} s`);
console.log(
  `wall time incl. deno start  : ${runs.map((ms) => (ms / 1000).toFixed(2)).join(" s, ")} s (3 runs)`,
);

// ---- many disks: N fake disks, smartctl taking T s each; at most PER_TOOL_CONCURRENCY run at once ----

const disks = Number(Deno.env.get("BENCH_DISKS") ?? 1000);
const toolS = Number(Deno.env.get("BENCH_TOOL_S") ?? 0.2);
const manyBin = fakeBin();
const dir = Deno.makeTempDirSync();
Deno.writeTextFileSync(`${dir}/lsblk.json`, manyDisksLsblk(disks));
qemuDevboxTools(manyBin, {
  lsblk: [{ args: "*", script: `/bin/cat ${dir}/lsblk.json` }],
  smartctl: [{ args: "*", sleep: toolS, file: "smartctl/qemu-devbox-a-sda.json" }],
});
const manyOut = `${Deno.makeTempDirSync()}/audit.json`;
const m = await runBee([
  "audit",
  "--root",
  qemuDevboxRoot(),
  "--output",
  manyOut,
  "--no-qr",
  "--timeout",
  "30",
], {
  path: manyBin,
});
if (m.code !== 0) throw new Error(m.stderr);
const many = Audit.parse(JSON.parse(Deno.readTextFileSync(manyOut)));
const st = many.collectors.find((c) => c.name === "storage")!;
const timeouts = st.commands.filter((c) => c.outcome === "timeout").length;
const ideal = Math.ceil(disks / PER_TOOL_CONCURRENCY) * toolS;
console.log(`\n${disks} disks, smartctl ${toolS} s each, ${PER_TOOL_CONCURRENCY} at a time:`);
console.log(`disks in the audit          : ${many.hardware.storage?.disks.length ?? 0}`);
console.log(`false timeouts              : ${timeouts}`);
console.log(`storage collector           : ${(st.duration_ms / 1000).toFixed(1)} s`);
console.log(`⌈N / concurrency⌉ × tool time: ${ideal.toFixed(1)} s`);
console.log(`wall time incl. deno start  : ${(m.ms / 1000).toFixed(1)} s`);
