// Benchmark: requests/s and latency percentiles of `/` served by the real `bee web` process
// (launcher, web permission set) with the 8-GPU FAIL audit, 16 concurrent clients on 127.0.0.1.
import { startWeb } from "../testkit/helpers.ts";
import { eightGpuFailAudit } from "../testkit/web_fixtures.ts";

const dir = Deno.makeTempDirSync({ prefix: "bee-bench-web-" });
Deno.writeTextFileSync(`${dir}/audit.json`, JSON.stringify(eightGpuFailAudit()));
const web = await startWeb(`${dir}/audit.json`, `${dir}/sat`);
const total = 5000, clients = 16;
const lat: number[] = [];
let next = 0;
for (let i = 0; i < 200; i++) await (await fetch(`${web.base}/`)).text(); // warm-up
const t0 = performance.now();
await Promise.all(Array.from({ length: clients }, async () => {
  while (next++ < total) {
    const s = performance.now();
    const r = await fetch(`${web.base}/`);
    await r.text();
    if (r.status !== 200) throw new Error(`status ${r.status}`);
    lat.push(performance.now() - s);
  }
}));
const secs = (performance.now() - t0) / 1000;
await web.stop();
lat.sort((a, b) => a - b);
const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))]!.toFixed(2);
console.log(
  `GET / (8-GPU audit, ${clients} clients, ${lat.length} requests): ${
    (lat.length / secs).toFixed(0)
  } req/s, p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms`,
);
