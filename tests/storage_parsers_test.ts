import assert from "node:assert/strict";
import { isPhysicalDisk, nvmeController, parseLsblk } from "../bee/parsers/lsblk.ts";
import { exitBits, parseSmartctl, parseSmartctlScan } from "../bee/parsers/smartctl.ts";
import { parseNvmeIdCtrl, parseNvmeSmartLog } from "../bee/parsers/nvme.ts";
import { fixture } from "../testkit/helpers.ts";

Deno.test("lsblk: qemu-devbox disks with model, serial, transport; loop and rom filtered", () => {
  const all = parseLsblk(fixture("lsblk/qemu-devbox-J-O.txt"));
  const disks = all.filter(isPhysicalDisk);
  assert.deepEqual(disks.map((d) => d.name), ["sda", "nvme1n1", "nvme0n1"]);
  const sda = disks[0]!;
  assert.equal(sda.model, "EXAMPLE SSD 480");
  assert.equal(sda.serial, "EXSATA0001");
  assert.equal(sda.transport, "sata");
  assert.equal(sda.size_bytes, 1073741824);
  assert.equal(sda.vendor, "ATA");
  assert.equal(nvmeController("nvme1n1"), "/dev/nvme1");
  assert.equal(nvmeController("nvme0c1n1"), "/dev/nvme0");
  assert.equal(nvmeController("sda"), null);
});

Deno.test("lsblk: the dev VM's zram device is not a disk to check", () => {
  const disks = parseLsblk(fixture("lsblk/firecracker-devvm-J-b-d.json")).filter(isPhysicalDisk);
  assert.deepEqual(disks.map((d) => d.path), ["/dev/vda"]);
  assert.equal(disks[0]!.size_bytes, 274877906944);
});

Deno.test("lsblk: non-lsblk JSON is an error", () => {
  assert.throws(() => parseLsblk("{}"), /blockdevices/);
  assert.throws(() => parseLsblk("<html>"));
});

Deno.test("smartctl: SATA disk (qemu-devbox) passes with attribute data", () => {
  const s = parseSmartctl(fixture("smartctl/qemu-devbox-a-sda.json"));
  assert.equal(s.available, true);
  assert.equal(s.passed, true);
  assert.equal(s.protocol, "ATA");
  assert.equal(s.model, "EXAMPLE SSD 480");
  assert.equal(s.serial, "EXSATA0001");
  assert.equal(s.reallocated_sectors, 0);
  assert.equal(s.temperature_c, 31);
  assert.deepEqual(s.exit_bits, []);
});

Deno.test("smartctl: -x on the same disk exits 4 (bit 2: a SMART command failed)", () => {
  const s = parseSmartctl(fixture("smartctl/qemu-devbox-x-sda.json"), 4);
  assert.equal(s.exit_status, 4);
  assert.deepEqual(s.exit_bits, [2]);
  assert.equal(s.available, true);
});

Deno.test("smartctl: NVMe health log", () => {
  const s = parseSmartctl(fixture("smartctl/qemu-devbox-a-nvme0.json"));
  assert.equal(s.protocol, "NVMe");
  assert.equal(s.serial, "EXNVME0001");
  assert.deepEqual(s.nvme_health, {
    critical_warning: 0,
    temperature_c: 50,
    available_spare: 0,
    available_spare_threshold: 0,
    percentage_used: 0,
    media_errors: 0,
    num_err_log_entries: 0,
    power_on_hours: 0,
    unsafe_shutdowns: 0,
  });
});

Deno.test("smartctl: SAS disk (real TOSHIBA AL13SXB60EN capture)", () => {
  const s = parseSmartctl(fixture("smartctl/freebsd-sas-toshiba-al13sxb60en-a.json"));
  assert.equal(s.protocol, "SCSI");
  assert.equal(s.model, "TOSHIBA AL13SXB60EN");
  assert.equal(s.firmware, "5702");
  assert.equal(s.passed, true);
  assert.equal(s.grown_defects, 0);
  assert.equal(s.uncorrected_read_errors, 0);
  assert.equal(s.power_on_hours, 64579);
  assert.equal(s.temperature_c, 41);
});

Deno.test("smartctl: a failing disk (edited capture) decodes health and exit bits", () => {
  const s = parseSmartctl(fixture("smartctl/edited-failing-ata-sda.json"));
  assert.equal(s.passed, false);
  assert.deepEqual(s.exit_bits, [3, 4, 6]);
  assert.equal(s.reallocated_sectors, 1480);
  assert.equal(s.pending_sectors, 16);
});

Deno.test("smartctl: a virtio disk (real dev VM capture) has no SMART", () => {
  const code = parseInt(fixture("smartctl/firecracker-devvm-a-vda.exit-status"), 10);
  const s = parseSmartctl(fixture("smartctl/firecracker-devvm-a-vda.json"), code);
  assert.equal(s.available, false);
  assert.match(s.message!, /Unable to detect device type/);
});

Deno.test("smartctl: exit status bits", () => {
  assert.deepEqual(exitBits(0), []);
  assert.deepEqual(exitBits(0xc4), [2, 6, 7]);
  assert.throws(() => parseSmartctl('{"foo":1}'), /smartctl/);
});

Deno.test("nvme-cli: id-ctrl and smart-log (qemu-devbox, nvme-cli 2.x strings for counters)", () => {
  const id = parseNvmeIdCtrl(fixture("nvme/qemu-devbox-id-ctrl-nvme0.json"));
  assert.deepEqual(id, {
    model: "QEMU NVMe Ctrl",
    serial: "EXNVME0001",
    firmware: "7.2.22",
    pci_vendor_id: 6966,
    warning_temp_c: 70,
    critical_temp_c: 100,
  });
  const h = parseNvmeSmartLog(fixture("nvme/qemu-devbox-smart-log-nvme0.json"));
  assert.equal(h.temperature_c, 50);
  assert.equal(h.media_errors, 0);
  assert.equal(h.available_spare_threshold, 0);
  assert.throws(() => parseNvmeSmartLog("[]"));
  assert.throws(() => parseNvmeSmartLog('{"x":1}'), /critical_warning/);
});

Deno.test("nvme smart-log: critical_warning as nvme-cli 2.11's object is read (edited real capture)", () => {
  const h = parseNvmeSmartLog(fixture("nvme/edited-qemu-devbox-smart-log-nvme0-cli2.11-shape.json"));
  assert.equal(h.critical_warning, 1);
  assert.equal(h.temperature_c, 50);
  // the plain number form still reads the same
  assert.equal(parseNvmeSmartLog(fixture("nvme/qemu-devbox-smart-log-nvme0.json")).critical_warning, 0);
});

Deno.test("smartctl --scan-open: a real scan with four drives behind a MegaRAID on SCSI host 10", () => {
  const all = parseSmartctlScan(fixture("smartctl/scan-megaraid-v6.1.txt"));
  assert.equal(all.length, 8);
  assert.deepEqual(all[0], { name: "/dev/sda", type: "scsi", info: "/dev/sda, SCSI device" });
  assert.deepEqual(all.filter((d) => d.type.startsWith("megaraid,")).map((d) => `${d.name} ${d.type}`), [
    "/dev/bus/10 megaraid,8",
    "/dev/bus/10 megaraid,9",
    "/dev/bus/10 megaraid,13",
    "/dev/bus/10 megaraid,14",
  ]);
  // what smartctl prints when it finds nothing, or a hostile line, is no device
  assert.deepEqual(parseSmartctlScan("\n/dev/sda; rm -rf / -d sat # x\nnot a scan line\n"), []);
});
