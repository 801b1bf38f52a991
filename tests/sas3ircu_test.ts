// Broadcom/LSI SAS3 HBAs and IR controllers through sas3ircu (issue 24, item 1): a real `sas3ircu 1 DISPLAY` of
// a SAS3008 HBA with 17 disks behind two enclosures (from Linux kernel bug 215691; see the fixture's README)
// parsed and healthy; a failed and a missing disk FAIL naming enclosure:slot and serial, a degraded IR volume
// FAILs, a disk out of sync WARNs (edited from the capture; the IR volume block after sas3ircu's layout).
import assert from "node:assert/strict";
import { parseSas3ircuDisplay } from "../bee/parsers/sas3ircu.ts";
import { judge, NO_HARDWARE } from "../bee/audit/verdict.ts";
import type { Hardware, RaidController } from "../bee/model/schema.ts";
import { fixture } from "../testkit/helpers.ts";

const FIX = "sas3ircu/sas3008-hba-display.txt";
const findings = (raid: RaidController[]) =>
  judge({ ...NO_HARDWARE, storage: { disks: [], raid } } as Omit<Hardware, "summary">, []).map((f) =>
    `${f.severity} ${f.code} ${f.component} ${f.message}`
  );

Deno.test("sas3ircu: the captured SAS3008 HBA — controller 1, firmware, 17 disks by enclosure:slot, enclosures left out, healthy", () => {
  const c = parseSas3ircuDisplay(fixture(FIX))!;
  assert.equal(c.tool, "sas3ircu");
  assert.equal(c.id, "1");
  assert.equal(c.model, "SAS3008");
  assert.equal(c.firmware, "16.00.10.00");
  assert.deepEqual(c.virtual_drives, []);
  assert.equal(c.physical_drives.length, 17);
  assert.deepEqual(c.physical_drives[0], {
    slot: "2:0",
    device_id: null,
    state: "Ready",
    model: "Samsung SSD 850",
    serial: "S3NZNF0JC02719H",
    size_bytes: 953869 * 1024 * 1024,
    interface: "SATA",
  });
  assert.equal(c.physical_drives.at(-1)!.slot, "3:11");
  assert.ok(
    !c.physical_drives.some((p) => /SAS2X28|SC216/.test(p.model ?? "")),
    "enclosure devices are not disks",
  );
  assert.deepEqual(findings([c]), []);
  assert.equal(parseSas3ircuDisplay("SAS3IRCU: No Controllers Found.\n"), null);
});

Deno.test("sas3ircu: failed and missing disks and a degraded volume FAIL; out of sync WARNs (edited capture)", () => {
  const volume = `------------------------------------------------------------------------
IR Volume information
------------------------------------------------------------------------
IR volume 1
  Volume ID                               : 323
  Status of volume                        : Degraded (DGD)
  RAID level                              : RAID1
  Size (in MB)                            : 952720
  Physical hard disks                     :
  PHY[0] Enclosure#/Slot#                 : 2:0
  PHY[1] Enclosure#/Slot#                 : 2:1
`;
  const text = fixture(FIX)
    .replace(/-+\nIR Volume information\n-+\n/, volume)
    .replace(/(Slot #\s+: 1\n.*\n\s+State\s+: )Ready \(RDY\)/, "$1Failed (FLD)")
    .replace(/(Slot #\s+: 2\n.*\n\s+State\s+: )Ready \(RDY\)/, "$1Missing (MIS)")
    .replace(/(Slot #\s+: 3\n.*\n\s+State\s+: )Ready \(RDY\)/, "$1Out of Sync (OSY)");
  const c = parseSas3ircuDisplay(text)!;
  assert.deepEqual(c.virtual_drives, [{
    id: "323",
    level: "RAID1",
    state: "Degraded",
    size_bytes: 952720 * 1024 * 1024,
    name: null,
  }]);
  const f = findings([c]);
  assert.ok(
    f.includes(
      "FAIL storage.raid_degraded storage:raid:1/323 SAS3008 1: virtual drive 323 (RAID1) is Degraded",
    ),
    f.join("\n"),
  );
  assert.ok(
    f.some((x) =>
      /^FAIL storage\.raid_degraded storage:raid:1\/2:1 .*Samsung SSD 850, serial S3NZNF0JC02715K\) is Failed$/
        .test(x)
    ),
    f.join("\n"),
  );
  assert.ok(
    f.some((x) => /^FAIL storage\.raid_degraded storage:raid:1\/2:2 .* is Missing$/.test(x)),
    f.join("\n"),
  );
  assert.ok(
    f.some((x) => /^WARN storage\.raid_warning storage:raid:1\/2:3 .*is out of sync$/.test(x)),
    f.join("\n"),
  );
});
