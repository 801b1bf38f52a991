import assert from "node:assert/strict";
import {
  boardFromDmi,
  cpuSocketsFromDmi,
  memorySlotsFromDmi,
  parseDmidecode,
} from "../bee/parsers/dmidecode.ts";
import { fixture } from "../testkit/helpers.ts";

Deno.test("dmidecode: board identity from the qemu-devbox matches its qemu.args SMBIOS strings", () => {
  const b = boardFromDmi(parseDmidecode(fixture("dmidecode/qemu-devbox-t0-1-2.txt")))!;
  assert.deepEqual(b.bios, { vendor: "Example BIOS Ltd", version: "1.0.3", release_date: "01/02/2024" });
  assert.equal(b.system.manufacturer, "Example Corp");
  assert.equal(b.system.product, "EX-1U-S");
  assert.equal(b.system.serial, "SYSSN-0001");
  assert.equal(b.system.uuid, "00112233-4455-6677-8899-aabbccddeeff");
  assert.equal(b.system.sku, "EX1U");
  assert.equal(b.system.family, "Example");
  assert.deepEqual(b.baseboard, {
    manufacturer: "Example Corp",
    product: "EX-MB-100",
    version: "A1",
    serial: "MBSN-0001",
  });
});

Deno.test("dmidecode: the full dump parses the same handles as the per-type runs", () => {
  const full = parseDmidecode(fixture("dmidecode/qemu-devbox-full.txt"));
  assert.deepEqual(
    boardFromDmi(full),
    boardFromDmi(parseDmidecode(fixture("dmidecode/qemu-devbox-t0-1-2.txt"))),
  );
  assert.deepEqual(
    memorySlotsFromDmi(full),
    memorySlotsFromDmi(parseDmidecode(fixture("dmidecode/qemu-devbox-t17.txt"))),
  );
});

Deno.test("dmidecode: CPU socket from type 4", () => {
  const [s, ...rest] = cpuSocketsFromDmi(parseDmidecode(fixture("dmidecode/qemu-devbox-t4.txt")));
  assert.equal(rest.length, 0);
  assert.deepEqual(s, {
    socket: "CPU 0",
    manufacturer: "ExampleCPU",
    model: "ExampleCPU 3000",
    cores: 2,
    cores_enabled: 2,
    threads: 2,
    max_speed_mhz: 3000,
    current_speed_mhz: 2500,
    status: "Populated, Enabled",
    populated: true,
  });
});

Deno.test("dmidecode: memory slot from type 17 with part number and speeds", () => {
  const slots = memorySlotsFromDmi(parseDmidecode(fixture("dmidecode/qemu-devbox-t17.txt")));
  assert.equal(slots.length, 1);
  assert.deepEqual(slots[0], {
    kind: "dram",
    locator: "DIMM 0",
    bank_locator: "BANK",
    installed: true,
    size_bytes: 6 * 1024 ** 3,
    type: "RAM",
    form_factor: "DIMM",
    speed_mts: 3200,
    configured_speed_mts: 3200,
    manufacturer: "ExampleMem",
    part_number: "EXM-16G",
    serial: "MEMSN",
  });
});

// Edge case (hand-written, in the layout of the real capture above): an empty slot next to a DIMM.
const EMPTY_SLOT = `# dmidecode 3.4
Getting SMBIOS data from sysfs.
SMBIOS 3.3.0 present.

Handle 0x0040, DMI type 17, 92 bytes
Memory Device
	Array Handle: 0x003F
	Error Information Handle: Not Provided
	Total Width: Unknown
	Data Width: Unknown
	Size: No Module Installed
	Form Factor: DIMM
	Set: None
	Locator: P0_DIMM_B1
	Bank Locator: P0 CHANNEL B
	Type: Unknown
	Type Detail: Unknown
	Speed: Unknown
	Manufacturer: NO DIMM
	Serial Number: NO DIMM
	Asset Tag: Not Specified
	Part Number: NO DIMM
	Rank: Unknown
	Configured Memory Speed: Unknown

Handle 0x0041, DMI type 17, 92 bytes
Memory Device
	Array Handle: 0x003F
	Size: 64 GB
	Form Factor: DIMM
	Locator: P0_DIMM_A1
	Bank Locator: P0 CHANNEL A
	Type: DDR5
	Speed: 4800 MT/s
	Manufacturer: Samsung
	Serial Number: 80CE01234567
	Part Number: M321R8GA0BB0-CQKZJ   
	Configured Memory Speed: 4400 MT/s
`;

Deno.test("dmidecode: empty DIMM slots are listed, not installed, with no size or vendor", () => {
  const [empty, dimm] = memorySlotsFromDmi(parseDmidecode(EMPTY_SLOT));
  assert.equal(empty!.installed, false);
  assert.equal(empty!.size_bytes, null);
  assert.equal(empty!.manufacturer, null);
  assert.equal(empty!.locator, "P0_DIMM_B1");
  assert.equal(dimm!.installed, true);
  assert.equal(dimm!.size_bytes, 64 * 1024 ** 3);
  assert.equal(dimm!.part_number, "M321R8GA0BB0-CQKZJ");
  assert.equal(dimm!.configured_speed_mts, 4400);
});

Deno.test("dmidecode: a machine without SMBIOS (real Firecracker output) gives no board", () => {
  const h = parseDmidecode(fixture("dmidecode/firecracker-devvm-t0-1-2.txt"));
  assert.deepEqual(h, []);
  assert.equal(boardFromDmi(h), null);
});

Deno.test("dmidecode: hostile strings are bounded and stripped of control characters", () => {
  const evil =
    `Handle 0x0100, DMI type 1, 27 bytes\nSystem Information\n\tManufacturer: <script>alert(1)</script>\x1b[31m\n\tSerial Number: ${
      "A".repeat(10_000)
    }\n`;
  const b = boardFromDmi(parseDmidecode(evil))!;
  assert.equal(b.system.manufacturer, "<script>alert(1)</script> [31m");
  assert.ok(b.system.serial!.length <= 256);
});
