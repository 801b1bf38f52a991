// Issue 25 in CI: `deno task iso:verify-reproducible` — two builds of this commit, the second with an empty
// live-build package and bootstrap cache of its own, must give one sha256 (else it prints what differs, by path).
// Both builds reuse the NVIDIA parts and the bee bundle of the shared build cache (keyed by their inputs).
import assert from "node:assert/strict";
import { runProc } from "../../bee/lib/proc.ts";

const repo = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const logs = await Deno.makeTempDir({ prefix: "bee-repro-e2e-" });

Deno.test({
  name: "iso: two builds of one commit give the same sha256",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const t = performance.now();
  const r = await runProc(`${repo}/node_modules/.bin/deno`, ["task", "iso:verify-reproducible"], {
    timeoutMs: 90 * 60_000,
    stdoutPath: `${logs}/repro.out`,
    stderrPath: `${logs}/repro.err`,
  });
  const err = await Deno.readTextFile(`${logs}/repro.err`).catch(() => "");
  const out = await Deno.readTextFile(`${logs}/repro.out`).catch(() => "");
  console.error(err.split("\n").filter((l) => l.startsWith("[repro]")).join("\n"));
  assert.equal(r.kind === "exited" && r.code, 0, `not reproducible:\n${out.slice(0, 4000)}`);
  assert.match(out.trim(), /^[0-9a-f]{64}$/m);
  console.error(`[repro-e2e] both builds ${out.trim()} in ${((performance.now() - t) / 1000).toFixed(0)} s`);
});
