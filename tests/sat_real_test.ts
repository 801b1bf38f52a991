// Real components on this machine: `bee sat memory` with the real memtester at a small size, and
// `bee sat storage` on this machine's real disks, judged against what smartctl really says here.
import assert from "node:assert/strict";
import { runBee, satArgs } from "../testkit/helpers.ts";
import { passAudit } from "../testkit/web_fixtures.ts";
import { readAllTarGz } from "../bee/lib/tar.ts";
import { parseSummary } from "../bee/sat/summary.ts";
import { smartAccess } from "../bee/parsers/smartctl.ts";
import { isPhysicalDisk, parseLsblk } from "../bee/parsers/lsblk.ts";

const dec = new TextDecoder();
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function audit(): string {
  const p = `${Deno.makeTempDirSync()}/a.json`;
  Deno.writeTextFileSync(p, JSON.stringify(passAudit()));
  return p;
}

async function archiveOf(
  stdout: string,
): Promise<{ summary: Record<string, string>; files: Map<string, Uint8Array> }> {
  const path = stdout.trimEnd().split("\n").at(-1)!.replace(/^archive: /, "");
  const all = (await readAllTarGz(path))!;
  const files = new Map([...all].map(([k, v]) => [k.slice(k.indexOf("/") + 1), v]));
  return { summary: parseSummary(dec.decode(files.get("summary.txt")!)), files };
}

function run(cmd: string, args: string[]): { code: number; stdout: string } {
  const r = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null", env: { LC_ALL: "C" } })
    .outputSync();
  return { code: r.code, stdout: dec.decode(r.stdout) };
}

Deno.test("real memtester: bee sat memory at 8 MiB passes and keeps memtester's log", async () => {
  const r = await runBee(satArgs("memory", audit()), {
    path: PATH,
    env: { BEE_MEMTESTER_SIZE_MB: "8" },
  });
  const { summary, files } = await archiveOf(r.stdout);
  assert.equal(summary["memtester_status"], "OK", summary["memtester_reason"] ?? r.stderr);
  assert.equal(summary["memtester_loops"], "1");
  assert.equal(r.code, 0);
  const log = dec.decode(files.get("memtester.log")!);
  assert.match(log, /^memtester version \d/m);
  assert.match(log, /want 8MB/);
  assert.match(log, /Compare XOR\s+: ok/);
});

Deno.test("real disks: bee sat storage says what smartctl really says about each disk here", async () => {
  const ls = run("lsblk", [
    "-J",
    "-b",
    "-d",
    "-o",
    "NAME,PATH,TYPE,SIZE,MODEL,SERIAL,VENDOR,REV,TRAN,ROTA,RM,WWN",
  ]);
  const disks = parseLsblk(ls.stdout).filter(isPhysicalDisk).map((d) => d.name);
  const r = await runBee(satArgs("storage", audit()), {
    path: PATH,
  });
  const { summary } = await archiveOf(r.stdout);
  assert.equal(summary["disks"], disks.join(","));
  assert.ok(disks.length > 0, "this machine has a disk");
  for (const d of disks) {
    const x = run("smartctl", ["-x", "-j", `/dev/${d}`]);
    const access = smartAccess(x.stdout, x.code);
    const status = summary[`storage_${d}_status`];
    if (access.unsupported && !d.startsWith("nvme")) {
      // e.g. virtio: "Unable to detect device type" — UNSUPPORTED with smartctl's own words, never OK
      assert.equal(status, "UNSUPPORTED", `${d}: ${summary[`storage_${d}_reason`]}`);
      assert.equal(summary[`storage_${d}_reason`], access.unsupported);
    } else {
      assert.ok(["OK", "FAILED", "UNSUPPORTED"].includes(status!), `${d}: ${status}`);
    }
  }
  assert.equal(
    r.code,
    summary["overall_status"] === "OK" ? 0 : summary["overall_status"] === "UNSUPPORTED" ? 3 : 1,
  );
});
