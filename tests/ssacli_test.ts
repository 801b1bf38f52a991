// HPE Smart Array through ssacli (issue 24, item 1): a real `hpssacli ctrl all show config` of a P440ar with 24
// bays (copied from an operator's public notes; see tests/fixtures/ssacli/README.md) parsed — controller, two
// logical drives, 25 physical drives, the failed spare in bay 3 FAILs naming its bay; ssacli's degraded and
// rebuild words judged (edited from the capture).
import assert from "node:assert/strict";
import { parseSsacliConfig } from "../bee/parsers/ssacli.ts";
import { judge, NO_HARDWARE } from "../bee/audit/verdict.ts";
import type { Hardware, RaidController } from "../bee/model/schema.ts";
import { fixture } from "../testkit/helpers.ts";

const FIX = "ssacli/p440ar-24bay-show-config.txt";
const findings = (raid: RaidController[]) =>
  judge({ ...NO_HARDWARE, storage: { disks: [], raid } } as Omit<Hardware, "summary">, []).map((f) =>
    `${f.severity} ${f.code} ${f.component} ${f.message}`
  );

Deno.test("ssacli: the captured P440ar — controller, RAID 1 and RAID 1+0, 25 drives, the failed spare FAILs by bay", () => {
  const [c, ...rest] = parseSsacliConfig(fixture(FIX));
  assert.equal(rest.length, 0);
  assert.equal(c!.tool, "ssacli");
  assert.equal(c!.model, "Smart Array P440ar");
  assert.equal(c!.id, "0");
  assert.equal(c!.serial, "PDNLH0BRH8O2TL");
  assert.deepEqual(c!.virtual_drives.map((v) => `${v.id} ${v.level} ${v.state}`), [
    "1 RAID 1 OK",
    "2 RAID 1+0 OK",
  ]);
  assert.equal(c!.physical_drives.length, 25);
  assert.deepEqual(
    c!.physical_drives.filter((p) => p.state !== "OK").map((p) => `${p.slot} ${p.interface} ${p.state}`),
    ["1I:1:3 SAS Failed"],
  );
  assert.deepEqual(findings([c!]), [
    "FAIL storage.raid_degraded storage:raid:0/1I:1:3 Smart Array P440ar PDNLH0BRH8O2TL: drive in slot 1I:1:3 (?) is Failed",
  ]);
});

Deno.test("ssacli: Interim Recovery Mode FAILs; Rebuilding, Predictive Failure and Recovering WARN (edited capture)", () => {
  const text = fixture(FIX)
    .replace(
      "logicaldrive 2 (12.0 TB, RAID 1+0, OK)",
      "logicaldrive 2 (12.0 TB, RAID 1+0, Interim Recovery Mode)",
    )
    .replace(
      "logicaldrive 1 (279.4 GB, RAID 1, OK)",
      "logicaldrive 1 (279.4 GB, RAID 1, Recovering, 37% complete)",
    )
    .replace("bay 5, SAS, 1200.2 GB, OK)", "bay 5, SAS, 1200.2 GB, Rebuilding)")
    .replace("bay 6, SAS, 1200.2 GB, OK)", "bay 6, SAS, 1200.2 GB, Predictive Failure)");
  const f = findings(parseSsacliConfig(text));
  assert.ok(
    f.some((x) =>
      /^FAIL storage\.raid_degraded storage:raid:0\/2 .*virtual drive 2 \(RAID 1\+0\) is Interim Recovery Mode$/
        .test(x)
    ),
    f.join("\n"),
  );
  assert.ok(
    f.some((x) => /^WARN storage\.raid_warning storage:raid:0\/1I:1:5 .*is rebuilding$/.test(x)),
    f.join("\n"),
  );
  assert.ok(
    f.some((x) => /^WARN storage\.raid_warning storage:raid:0\/1I:1:6 .*predictive failure$/.test(x)),
    f.join("\n"),
  );
  assert.ok(
    f.some((x) => /^WARN storage\.raid_warning storage:raid:0\/1 .*is recovering$/.test(x)),
    f.join("\n"),
  );
});
