// Software RAID on the booted image (issue 24, item 1): two scratch disks on a guest, an md RAID 1 made with
// one member missing, judged while assembled (/proc/mdstat and mdadm --detail: FAIL) and after it is stopped
// (udev sees its member again and assembles nothing; the superblocks say 1 of 2 members: WARN). The outputs
// are kept in the logs folder — real captures of mdadm on bee's own image.
import assert from "node:assert/strict";
import type { Vm } from "../../testkit/qemu.ts";

/** qemu arguments for `n` empty 64 MiB virtio disks with serials BEEMD1… (files under `dir`). */
export function mdDiskArgs(dir: string, n = 2): string[] {
  const out: string[] = [];
  for (let i = 1; i <= n; i++) {
    const img = `${dir}/md${i}.img`;
    const f = Deno.openSync(img, { write: true, create: true, truncate: true });
    f.truncate(64 << 20);
    f.close();
    out.push(
      "-drive",
      `if=none,id=md${i},format=raw,file=${img}`,
      "-device",
      `virtio-blk-pci,drive=md${i},serial=BEEMD${i}`,
    );
  }
  return out;
}

const SCRIPT = `set -e
a=$(readlink -f /dev/disk/by-id/virtio-BEEMD1)
mdadm --create /dev/md/beetest --level=1 --raid-devices=2 --metadata=1.2 --run --force "$a" missing 2>&1
cat /proc/mdstat > /tmp/md-mdstat-degraded.txt
mdadm --detail /dev/md/beetest > /tmp/md-detail-degraded.txt
bee audit --output /tmp/md-assembled.json --no-qr >/dev/null 2>&1 || true
mdadm --stop /dev/md/beetest 2>&1
udevadm trigger --action=add --sysname-match="$(basename "$a")"
udevadm settle --timeout=30 || true
sleep 2
cat /proc/mdstat > /tmp/md-mdstat-after-udev.txt
mdadm --examine --scan --verbose > /tmp/md-examine-scan.txt
bee audit --output /tmp/md-stopped.json --no-qr >/dev/null 2>&1 || true
echo "member $a"
`;

type Finding = { code: string; severity: string; message: string };

/** Runs the scenario on `vm` over SSH; returns lines for the figures. */
export async function mdScenario(vm: Vm, key: string, logs: string): Promise<string[]> {
  const r = await vm.ssh(key, "sh -s", SCRIPT, 10 * 60_000);
  await Deno.writeTextFile(`${logs}/md-scenario.txt`, r.stdout + r.stderr);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const member = /member (\/dev\/\S+)/.exec(r.stdout)?.[1] ?? "?";
  const files: Record<string, string> = {};
  for (
    const f of [
      "md-mdstat-degraded.txt",
      "md-detail-degraded.txt",
      "md-mdstat-after-udev.txt",
      "md-examine-scan.txt",
      "md-assembled.json",
      "md-stopped.json",
    ]
  ) {
    const c = await vm.ssh(key, `cat /tmp/${f}`);
    assert.equal(c.code, 0, `${f}: ${c.stderr}`);
    files[f] = c.stdout;
    await Deno.writeTextFile(`${logs}/${f}`, c.stdout);
  }
  // assembled with a member missing: mdstat [2/1] [U_], mdadm "degraded": FAIL naming the array
  assert.match(files["md-mdstat-degraded.txt"]!, /\[2\/1\] \[U_\]/);
  const assembled = JSON.parse(files["md-assembled.json"]!);
  const md = assembled.hardware.storage.md_arrays?.[0];
  assert.ok(md, JSON.stringify(assembled.hardware.storage));
  assert.match(md.detail?.state ?? "", /degraded/);
  const f1 = assembled.hardware.summary.findings.find((x: Finding) => x.code === "storage.md_degraded");
  assert.equal(f1?.severity, "FAIL", JSON.stringify(assembled.hardware.summary.findings));
  // stopped: udev saw the member again and the image assembled nothing
  assert.doesNotMatch(files["md-mdstat-after-udev.txt"]!, /^md\d+ :/m, "an array was assembled on its own");
  // the superblocks still tell of it: 1 of its 2 members here, WARN
  assert.match(files["md-examine-scan.txt"]!, /^ARRAY .*num-devices=2/m);
  const stopped = JSON.parse(files["md-stopped.json"]!);
  const sb = stopped.hardware.storage.md_superblocks?.[0];
  assert.deepEqual([sb?.num_devices, sb?.devices], [2, [member]], JSON.stringify(stopped.hardware.storage));
  const f2 = stopped.hardware.summary.findings.find((x: Finding) => x.code === "storage.md_members_missing");
  assert.equal(f2?.severity, "WARN", JSON.stringify(stopped.hardware.summary.findings));
  return [`md assembled: ${f1.message}`, `md stopped: ${f2.message}`];
}
