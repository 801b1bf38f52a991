// Adaptec/Microsemi controllers through arcconf (issue 24, item 1): two real `arcconf GETCONFIG 1 AL` outputs of
// other people's servers (tests/fixtures/arcconf/README.md) parsed — controller, battery, logical devices and
// hard drives — and judged: the degraded RAID 10 and its failed drive FAIL; an impacted logical device, a
// rebuilding drive and a battery that is not optimal WARN (the last three edited from the captures).
import assert from "node:assert/strict";
import { arcconfControllerCount, parseArcconfConfig } from "../bee/parsers/arcconf.ts";
import { judge, NO_HARDWARE } from "../bee/audit/verdict.ts";
import type { Hardware, RaidController } from "../bee/model/schema.ts";
import { fixture } from "../testkit/helpers.ts";

const DEGRADED = "arcconf/adaptec-6805e-degraded-getconfig-al.txt";
const BATTERY = "arcconf/ibm-serveraid-8k-battery-getconfig.txt";
const findings = (raid: RaidController[]) =>
  judge({ ...NO_HARDWARE, storage: { disks: [], raid } } as Omit<Hardware, "summary">, []).map((f) =>
    `${f.severity} ${f.code} ${f.component} ${f.message}`
  );

Deno.test("arcconf: the captured 6805E — controller, two RAID 10s, eight drives by connector and device", () => {
  const text = fixture(DEGRADED);
  assert.equal(arcconfControllerCount(text), 1);
  const c = parseArcconfConfig(text, "1")!;
  assert.equal(c.tool, "arcconf");
  assert.equal(c.id, "1");
  assert.equal(c.model, "Adaptec 6805E");
  assert.equal(c.serial, "3A211320B60");
  assert.equal(c.firmware, "5.2-0 (19109)");
  assert.equal(c.battery, null);
  assert.deepEqual(c.virtual_drives.map((v) => `${v.id} ${v.name} ${v.level} ${v.state} ${v.size_bytes}`), [
    `0 HDD RAID 10 Optimal ${3809270 * 1024 ** 2}`,
    `1 SSD RAID 10 Degraded ${974838 * 1024 ** 2}`,
  ]);
  assert.equal(c.physical_drives.length, 8);
  assert.deepEqual(c.physical_drives[2], {
    slot: "c0:d2",
    device_id: "0,2",
    state: "Failed",
    model: null,
    serial: null,
    size_bytes: 0,
    interface: null,
  });
  assert.deepEqual(
    [
      c.physical_drives[3]!.slot,
      c.physical_drives[3]!.model,
      c.physical_drives[3]!.serial,
      c.physical_drives[3]!.interface,
    ],
    ["c0:d3", "KINGSTON SKC400S37512G", "50026B726900BD5E", "SATA"],
  );
});

Deno.test("arcconf: the degraded logical device and the failed drive FAIL, naming the device and the slot", () => {
  assert.deepEqual(findings([parseArcconfConfig(fixture(DEGRADED), "1")!]), [
    "FAIL storage.raid_degraded storage:raid:1/1 Adaptec 6805E 3A211320B60: virtual drive 1 (RAID 10, SSD) is Degraded",
    "FAIL storage.raid_degraded storage:raid:1/c0:d2 Adaptec 6805E 3A211320B60: drive in slot c0:d2 (?) is Failed",
  ]);
});

Deno.test("arcconf: the captured ServeRAID 8k — its battery is read, the enclosure device is no drive; all passes", () => {
  const c = parseArcconfConfig(fixture(BATTERY), "1")!;
  assert.equal(c.model, "IBM ServeRAID 8k");
  assert.equal(c.battery, "Optimal");
  assert.deepEqual(c.virtual_drives.map((v) => `${v.id} ${v.name} ${v.level} ${v.state}`), [
    "0 null RAID 1 Optimal",
  ]);
  assert.deepEqual(c.physical_drives.map((p) => `${p.slot} ${p.model} ${p.interface} ${p.state}`), [
    "0,0 IBM-ESXS ST3146855SS SAS Online",
    "0,1 IBM-ESXS MBA3147RC SAS Online",
  ]);
  assert.deepEqual(findings([c]), []);
});

Deno.test("arcconf: Impacted, Rebuilding and a failed battery WARN; 'Degraded, Rebuilding' still FAILs (edited captures)", () => {
  const battery = fixture(BATTERY)
    .replace(
      "   Status                                   : Optimal",
      "   Status                                   : Failed",
    )
    .replace(
      "Status of logical device                 : Optimal",
      "Status of logical device                 : Impacted ( Build/Verify with fix : 90 % )",
    )
    .replace(
      "         State                              : Online\n         Supported                          : Yes\n         Transfer Speed                     : SAS 3.0 Gb/s\n         Reported Channel,Device            : 0,1",
      "         State                              : Rebuilding\n         Supported                          : Yes\n         Transfer Speed                     : SAS 3.0 Gb/s\n         Reported Channel,Device            : 0,1",
    );
  const f = findings([parseArcconfConfig(battery, "1")!]);
  assert.deepEqual(f, [
    "WARN storage.raid_warning storage:raid:1/0,1 IBM ServeRAID 8k 4052697: drive in slot 0,1 is rebuilding",
    "WARN storage.raid_warning storage:raid:1/0 IBM ServeRAID 8k 4052697: virtual drive 0 is Impacted ( Build/Verify with fix : 90 % )",
    "WARN storage.raid_warning storage:raid:1 IBM ServeRAID 8k 4052697: battery/CacheVault state Failed",
  ]);
  const rebuilding = fixture(DEGRADED).replace(
    "Status of logical device                 : Degraded",
    "Status of logical device                 : Degraded, Rebuilding ( Rebuild : 10 % )",
  );
  assert.ok(
    findings([parseArcconfConfig(rebuilding, "1")!]).some((x) =>
      x.startsWith("FAIL storage.raid_degraded storage:raid:1/1 ") &&
      x.endsWith("is Degraded, Rebuilding ( Rebuild : 10 % )")
    ),
  );
});

Deno.test("arcconf: a newer arcconf's backup unit (Not Present is no battery; Failed is) and key case; garbage is null", () => {
  // HAND-MADE in the layout arcconf 2.x prints (t/data/arcconf/issue128 in check_raid has the real shape)
  const text = [
    "Controllers Found: 2",
    "Controller Information",
    "   Controller Status                        : OK",
    "   Controller Model                         : Adaptec ASR71605",
    "   Controller Cache Backup Unit Information",
    "    Overall Backup Unit Status              : Not Present",
    "Logical Device Information",
    "Logical Device Number 0",
    "   Logical Device Name                      : video",
    "   Disk Name                                : /dev/sda",
    "   RAID Level                               : 5",
    "   Status of Logical Device                 : Optimal",
  ].join("\n");
  assert.equal(arcconfControllerCount(text), 2);
  const c = parseArcconfConfig(text, "2")!;
  assert.equal(c.battery, null);
  assert.deepEqual(c.virtual_drives, [{
    id: "0",
    name: "video",
    level: "RAID 5",
    state: "Optimal",
    size_bytes: null,
    device: "/dev/sda",
  }]);
  const failed = parseArcconfConfig(text.replace(": Not Present", ": Failed"), "2")!;
  assert.equal(failed.battery, "Failed");
  assert.equal(parseArcconfConfig("Invalid controller number.\n", "3"), null);
  assert.equal(arcconfControllerCount("garbage"), 0);
});
