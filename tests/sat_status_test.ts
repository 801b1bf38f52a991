// The TUI ↔ `bee sat` contract (issue 20, point 4): one SatStatus type, written by the SAT, read by the TUI.
// The final record carries the archive, or the error that kept the SAT from writing one.
import assert from "node:assert/strict";
import { fakeBin, runBee, satArgs } from "../testkit/helpers.ts";
import { passAudit } from "../testkit/web_fixtures.ts";
import { readSatStatus, SatStatusSchema } from "../bee/sat/status.ts";

function auditFile(): string {
  const p = `${Deno.makeTempDirSync()}/bee-audit.json`;
  Deno.writeTextFileSync(p, JSON.stringify(passAudit()));
  return p;
}

Deno.test("sat status: a SAT that cannot start leaves a final record with its error; a finished one the archive", async () => {
  const d = Deno.makeTempDirSync();
  const status = `${d}/status.json`;
  const bad = await runBee([...satArgs("memory", auditFile(), `${d}/out`), "--status-file", status], {
    path: fakeBin(),
    env: { BEE_MEMTESTER_SIZE_MB: "1e99" },
  });
  assert.equal(bad.code, 2);
  const s = await readSatStatus(status);
  assert.equal(s?.done, true);
  assert.equal(s?.archive, null);
  assert.match(s?.error ?? "", /^bee: BEE_MEMTESTER_SIZE_MB=/);

  // no memtester on PATH: the SAT runs, is UNSUPPORTED, and its last record names the archive
  const ok = await runBee([...satArgs("memory", auditFile(), `${d}/out`), "--status-file", status], {
    path: fakeBin(),
  });
  const f = await readSatStatus(status);
  assert.equal(f?.done, true, ok.stderr);
  assert.equal(f?.overall_status, "UNSUPPORTED");
  assert.equal(f?.error, null);
  assert.match(f?.archive ?? "", /\/bee-sat-memory-[^/]+\.tar\.gz$/);
  assert.ok(Deno.statSync(f!.archive!).isFile);
  // the reader refuses what is not a status (and never throws)
  Deno.writeTextFileSync(status, '{"done": "yes"}');
  assert.equal(await readSatStatus(status), null);
  assert.equal(await readSatStatus(`${d}/absent.json`), null);
  assert.equal(
    SatStatusSchema.safeParse({ kind: "nvidia", metrics: [{ gpu: 0, temperature_c: 40 }] }).success,
    true,
  );
});
