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
    f.some((x) => /^WARN storage\.raid_warning storage:raid:0\/1 .*is Recovering, 37% complete$/.test(x)),
    f.join("\n"),
  );
});

Deno.test("ssacli: the detail form (a real H240) — firmware, logical drives with their block devices, serials by bay", () => {
  const [c, ...rest] = parseSsacliConfig(fixture("ssacli/h240-show-config-detail.txt"));
  assert.equal(rest.length, 0);
  assert.equal(c!.model, "Smart HBA H240");
  assert.equal(c!.id, "1");
  assert.equal(c!.serial, "PDNNK0BRH571XZ");
  assert.equal(c!.firmware, "4.52-0");
  assert.equal(c!.battery, null);
  assert.deepEqual(
    c!.virtual_drives.map((v) => `${v.id} ${v.level} ${v.state} ${v.device} ${v.size_bytes}`),
    [
      `1 RAID 0 OK /dev/sda ${Math.round(372.58 * 1024 ** 3)}`,
      `2 RAID 0 OK /dev/sdb ${Math.round(931.48 * 1024 ** 3)}`,
    ],
  );
  assert.deepEqual(
    c!.physical_drives.map((p) => `${p.slot} ${p.interface} ${p.state} ${p.serial} ${p.model}`),
    [
      "1I:1:1 SATA HDD OK 17V3K9U7F1EA ATA MB1000GDUNU",
      "1I:1:2 SATA SSD OK BTHV603000TL400NGN ATA MK0400GEYKD",
    ],
  );
  assert.deepEqual(findings([c!]), []);
  // a drive's detail Status is the one judged, and a bad Battery/Capacitor Status WARNs (edited capture)
  const bad = fixture("ssacli/h240-show-config-detail.txt")
    .replace(
      "         Serial Number: 17V3K9U7F1EA",
      "         Serial Number: 17V3K9U7F1EA\n         Status: Failed",
    )
    .replace(
      "   Cache Board Present: False",
      "   Cache Board Present: True\n   Battery/Capacitor Status: Failed (Replace Batteries)",
    );
  assert.deepEqual(findings(parseSsacliConfig(bad)), [
    "FAIL storage.raid_degraded storage:raid:1/1I:1:1 Smart HBA H240 PDNNK0BRH571XZ: drive in slot 1I:1:1 (ATA MB1000GDUNU, serial 17V3K9U7F1EA) is Failed",
    "WARN storage.raid_warning storage:raid:1 Smart HBA H240 PDNNK0BRH571XZ: battery/CacheVault state Failed (Replace Batteries)",
  ]);
});
