// Linux software RAID (issue 24, item 1, the md part): /proc/mdstat parsed from real captures, the array
// judged (degraded FAIL naming its members, rebuilding WARN), read by the storage collector.
import assert from "node:assert/strict";
import { parseMdstat } from "../bee/parsers/mdstat.ts";
import { judge, NO_HARDWARE } from "../bee/audit/verdict.ts";
import type { Hardware } from "../bee/model/schema.ts";
import { fixture } from "../testkit/helpers.ts";

const codes = (md: ReturnType<typeof parseMdstat>) =>
  judge({ ...NO_HARDWARE, storage: { disks: [], md_arrays: md } } as Omit<Hardware, "summary">, []).map((f) =>
    `${f.severity} ${f.code} ${f.message}`
  );

Deno.test("mdstat: a real degraded RAID1 ([2/1] [U_]) FAILs naming the array and its remaining member", () => {
  const md = parseMdstat(fixture("mdstat/public-srvlx01-raid1-degraded.txt"));
  assert.deepEqual(md[0], {
    name: "md0",
    state: "active",
    level: "raid1",
    members: [{ device: "sda1", role: 0, failed: false, spare: false }],
    raid_disks: 2,
    working_disks: 1,
    map: "U_",
    sync: null,
  });
  assert.deepEqual(codes(md), ["FAIL storage.md_degraded md0 (raid1) active [1/2] [U_]; members: sda1"]);
});

Deno.test("mdstat: a real healthy RAID1 is clean; a failed member, an inactive array and a rebuild are named", () => {
  assert.deepEqual(codes(parseMdstat(fixture("mdstat/public-raid1-healthy.txt"))), []);
  // hand-made in the kernel's layout: a failed member with the recovery onto its replacement
  const rebuilding = parseMdstat(`Personalities : [raid1]
md1 : active raid1 sdc1[2] sdb1[1](F) sda1[0]
      976630336 blocks super 1.2 [2/1] [U_]
      [=>...................]  recovery =  8.5% (83000000/976630336) finish=100.1min speed=148000K/sec

md127 : inactive sdd5[1](S)
      3905528 blocks super 1.2

unused devices: <none>
`);
  assert.equal(rebuilding[0]!.sync?.percent, 8.5);
  assert.equal(rebuilding[1]!.members[0]!.spare, true);
  const c = codes(rebuilding);
  assert.ok(
    c.includes(
      "FAIL storage.md_degraded md1 (raid1) active [1/2] [U_], failed: sdb1; members: sdc1, sdb1, sda1",
    ),
    c.join("\n"),
  );
  assert.ok(c.some((x) => x.startsWith("FAIL storage.md_degraded md127 (?) inactive")), c.join("\n"));
  assert.ok(c.includes("WARN storage.md_rebuilding md1: recovery 8.5 %"), c.join("\n"));
  assert.deepEqual(parseMdstat("Personalities : \nunused devices: <none>\n"), []);
});
