// Hardware RAID through storcli (issue 24, item 1): a MegaRAID 9260-4i's `storcli /c0 show J` (captured, from
// the storrest project's test data) parsed; states judged (degraded VD / failed PD FAIL naming slot, rebuild
// and battery WARN); the collector reads it through storcli64 when a MegaRAID is on the PCI bus.
import assert from "node:assert/strict";
import { parseStorcliShow } from "../bee/parsers/storcli.ts";
import { judge, NO_HARDWARE } from "../bee/audit/verdict.ts";
import type { Hardware, RaidController } from "../bee/model/schema.ts";
import { fixture } from "../testkit/helpers.ts";

const FIX = "storcli/storrest-megaraid-9260-4i-c0-show.json";
const findings = (raid: RaidController[]) =>
  judge({ ...NO_HARDWARE, storage: { disks: [], raid } } as Omit<Hardware, "summary">, []).map((f) =>
    `${f.severity} ${f.code} ${f.message}`
  );

Deno.test("storcli: the captured MegaRAID 9260-4i — controller, RAID1 optimal, two online drives, a hot spare, healthy", () => {
  const [c] = parseStorcliShow(fixture(FIX));
  assert.equal(c!.model, "LSI MegaRAID SAS 9260-4i");
  assert.equal(c!.serial, "SV24603934");
  assert.equal(c!.firmware, "2.130.373-2022");
  assert.equal(c!.battery, "Optimal");
  assert.deepEqual(c!.virtual_drives, [{
    id: "0/0",
    level: "RAID1",
    state: "Optl",
    size_bytes: 999653638144,
    name: "test_raid1",
  }]);
  assert.deepEqual(c!.physical_drives.map((p) => `${p.slot} ${p.state} ${p.model}`), [
    "252:0 Onln ST1000NM0011",
    "252:1 Onln ST1000NM0011",
    "252:2 DHS ST1000NM0011",
    "252:3 UGood ST1000NM0011",
  ]);
  assert.deepEqual(findings([c!]), []);
});

Deno.test("storcli: a degraded VD and a failed drive FAIL naming the slot; a rebuild and a failed battery WARN (edited capture)", () => {
  // hand-edited from the capture: the VD degraded, slot 252:1 failed, 252:2 rebuilding, the BBU failed
  const text = fixture(FIX)
    .replace(
      '"DG/VD" : "0/0",\n                "TYPE" : "RAID1",\n                "State" : "Optl"',
      '"DG/VD" : "0/0",\n                "TYPE" : "RAID1",\n                "State" : "Dgrd"',
    )
    .replace(
      '"EID:Slt" : "252:1",\n                "DID" : 6,\n                "State" : "Onln"',
      '"EID:Slt" : "252:1",\n                "DID" : 6,\n                "State" : "Failed"',
    )
    .replace(
      '"EID:Slt" : "252:2",\n                "DID" : 7,\n                "State" : "DHS"',
      '"EID:Slt" : "252:2",\n                "DID" : 7,\n                "State" : "Rbld"',
    )
    .replace('"State" : "Optimal"', '"State" : "Failed"');
  const f = findings(parseStorcliShow(text));
  assert.deepEqual(f, [
    "FAIL storage.raid_degraded LSI MegaRAID SAS 9260-4i SV24603934: virtual drive 0/0 (RAID1, test_raid1) is Dgrd",
    "FAIL storage.raid_degraded LSI MegaRAID SAS 9260-4i SV24603934: drive in slot 252:1 (ST1000NM0011) is Failed",
    "WARN storage.raid_warning LSI MegaRAID SAS 9260-4i SV24603934: drive in slot 252:2 is rebuilding",
    "WARN storage.raid_warning LSI MegaRAID SAS 9260-4i SV24603934: battery/CacheVault state Failed",
  ]);
  assert.throws(() => parseStorcliShow("not json"), /no JSON/);
});

Deno.test("storcli: an order's disk line counts the drives behind the controller, not its virtual drive", async () => {
  const { compareExpect } = await import("../bee/expect/compare.ts");
  const raid = parseStorcliShow(fixture(FIX));
  // what lsblk shows on such a machine: the virtual drive as one block device
  const vd = {
    name: "sda",
    path: "/dev/sda",
    model: "MR9260-4i",
    serial: null,
    size_bytes: 999653638144,
    type: "disk",
    transport: null,
    removable: false,
    rotational: true,
    vendor: "LSI",
    firmware: null,
    wwn: null,
    smart: null,
    nvme: null,
  };
  const hw = { ...NO_HARDWARE, storage: { disks: [vd], raid } } as unknown as Omit<Hardware, "summary">;
  const order = { bee_expect: 1 as const, disks: [{ model: "ST1000NM0011", count: 4 }] };
  assert.deepEqual(compareExpect(hw, order), []);
  const short = compareExpect(hw, { ...order, disks: [{ model: "ST1000NM0011", count: 5 }] });
  assert.equal(short[0]?.code, "bom.missing");
  assert.match(short[0]!.message, /found 4 \(raid 0 slot 252:0: ST1000NM0011 1000 GB/);
});
