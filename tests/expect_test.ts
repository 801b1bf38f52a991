// The machine against the order: `bee expect --from-audit` and `bee audit --expect` through the real launcher
// on the qemu-devbox replay (real captures of QEMU's emulated server), and the comparison rules on real
// parsed data (the A6000 nvidia-smi capture) with hand-written order lines.
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { Audit } from "../bee/model/schema.ts";
import { parseNvidiaSmiQ } from "../bee/parsers/nvidia_smi.ts";
import { compareExpect } from "../bee/expect/compare.ts";
import { expectFromAudit } from "../bee/expect/from_audit.ts";
import { parseExpect } from "../bee/expect/load.ts";
import type { Expect } from "../bee/model/expect.ts";
import { NO_HARDWARE } from "../bee/audit/verdict.ts";
import { fakeBin, fixture, qemuDevboxRoot, qemuDevboxTools, runBee } from "../testkit/helpers.ts";

const readAudit = (p: string) => Audit.parse(JSON.parse(Deno.readTextFileSync(p)));

/** The qemu-devbox audit, made once by the real launcher (fake tools print its captured outputs). */
let devbox: { audit: Audit; root: string; bin: string } | null = null;
async function devboxAudit() {
  if (devbox) return devbox;
  const bin = fakeBin();
  qemuDevboxTools(bin);
  const root = qemuDevboxRoot();
  const out = `${Deno.makeTempDirSync()}/audit.json`;
  const r = await runBee(["audit", "--root", root, "--output", out, "--no-qr"], { path: bin });
  assert.equal(r.code, 0, r.stderr);
  devbox = { audit: readAudit(out), root, bin };
  return devbox;
}

async function auditAgainst(order: string) {
  const { root, bin } = await devboxAudit();
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/order.yaml`, order);
  const r = await runBee(
    ["audit", "--root", root, "--output", `${dir}/audit.json`, "--no-qr", "--expect", `${dir}/order.yaml`],
    { path: bin },
  );
  return { r, audit: r.code === 0 ? readAudit(`${dir}/audit.json`) : null };
}

Deno.test("expect: --from-audit of the devbox is an order it meets (as ordered: yes), lines with count:", async () => {
  const { audit } = await devboxAudit();
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/audit.json`, JSON.stringify(audit));
  const r = await runBee(["expect", "--from-audit", `${dir}/audit.json`], { path: fakeBin() });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^# bee expected bill of materials/);
  const order = parseYaml(r.stdout) as Expect;
  assert.deepEqual(order.disks, [
    { count: 1, model: "EXAMPLE SSD 480", size_gb: 1.07, transport: "sata", firmware: "2.5+" },
    { count: 2, model: "QEMU NVMe Ctrl", size_gb: 1.07, transport: "nvme", firmware: "7.2.22" },
  ]);
  assert.deepEqual(order.cpus, [{ count: 1, model: "ExampleCPU 3000", cores: 2 }]);
  assert.deepEqual(order.memory, [{ count: 1, size_gb: 6, type: "RAM", speed_mts: 3200 }]);
  assert.deepEqual(order.nics, [
    { count: 1, model: "Red Hat, Inc. Virtio network device", ports: 1, speed_gbps: 1 },
  ]);
  assert.deepEqual(order.system, { manufacturer: "Example Corp", product: "EX-1U-S" });
  assert.deepEqual(order.bmc, { firmware: "0.00" });
  // --output writes the same text (atomically)
  const w = await runBee(["expect", "--from-audit", `${dir}/audit.json`, "-o", `${dir}/order.yaml`], {
    path: fakeBin(),
  });
  assert.equal(w.code, 0, w.stderr);
  assert.equal(Deno.readTextFileSync(`${dir}/order.yaml`), r.stdout);
  const c = await runBee(["expect", "--check", `${dir}/order.yaml`], { path: fakeBin() });
  assert.match(c.stdout, /valid \(Example Corp EX-1U-S\): cpus 1, memory 1, disks 3, gpus -, nics 1, psus -/);

  const met = await auditAgainst(r.stdout);
  assert.equal(met.r.code, 0, met.r.stderr);
  assert.equal(
    met.audit!.hardware.summary.verdict,
    "PASS",
    JSON.stringify(met.audit!.hardware.summary.findings),
  );
  assert.deepEqual(met.audit!.expect, {
    name: "Example Corp EX-1U-S",
    source: met.audit!.expect!.source,
    as_ordered: true,
    differences: 0,
    lines: 8,
  });
  assert.match(
    met.r.stdout,
    /VERDICT: PASS .*\nas ordered: yes \(Example Corp EX-1U-S\), 8 line\(s\) checked/,
  );
});

Deno.test("expect: an order of 3 NVMe drives on the devbox (it has 2) is a FAIL naming the line", async () => {
  const { r, audit } = await auditAgainst(`bee_expect: 1
name: EX-1U-S with 3 NVMe
disks:
  - model: QEMU NVMe Ctrl
    count: 3
  - model: EXAMPLE SSD 480
    count: 1
`);
  assert.equal(r.code, 0, r.stderr);
  console.log(r.stdout.split("\n").slice(0, 5).join("\n")); // shown in the note
  const s = audit!.hardware.summary;
  assert.equal(s.verdict, "FAIL");
  assert.deepEqual(s.findings.map((f) => `${f.severity} ${f.code} ${f.component}`), [
    "FAIL bom.missing bom:disks#1",
  ]);
  assert.match(
    s.findings[0]!.message,
    /^ordered 3 × QEMU NVMe Ctrl, found 2 \(\/dev\/nvme1n1: QEMU NVMe Ctrl 1\.07 GB serial EXNVME0002; \/dev\/nvme0n1: .*\)$/,
  );
  assert.equal(audit!.expect!.as_ordered, false);
  assert.match(
    r.stdout,
    /VERDICT: FAIL .*\nas ordered: NO \(EX-1U-S with 3 NVMe\), 1 difference\(s\) from 2 line\(s\)/,
  );
});

Deno.test("expect: extra parts, firmware per line (WARN, FAIL or ignore), link speed, system", async () => {
  const { audit } = await devboxAudit();
  const hw = audit.hardware;
  const order = (o: Omit<Expect, "bee_expect">): Expect => ({ bee_expect: 1, ...o });
  const run = (o: Omit<Expect, "bee_expect">) =>
    compareExpect(hw, order(o)).map((h) => `${h.severity} ${h.code} ${h.component}: ${h.message}`);
  // one NVMe ordered: the second is beyond the order; the SATA disk fits no line
  assert.deepEqual(run({ disks: [{ count: 1, model: "nvme ctrl" }] }), [
    "FAIL bom.extra bom:disks#1: ordered 1 × nvme ctrl, found 2 (/dev/nvme0n1: QEMU NVMe Ctrl 1.07 GB serial EXNVME0001 beyond the order)",
    "FAIL bom.extra bom:disks: 1 not in the order: /dev/sda: EXAMPLE SSD 480 1.07 GB serial EXSATA0001",
  ]);
  // other firmware: WARN by default, the line's on_firmware otherwise
  const fw = { count: 2, model: "QEMU NVMe", firmware: "7.3.0" };
  assert.deepEqual(run({ disks: [fw, { count: 1 }] }), [
    "WARN bom.firmware bom:disks#1: firmware 7.3.0 ordered; 2 differ: /dev/nvme1n1 7.2.22, /dev/nvme0n1 7.2.22",
  ]);
  assert.match(run({ disks: [{ ...fw, on_firmware: "FAIL" }, { count: 1 }] })[0]!, /^FAIL bom\.firmware/);
  assert.deepEqual(run({ disks: [{ ...fw, on_firmware: "ignore" }, { count: 1 }] }), []);
  // a missing part may be only a warning for a line that says so
  assert.deepEqual(run({ disks: [{ count: 4, size_gb: 1.07, on_missing: "WARN" }] }), [
    "WARN bom.missing bom:disks#1: ordered 4 × 1.07 GB, found 3 (/dev/sda: EXAMPLE SSD 480 1.07 GB serial EXSATA0001; /dev/nvme1n1: QEMU NVMe Ctrl 1.07 GB serial EXNVME0002; /dev/nvme0n1: QEMU NVMe Ctrl 1.07 GB serial EXNVME0001)",
  ]);
  // size is matched within 2 %: 1.2 GB drives are not these
  assert.match(run({ disks: [{ count: 3, size_gb: 1.2 }] })[0]!, /^FAIL bom\.missing .*found 0$/);
  // the NIC links at 1 Gb/s; a 10 Gb/s order is a slow link
  assert.deepEqual(run({ nics: [{ count: 1, model: "virtio", speed_gbps: 10 }] }), [
    "WARN bom.link bom:nics#1: eth0 (Red Hat, Inc. Virtio network device): link at 1 Gb/s, the order says 10 Gb/s",
  ]);
  assert.deepEqual(run({ system: { product: "EX-2U" }, bios: { version: "1.0.3" } }), [
    'FAIL bom.system bom:system: system product is "EX-1U-S", the order says "EX-2U"',
  ]);
  assert.deepEqual(run({ bios: { version: "1.1.0" } }), [
    "WARN bom.firmware bom:bios: BIOS version is 1.0.3, the order says 1.1.0",
  ]);
  // the DIMM: one 6 GiB module at 3200 MT/s; a 4800 MT/s order has none of it
  assert.deepEqual(run({ memory: [{ count: 1, size_gb: 6, speed_mts: 4800 }] }), [
    "FAIL bom.missing bom:memory#1: ordered 1 × 6 GB 4800 MT/s, found 0",
    "FAIL bom.extra bom:memory: 1 not in the order: DIMM 0: 6.00 GB RAM 3200 MT/s EXM-16G",
  ]);
});

Deno.test("expect: GPUs from the real A6000 capture — count, VBIOS and InfoROM; no driver → PCI names, unchecked", () => {
  const nvidia = parseNvidiaSmiQ(fixture("nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt"));
  assert.equal(nvidia.gpus[0]!.inforom_image, "G133.0500.00.05");
  const hw = { ...NO_HARDWARE, nvidia };
  const run = (gpus: Expect["gpus"]) =>
    compareExpect(hw, { bee_expect: 1, gpus }).map((h) => `${h.severity} ${h.code}: ${h.message}`);
  assert.deepEqual(run([{ count: 3, model: "RTX A6000", memory_gib: 48, vbios: "94.02.5C.00.02" }]), []);
  // nvidia-smi shows 46068 MiB of the 48 GB label (ECC on GDDR6): within 10 %, while 40 GB is not
  assert.match(run([{ count: 3, memory_gib: 40 }])[0]!, /^FAIL bom\.missing/);
  // an 8-GPU order of this 3-GPU capture: 5 missing, FAIL
  assert.match(run([{ count: 8, model: "A6000" }])[0]!, /^FAIL bom\.missing: ordered 8 × A6000, found 3 /);
  assert.deepEqual(run([{ count: 3, model: "A6000", inforom: "G133.0500.00.06" }]), [
    "WARN bom.firmware: InfoROM G133.0500.00.06 ordered; 3 differ: 0000:4f:00.0 G133.0500.00.05, 0000:52:00.0 G133.0500.00.05, 0000:53:00.0 G133.0500.00.05",
  ]);
  // an H100 order on A6000s: none fit, all three are extra
  assert.deepEqual(run([{ count: 3, model: "H100" }]).map((l) => l.split(":")[0]), [
    "FAIL bom.missing",
    "FAIL bom.extra",
  ]);
  // no GPU section and no PCI section: the line cannot be checked — never reported as met
  assert.deepEqual(compareExpect(NO_HARDWARE, { bee_expect: 1, gpus: [{ count: 1 }] }).map((h) => h.code), [
    "bom.unchecked",
  ]);
});

Deno.test("expect: order files — one-line errors for bad YAML, unknown keys, wrong types; JSON is accepted", async () => {
  assert.throws(
    () => parseExpect("bee_expect: 1\ndisks: [\n", "o.yaml"),
    /^Error: o\.yaml: not valid YAML\/JSON \(line \d+/,
  );
  assert.throws(
    () => parseExpect("bee_expect: 1\ndisk:\n  - count: 1\n", "o.yaml"),
    /o\.yaml: \(top\): Unrecognized key: "disk"/,
  );
  assert.throws(
    () => parseExpect("bee_expect: 1\ndisks:\n  - count: two\n", "o.yaml"),
    /o\.yaml: disks\[0\]\.count: /,
  );
  assert.throws(() => parseExpect("disks: []\n", "o.yaml"), /o\.yaml: bee_expect: /);
  assert.throws(() => parseExpect("- 1\n", "o.yaml"), /expected a mapping with bee_expect: 1/);
  assert.throws(
    () => parseExpect("bee_expect: 1\ndisks:\n  - count: 1\n    on_missing: maybe\n", "o.yaml"),
    /disks\[0\]\.on_missing: /,
  );
  assert.deepEqual(parseExpect('{"bee_expect": 1, "gpus": [{"count": 8, "model": "H100"}]}', "o.json").gpus, [
    { count: 8, model: "H100" },
  ]);
  // through the CLI: one line, exit 2, no audit written
  const { root, bin } = await devboxAudit();
  const dir = Deno.makeTempDirSync();
  const r = await runBee(
    ["audit", "--root", root, "--output", `${dir}/a.json`, "--no-qr", "--expect", `${dir}/none.yaml`],
    { path: bin },
  );
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), `bee: cannot read expectation ${dir}/none.yaml: no such file`);
  assert.equal(await Deno.stat(`${dir}/a.json`).catch(() => null), null);
  const bad = await runBee(["expect", "--from-audit", `${FIXTURE_NOT_AUDIT}`], { path: fakeBin() });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^bee: .*: not a bee audit \(/);
});

const FIXTURE_NOT_AUDIT = new URL("./fixtures/nvme/qemu-devbox-list.json", import.meta.url).pathname;

Deno.test("expect: from-audit pins firmware only where every part of a line agrees", () => {
  const nvidia = parseNvidiaSmiQ(fixture("nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt"));
  const audit = { hardware: { ...NO_HARDWARE, nvidia } } as unknown as Audit;
  const e = expectFromAudit(audit);
  assert.deepEqual(e.gpus, [{
    count: 3,
    model: "NVIDIA RTX A6000",
    memory_gib: 45,
    vbios: "94.02.5C.00.02",
    inforom: "G133.0500.00.05",
  }]);
  nvidia.gpus[1]!.vbios = "94.02.5C.00.03";
  assert.equal(expectFromAudit(audit).gpus![0]!.vbios, undefined);
});
