// `deno run -A tasks/capture_qemu.ts ISO KEY OUTDIR`: boots a bee ISO under QEMU with an emulated BMC
// (ipmi-bmc-sim on KCS) and captures real tool output from the live system over SSH into OUTDIR — the
// fixtures of the BMC and network collectors (tests/fixtures/*/qemu-bee-*). The SEL gets real entries
// from ipmitool's own `event` command (the BMC logs them as it would a sensor's), then is listed.
import { bmcArgs, makeStickImage, usbStickArgs, Vm } from "../testkit/qemu.ts";

const [iso, key, out] = Deno.args;
if (!iso || !key || !out) {
  console.error("usage: capture_qemu.ts ISO SSH_KEY OUTDIR");
  Deno.exit(2);
}
await Deno.mkdir(out, { recursive: true });
makeStickImage(`${out}/stick.img`);
const vm = new Vm({
  iso,
  dir: out,
  name: "capture",
  firmware: "bios",
  memMiB: 2048,
  cpus: 2,
  serial: "BEE-CAPTURE-1",
  dhcp: true,
  extraArgs: [
    ...bmcArgs(),
    // a USB stick with one ext4 partition, as an operator plugs one in for bee export
    ...usbStickArgs(`${out}/stick.img`),
  ],
});
/** Add SEL Entry (NetFn storage 0Ah, cmd 44h): a system-event record whose timestamp the BMC sets. */
const addSel = (sensorType: number, sensorNum: number, dirType: number, data1: number) =>
  `ipmitool raw 0x0a 0x44 0x00 0x00 0x02 0x00 0x00 0x00 0x00 0x20 0x00 0x04 ${
    [sensorType, sensorNum, dirType, data1].map((b) => `0x${b.toString(16).padStart(2, "0")}`).join(" ")
  } 0xff 0xff >/dev/null`;
/** Events as a failing server logs them (IPMI 2.0 tables 36-1, 42-3). */
const EVENTS = [
  addSel(0x01, 0x30, 0x01, 0x09), // temperature: upper critical going high
  addSel(0x01, 0x30, 0x81, 0x09), // … deasserted
  addSel(0x04, 0x40, 0x01, 0x02), // fan: lower critical going low
  addSel(0x0c, 0x53, 0x6f, 0x00), // memory: correctable ECC
  addSel(0x0c, 0x53, 0x6f, 0x01), // memory: uncorrectable ECC
  addSel(0x07, 0x01, 0x6f, 0x00), // processor: IERR
  addSel(0x08, 0x70, 0x6f, 0x01), // power supply: failure detected
  addSel(0x13, 0x50, 0x6f, 0x05), // critical interrupt: PCI SERR
  addSel(0x0f, 0x01, 0x6f, 0x02), // system firmware progress (informational)
];
const CAPTURES: [string, string][] = [
  ["lsblk-usb-stick.json", "lsblk -J -b -o NAME,PATH,TYPE,TRAN,RM,RO,SIZE,FSTYPE,LABEL,MOUNTPOINT"],
  ["ipmitool-mc-info.txt", "ipmitool mc info"],
  ["ipmitool-sel-elist-empty.txt", "ipmitool sel clear >/dev/null; sleep 2; ipmitool sel elist 2>&1"],
  ["ipmitool-sel-elist.txt", `${EVENTS.join("; ")}; sleep 1; ipmitool sel elist`],
  ["ipmitool-sdr-elist.txt", "ipmitool sdr elist"],
  ["ethtool-i.txt", "ethtool -i $(ls /sys/class/net | grep -v lo | head -1)"],
  ["net-device-links.txt", 'for n in /sys/class/net/*; do echo "$n -> $(readlink -f $n/device)"; done'],
];
try {
  await vm.start();
  console.error(`booting ${iso} …`);
  const s = await vm.waitForSsh(key, 900);
  console.error(`SSH after ${s} s`);
  for (const [file, cmd] of CAPTURES) {
    const r = await vm.ssh(key, cmd);
    await Deno.writeTextFile(`${out}/${file}`, r.stdout + (r.stderr ? `\n# stderr: ${r.stderr}` : ""));
    console.error(`${file}: exit ${r.code}, ${r.stdout.length} bytes`);
  }
} finally {
  await vm.stop();
}
