// Benchmark: what leaving the machine costs — the web's /bundle.tar streamed by the real `bee web` process,
// and `bee export --to` into a tmpfs folder, for an audit plus 4 × 256 MB SAT archives (random bytes).
import { fakeBin, runBee, startWeb } from "../testkit/helpers.ts";
import { eightGpuFailAudit } from "../testkit/web_fixtures.ts";

const dir = Deno.makeTempDirSync({ prefix: "bee-bench-export-" });
Deno.writeTextFileSync(`${dir}/audit.json`, JSON.stringify(eightGpuFailAudit()));
Deno.mkdirSync(`${dir}/sat`);
const chunk = new Uint8Array(1 << 20);
for (let k = 0; k < 4; k++) {
  const f = Deno.openSync(`${dir}/sat/bee-sat-nvidia-SN-BENCH-2026113${k}T000000Z.tar.gz`, {
    write: true,
    create: true,
  });
  for (let i = 0; i < 256; i++) {
    for (let j = 0; j < chunk.length; j += 65536) crypto.getRandomValues(chunk.subarray(j, j + 65536));
    f.writeSync(chunk);
  }
  f.close();
}
const total = [...Deno.readDirSync(`${dir}/sat`)].reduce(
  (n, e) => n + Deno.statSync(`${dir}/sat/${e.name}`).size,
  0,
);
const web = await startWeb(`${dir}/audit.json`, `${dir}/sat`);
try {
  const t0 = performance.now();
  const r = await fetch(`${web.base}/bundle.tar`);
  let got = 0;
  for await (const c of r.body!) got += c.length;
  const s = (performance.now() - t0) / 1000;
  console.log(
    `GET /bundle.tar: ${(got / 1e6).toFixed(0)} MB in ${s.toFixed(2)} s = ${
      (got / 1e6 / s).toFixed(0)
    } MB/s ` +
      `(declared ${r.headers.get("content-length")} bytes, received ${got})`,
  );
} finally {
  await web.stop();
}
const mnt = Deno.makeTempDirSync({ prefix: "bee-bench-export-to-" });
const m = await new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", "size=2g", "tmpfs", mnt] }).output();
const to = m.code === 0 ? mnt : Deno.makeTempDirSync();
try {
  const t0 = performance.now();
  const bin = fakeBin();
  for (const t of ["df", "sync"]) Deno.symlinkSync(`/usr/bin/${t}`, `${bin}/${t}`);
  const r = await runBee(["export", "--to", to, "--audit", `${dir}/audit.json`, "--sat-dir", `${dir}/sat`], {
    path: bin,
  });
  const s = (performance.now() - t0) / 1000;
  if (r.code !== 0) throw new Error(r.stderr);
  console.log(
    `bee export --to (${m.code === 0 ? "tmpfs" : "disk"}): ${(total / 1e6).toFixed(0)} MB + audit in ${
      s.toFixed(2)
    } s = ${(total / 1e6 / s).toFixed(0)} MB/s incl. sha256, fsync and deno start`,
  );
} finally {
  if (m.code === 0) await new Deno.Command("umount", { args: [mnt] }).output();
  await Deno.remove(dir, { recursive: true });
}
