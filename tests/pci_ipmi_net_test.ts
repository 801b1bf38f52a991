import assert from "node:assert/strict";
import { normalizePciAddress, parseLspciVmm } from "../bee/parsers/lspci.ts";
import { parsePciSysfs } from "../bee/parsers/pci_sysfs.ts";
import { parseIpmiFru, parseIpmiSdr } from "../bee/parsers/ipmitool.ts";
import { parseIpAddr, parseNetSysfs } from "../bee/parsers/ip.ts";
import { fixture } from "../testkit/helpers.ts";

Deno.test("lspci: qemu-devbox functions with names", () => {
  const e = parseLspciVmm(fixture("lspci/qemu-devbox-vmm-D.txt"));
  const nvme = e.filter((x) => x.class === "Non-Volatile memory controller");
  assert.equal(nvme.length, 2);
  assert.equal(nvme[0]!.address, "0000:00:02.0");
  assert.equal(nvme[0]!.device, "QEMU NVM Express Controller");
  assert.ok(e.length >= 6);
});

Deno.test("lspci: the dev VM (real capture) lists virtio devices", () => {
  const e = parseLspciVmm(fixture("lspci/firecracker-devvm-vmm-D.txt"));
  assert.ok(e.some((x) => x.device === "Virtio 1.0 block device"));
});

Deno.test("pci sysfs: invalid widths (QEMU reports 0 and 255) become null", () => {
  const s = parsePciSysfs({
    current_link_width: "0",
    max_link_width: "255",
    current_link_speed: "Unknown",
    numa_node: "-1",
    class: "0x010802",
    vendor: "0x1b36",
  });
  assert.equal(s.current_link_width, null);
  assert.equal(s.max_link_width, null);
  assert.equal(s.current_link_speed, null);
  assert.equal(s.numa_node, null);
  assert.equal(s.class_id, "010802");
  const gpu = parsePciSysfs({
    current_link_width: "8",
    max_link_width: "16",
    current_link_speed: "32.0 GT/s PCIe",
    max_link_speed: "32.0 GT/s PCIe",
    numa_node: "1",
  });
  assert.deepEqual([gpu.current_link_width, gpu.max_link_width, gpu.numa_node], [8, 16, 1]);
});

Deno.test("pci address normalisation matches nvidia-smi's 8-digit domains", () => {
  assert.equal(normalizePciAddress("00000000:4F:00.0"), "0000:4f:00.0");
  assert.equal(normalizePciAddress("0000:4f:00.0"), "0000:4f:00.0");
  assert.equal(normalizePciAddress("4f:00.0"), "0000:4f:00.0");
});

Deno.test("ipmitool: qemu-devbox FRU header and SDR rows", () => {
  const fru = parseIpmiFru(fixture("ipmitool/qemu-devbox-fru.txt"));
  assert.deepEqual(fru, [{ id: 0, description: "Builtin FRU Device", fields: {} }]);
  const elist = parseIpmiSdr(fixture("ipmitool/qemu-devbox-sdr-elist.txt"));
  assert.deepEqual(elist, [{
    name: "Watchdog",
    sensor_id: "00h",
    status: "ok",
    entity: "35.1",
    reading: null,
    is_power: false,
  }]);
  const sdr = parseIpmiSdr(fixture("ipmitool/qemu-devbox-sdr.txt"));
  assert.equal(sdr[0]!.name, "Watchdog");
  assert.equal(sdr[0]!.status, "ok");
});

// Edge cases in the layout of `ipmitool sdr elist` on a two-PSU server (hand-written).
const PSU_ELIST = `PS1 Status       | C8h | ok  | 10.1 | Presence detected
PS2 Status       | C9h | ok  | 10.2 | Presence detected, Failure detected
PSU1 Input Volt  | 2Ah | cr  | 10.1 | 0 Volts
Fan1             | 30h | ok  | 29.1 | 7800 RPM
`;

Deno.test("ipmitool: PSU sensors recognised by entity 10 and name", () => {
  const s = parseIpmiSdr(PSU_ELIST);
  assert.deepEqual(s.map((x) => x.is_power), [true, true, true, false]);
  assert.equal(s[1]!.reading, "Presence detected, Failure detected");
  assert.equal(s[2]!.status, "cr");
});

Deno.test("ip -j addr (real dev VM capture)", () => {
  const m = parseIpAddr(fixture("ip/firecracker-devvm-addr.json"));
  assert.deepEqual(m.get("lo")!.ipv4, ["127.0.0.1/8"]);
  assert.ok(m.get("eth0")!.ipv4.length >= 1);
  assert.throws(() => parseIpAddr("{}"));
});

Deno.test("net sysfs: down links have no speed", () => {
  assert.deepEqual(
    parseNetSysfs({
      address: "aa:bb:cc:dd:ee:ff\n",
      operstate: "down",
      carrier: "0",
      speed: "-1",
      mtu: "1500",
    }),
    {
      mac: "aa:bb:cc:dd:ee:ff",
      operstate: "down",
      carrier: false,
      speed_mbps: null,
      mtu: 1500,
    },
  );
});
