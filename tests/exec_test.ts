import assert from "node:assert/strict";
import { exec } from "../bee/lib/exec.ts";
import { atomicWrite } from "../bee/lib/atomic_write.ts";

Deno.test("exec: a missing tool is `missing`, never a throw", async () => {
  const r = await exec("bee-no-such-tool-xyz", [], { timeoutMs: 1000 });
  assert.equal(r.kind, "missing");
});

Deno.test("exec: output, exit code and LC_ALL=C", async () => {
  const r = await exec("sh", ["-c", 'echo "$LC_ALL"; echo err >&2; exit 3'], { timeoutMs: 5000 });
  assert.equal(r.kind, "exited");
  if (r.kind !== "exited") return;
  assert.equal(r.code, 3);
  assert.equal(r.stdout, "C\n");
  assert.equal(r.stderr, "err\n");
});

Deno.test("exec: a hang is killed at the timeout, with its grandchildren", async () => {
  const marker = `bee-exec-test-${crypto.randomUUID().slice(0, 8)}`;
  const t0 = performance.now();
  const r = await exec("sh", ["-c", `echo started; sleep 30 & sleep 31; echo ${marker}`], { timeoutMs: 500 });
  assert.equal(r.kind, "timeout");
  assert.ok(performance.now() - t0 < 5000);
  if (r.kind === "timeout") assert.equal(r.stdout, "started\n");
  await new Promise((res) => setTimeout(res, 200));
  const ps = new TextDecoder().decode(
    (await new Deno.Command("ps", { args: ["-eo", "args"], stdout: "piped" }).output()).stdout,
  );
  assert.ok(!ps.includes(marker), "a child of the timed-out command is still running");
});

Deno.test("exec: output beyond the cap is truncated, not buffered without bound", async () => {
  const r = await exec("sh", ["-c", "head -c 100000 /dev/zero"], { timeoutMs: 5000, maxBytes: 1000 });
  assert.equal(r.kind, "exited");
  if (r.kind === "exited") {
    assert.equal(r.stdout.length, 1000);
    assert.equal(r.truncated, true);
  }
});

Deno.test("atomicWrite: replaces the whole file and leaves no temp file; failure keeps the old content", async () => {
  const dir = Deno.makeTempDirSync();
  const p = `${dir}/a.json`;
  await atomicWrite(p, "old");
  await atomicWrite(p, "new content");
  assert.equal(Deno.readTextFileSync(p), "new content");
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.json"]);
  await assert.rejects(() => atomicWrite(`${dir}/missing/a.json`, "x"));
  Deno.mkdirSync(`${dir}/isdir`);
  await assert.rejects(() => atomicWrite(`${dir}/isdir`, "x"));
  assert.equal(Deno.readTextFileSync(p), "new content");
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a.json", "isdir"]);
});
