// Issue 22, case 5: the one-SAT-at-a-time lock. On 2215f58 a lock that existed but was still empty counted
// as stale, so two SATs that both found a stale lock could both "take" it (the slower deleting the lock the
// other had just written), and a lock naming a live PID that was not a bee SAT (PID reuse after a crash)
// refused SATs forever.
import assert from "node:assert/strict";
import { runningSat, takeSatLock } from "../bee/sat/runner.ts";
import { REPO } from "../testkit/helpers.ts";

const dec = new TextDecoder();

Deno.test("22.5: eight SATs racing for a stale lock: exactly one takes it, the others name it", async () => {
  for (let round = 0; round < 3; round++) {
    const lock = `${Deno.makeTempDirSync()}/sat.lock`;
    // stale: a process that is gone (pid 2^22-1 is above pid_max on this kernel's default)
    Deno.writeTextFileSync(
      lock,
      JSON.stringify({ pid: 4194303, kind: "memory", folder: "x", started: "then" }),
    );
    const code = `import { takeSatLock } from "${REPO}/bee/sat/runner.ts";
try {
  const l = await takeSatLock(${JSON.stringify(lock)}, { kind: "memory", folder: "f" + Deno.pid });
  console.log("took");
  await new Promise((r) => setTimeout(r, 1500));
  await l.release();
} catch (e) { console.log("refused: " + e.message); }`;
    const runs = await Promise.all(
      Array.from(
        { length: 8 },
        () =>
          new Deno.Command(Deno.execPath(), { args: ["eval", code], stdout: "piped", stderr: "piped" })
            .output(),
      ),
    );
    const said = runs.map((r) => dec.decode(r.stdout).trim());
    assert.equal(said.filter((s) => s === "took").length, 1, said.join(" | "));
    assert.ok(
      said.filter((s) => s !== "took").every((s) => /^refused: another SAT is running: memory/.test(s)),
    );
    assert.equal(await runningSat(lock), null, "released");
  }
});

Deno.test("22.5: an empty lock, a reused PID and an old lock naming a non-SAT process are taken over; a live SAT is not", async () => {
  const dir = Deno.makeTempDirSync();
  const lock = `${dir}/sat.lock`;
  Deno.writeTextFileSync(lock, "");
  await (await takeSatLock(lock, { kind: "memory", folder: "a" })).release();
  // a live process that is not a SAT holds the PID the lock names
  const other = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    Deno.writeTextFileSync(
      lock,
      JSON.stringify({ pid: other.pid, kind: "nvidia", folder: "x", started: "then", start_ticks: 1 }),
    );
    assert.equal(await runningSat(lock), null, "another start time: the PID was reused");
    const l = await takeSatLock(lock, { kind: "memory", folder: "b" });
    assert.equal((await runningSat(lock))?.folder, "b");
    await l.release();
    Deno.writeTextFileSync(
      lock,
      JSON.stringify({ pid: other.pid, kind: "nvidia", folder: "x", started: "then" }),
    );
    assert.equal(await runningSat(lock), null, "an old lock's PID that is `sleep`, not `bee sat`");
  } finally {
    other.kill();
    await other.status;
  }
  const mine = await takeSatLock(lock, { kind: "storage", folder: "c" });
  await assert.rejects(takeSatLock(lock, { kind: "memory", folder: "d" }), /another SAT is running: storage/);
  await mine.release();
  assert.equal(await runningSat(lock), null);
});
