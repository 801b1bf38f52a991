// The BMC: `ipmitool mc info` and `ipmitool sel elist` parsed from real captures (QEMU's emulated BMC, the
// SEL filled by real Add SEL Entry commands), and the SEL / SDR thermal rules.
import assert from "node:assert/strict";
import {
  parseIpmiFru,
  parseIpmiSdr,
  parseMcInfo,
  parseSelElist,
  selTime,
  unreadableFrus,
} from "../bee/parsers/ipmitool.ts";
import { parseEthtoolInfo } from "../bee/parsers/ethtool.ts";
import { judge, NO_HARDWARE, SEL_RECENT_DAYS } from "../bee/audit/verdict.ts";
import type { Hardware } from "../bee/model/schema.ts";
import { fixture } from "../testkit/helpers.ts";

type Hw = Omit<Hardware, "summary">;
const codes = (hw: Partial<Hw>, now = Date.UTC(2026, 10, 30, 23, 40)) =>
  judge({ ...NO_HARDWARE, ...hw }, [], null, now).map((f) => `${f.severity} ${f.code} ${f.component}`);

Deno.test("bmc: mc info (QEMU ipmi-bmc-sim) — firmware and IPMI version; 'Unknown' names are null", () => {
  assert.deepEqual(parseMcInfo(fixture("ipmitool/qemu-bmc-sim-mc-info.txt")), {
    manufacturer: null,
    product: null,
    firmware: "0.00",
    ipmi_version: "2.0",
  });
  assert.throws(() => parseMcInfo("Could not open device at /dev/ipmi0"), /no Firmware Revision/);
});

Deno.test("bmc: sel elist (real entries) — sensor type, event, direction, class per entry", () => {
  const ev = parseSelElist(fixture("ipmitool/qemu-bmc-sim-sel-elist.txt"));
  assert.equal(ev.length, 9);
  assert.deepEqual(ev[0], {
    id: "0",
    timestamp: "11/30/26 23:28:02 UTC",
    sensor_type: "Temperature",
    sensor: "#0x30",
    event: "Upper Critical going high",
    direction: "Asserted",
    class: "critical",
  });
  assert.deepEqual(
    ev.map((e) => `${e.sensor_type}/${e.event}/${e.class}`),
    [
      "Temperature/Upper Critical going high/critical",
      "Temperature/Upper Critical going high/null", // deasserted: the condition ended
      "Fan/Lower Critical going low/critical",
      "Memory/Correctable ECC/critical",
      "Memory/Uncorrectable ECC/fatal",
      "Processor/IERR/fatal",
      "Power Supply/Failure detected/fatal",
      "Critical Interrupt/PCI SERR/fatal",
      "System Firmwares/Unknown Progress/null",
    ],
  );
  assert.equal(selTime(ev[0]!.timestamp), Date.UTC(2026, 10, 30, 23, 28, 2));
  assert.equal(selTime("Pre-Init 0000000005"), null);
  assert.deepEqual(parseSelElist(""), []);
});

Deno.test("bmc: recent fatal SEL events FAIL by kind, critical ones WARN; old ones are history", () => {
  const events = parseSelElist(fixture("ipmitool/qemu-bmc-sim-sel-elist.txt"));
  const bmc = { info: null, sel: { entries: events.length, events } };
  assert.deepEqual(codes({ bmc }), [
    "FAIL bmc.sel_fatal bmc:sel:Memory",
    "FAIL bmc.sel_fatal bmc:sel:Processor",
    "FAIL bmc.sel_fatal bmc:sel:Power Supply",
    "FAIL bmc.sel_fatal bmc:sel:Critical Interrupt",
    "WARN bmc.sel_critical bmc:sel:Temperature",
    "WARN bmc.sel_critical bmc:sel:Fan",
    "WARN bmc.sel_critical bmc:sel:Memory",
  ]);
  const f = judge({ ...NO_HARDWARE, bmc }, [], null, Date.UTC(2026, 10, 30, 23, 40))[0]!;
  assert.equal(f.message, "Memory: Uncorrectable ECC × 1 (sensors: #0x53; last 11/30/26 23:28:03 UTC)");
  // the same log read SEL_RECENT_DAYS + 1 days later: nothing recent
  assert.deepEqual(codes({ bmc }, Date.UTC(2026, 10, 30) + (SEL_RECENT_DAYS + 1) * 86_400_000), []);
});

Deno.test("bmc: SDR temperature and fan sensors — critical FAIL, non-critical WARN, power left to psu rules", () => {
  // hand-made rows in the `sdr elist` layout (the emulated BMC has only a watchdog sensor)
  const sensors = parseIpmiSdr(`Inlet Temp       | 04h | ok  |  7.1 | 24 degrees C
CPU2 Temp        | 02h | unc |  3.2 | 91 degrees C
FAN3             | 32h | lcr | 29.3 | 0 RPM
FAN4             | 33h | ns  | 29.4 | No Reading
PSU1 Temp        | 2Bh | cr  | 10.1 | 70 degrees C
Watchdog         | 00h | ok  | 35.1 |
`);
  assert.deepEqual(codes({ psu: { fru: [], sensors } }), [
    "FAIL psu.sensor_critical psu:PSU1 Temp",
    "FAIL bmc.sensor_critical bmc:FAN3",
    "WARN bmc.sensor_warning bmc:CPU2 Temp",
  ]);
});

Deno.test("network: ethtool -i (virtio, real) — driver, empty firmware is null, bus-info is the PCI function", () => {
  assert.deepEqual(parseEthtoolInfo(fixture("ethtool/qemu-virtio-net-i.txt")), {
    driver: "virtio_net",
    firmware: null,
    pci_address: "0000:00:03.0",
  });
  assert.deepEqual(
    parseEthtoolInfo(
      "driver: mlx5_core\nversion: 6.12\nfirmware-version: 28.39.1002 (MT_0000000838)\nbus-info: 0000:17:00.1\n",
    ),
    { driver: "mlx5_core", firmware: "28.39.1002 (MT_0000000838)", pci_address: "0000:17:00.1" },
  );
  assert.throws(
    () => parseEthtoolInfo("Cannot get driver information: Operation not supported"),
    /no driver/,
  );
});

Deno.test("24.2: generic severity states count by state — Non-recoverable FAIL, Critical / Monitor WARN, OK none", () => {
  // real SEL of an aarch64 server (public write-up): a memory device Non-recoverable, chassis Critical
  const ev = parseSelElist(fixture("ipmitool/public-arm64-sel-elist-memory-nonrecoverable.txt"));
  const cls = (id: string) => ev.find((e) => e.id === id)?.class ?? null;
  assert.equal(cls("128"), "fatal", "Memory Transition to Non-recoverable (asserted)");
  assert.equal(cls("12a"), null, "its deassertion");
  assert.equal(cls("129"), "critical", "Chassis Transition to Critical from less severe");
  assert.equal(cls("124"), null, "Transition to OK");
  assert.equal(cls("12b"), null);
  // ipmitool's own spellings of the other states (its table has `Non-critial`), on a fan and a PSU
  const line = (sensor: string, event: string) =>
    parseSelElist(` 1 | 03/23/2024 | 02:32:10 | ${sensor} | ${event} | Asserted\n`)[0]!.class;
  assert.equal(line("Fan #0x30", "Transition to Non-recoverable from less severe"), "fatal");
  assert.equal(line("Power Supply #0x48", "Transition to Critical from less severe"), "critical");
  assert.equal(line("Temperature #0x01", "Transition to Non-critial from OK"), "critical");
  assert.equal(line("Temperature #0x01", "Transition to Non-Critical from more severe"), null);
  assert.equal(line("Temperature #0x01", "Monitor"), "critical");
  assert.equal(line("OS Critical Stop #0x46", "Run-time critical stop"), "critical");
  // and the verdict: the real capture FAILs bmc.sel_fatal for the memory device, WARNs for the chassis
  const hw = {
    ...NO_HARDWARE,
    bmc: { info: null, sel: { entries: ev.length, events: ev } },
  } as unknown as Parameters<typeof judge>[0];
  const codes = judge(hw, [], null, Date.UTC(2024, 2, 28)).map((f) => `${f.severity} ${f.code}`);
  assert.ok(codes.includes("FAIL bmc.sel_fatal"), codes.join(", "));
  assert.ok(codes.includes("WARN bmc.sel_critical"), codes.join(", "));
});

Deno.test("24.3: `ipmitool fru` exiting 1 after printing keeps what it printed and names the unreadable FRU", () => {
  const text = fixture("ipmitool/public-switch-fru-psu-pulled.txt");
  assert.deepEqual(unreadableFrus(text), ["FRU_PSUL (ID 3): Device not present (Unknown (0x81))"]);
  const frus = parseIpmiFru(text);
  assert.equal(frus.find((f) => f.id === 4)?.fields["Board Part Number"], "TDPS1500AB6B");
});
