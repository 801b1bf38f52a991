// Linux software RAID (issue 24, item 1, the md part): /proc/mdstat parsed from real captures, the array
// judged (degraded FAIL naming its members, rebuilding WARN), read by the storage collector.
import assert from "node:assert/strict";
import { parseMdstat } from "../bee/parsers/mdstat.ts";
import { parseMdadmDetail, parseMdadmScan } from "../bee/parsers/mdadm.ts";
import { judge, NO_HARDWARE } from "../bee/audit/verdict.ts";
import type { Hardware } from "../bee/model/schema.ts";
import { fixture } from "../testkit/helpers.ts";

const codes = (md: ReturnType<typeof parseMdstat>) =>
  judge({ ...NO_HARDWARE, storage: { disks: [], md_arrays: md } } as Omit<Hardware, "summary">, []).map((f) =>
    `${f.severity} ${f.code} ${f.message}`
  );

Deno.test("mdstat: a real degraded RAID1 ([2/1] [U_]) FAILs naming the array and its remaining member", () => {
  const md = parseMdstat(fixture("mdstat/public-srvlx01-raid1-degraded.txt"));
  assert.deepEqual(md[0], {
    name: "md0",
    state: "active",
    level: "raid1",
    members: [{ device: "sda1", role: 0, failed: false, spare: false }],
    raid_disks: 2,
    working_disks: 1,
    map: "U_",
    sync: null,
  });
  assert.deepEqual(codes(md), ["FAIL storage.md_degraded md0 (raid1) active [1/2] [U_]; members: sda1"]);
});

Deno.test("mdstat: a real healthy RAID1 is clean; a failed member, an inactive array and a rebuild are named", () => {
  assert.deepEqual(codes(parseMdstat(fixture("mdstat/public-raid1-healthy.txt"))), []);
  // hand-made in the kernel's layout: a failed member with the recovery onto its replacement
  const rebuilding = parseMdstat(`Personalities : [raid1]
md1 : active raid1 sdc1[2] sdb1[1](F) sda1[0]
      976630336 blocks super 1.2 [2/1] [U_]
      [=>...................]  recovery =  8.5% (83000000/976630336) finish=100.1min speed=148000K/sec

md127 : inactive sdd5[1](S)
      3905528 blocks super 1.2

unused devices: <none>
`);
  assert.equal(rebuilding[0]!.sync?.percent, 8.5);
  assert.equal(rebuilding[1]!.members[0]!.spare, true);
  const c = codes(rebuilding);
  assert.ok(
    c.includes(
      "FAIL storage.md_degraded md1 (raid1) active [1/2] [U_], failed: sdb1; members: sdc1, sdb1, sda1",
    ),
    c.join("\n"),
  );
  assert.ok(c.some((x) => x.startsWith("FAIL storage.md_degraded md127 (?) inactive")), c.join("\n"));
  assert.ok(c.includes("WARN storage.md_rebuilding md1: recovery 8.5 %"), c.join("\n"));
  assert.deepEqual(parseMdstat("Personalities : \nunused devices: <none>\n"), []);
});

Deno.test("mdadm --detail: the real broken reshape (md480) — FAILED, Not Started, five removed roles — FAILs saying so", () => {
  const d = parseMdadmDetail(fixture("mdadm/linux-raid-md480-detail-failed.txt"))!;
  assert.equal(d.state, "active, FAILED, Not Started");
  assert.equal(d.level, "raid5");
  assert.deepEqual([d.raid_devices, d.total_devices, d.working_devices, d.failed_devices], [5, 3, 3, 0]);
  assert.equal(d.uuid, "20211025:02005a7a:5a7abeef:cafebabe");
  assert.equal(d.members.length, 8);
  assert.deepEqual(d.members[5], { role: 3, state: "sync", device: "/dev/sdf1" });
  // the same mail's /proc/mdstat line, with the detail the collector attaches
  const md = parseMdstat("md480 : inactive sdf1[4] sdd1[1] sdc1[0]\n      46877239294 blocks super 1.2\n");
  const f = judge(
    {
      ...NO_HARDWARE,
      storage: {
        disks: [{ name: "sdd", serial: "ZR5DXXX1" }] as NonNullable<Hardware["storage"]>["disks"],
        md_arrays: [{ ...md[0]!, detail: d }],
      },
    } as Omit<Hardware, "summary">,
    [],
  ).map((x) => `${x.severity} ${x.code} ${x.message}`);
  assert.deepEqual(f, [
    "FAIL storage.md_degraded md480 (raid5) inactive; mdadm: active, FAILED, Not Started, 3 of 5 devices working; missing role(s) 0, 1, 2, 3, 4; members: sdf1, sdd1 (sdd, serial ZR5DXXX1), sdc1",
  ]);
});

Deno.test("mdadm --detail: a real clean RAID 1 passes; a faulty member (edited) FAILs naming its disk's serial", () => {
  const text = fixture("mdadm/forum-md127-detail-healthy.txt");
  const d = parseMdadmDetail(text)!;
  assert.deepEqual([d.state, d.level, d.raid_devices, d.name], [
    "clean",
    "raid1",
    2,
    "mycomputer:raid1 (local to host mycomputer)",
  ]);
  assert.deepEqual(d.members, [
    { role: 0, state: "active sync", device: "/dev/sdb" },
    { role: 1, state: "active sync", device: "/dev/sdc" },
  ]);
  const md = parseMdstat("md127 : active raid1 sdc[1] sdb[0]\n      976631488 blocks super 1.2 [2/2] [UU]\n");
  const disks = [{ name: "sdb", serial: "WD-AAA" }, { name: "sdc", serial: "WD-BBB" }] as NonNullable<
    Hardware["storage"]
  >["disks"];
  const judged = (detail: typeof d) =>
    judge(
      { ...NO_HARDWARE, storage: { disks, md_arrays: [{ ...md[0]!, detail }] } } as Omit<Hardware, "summary">,
      [],
    )
      .map((x) => `${x.severity} ${x.code} ${x.message}`);
  assert.deepEqual(judged(d), []);
  const faulty = parseMdadmDetail(
    text.replace("            State : clean", "            State : clean, degraded")
      .replace(
        "1       8       32        1      active sync   /dev/sdc",
        "1       8       32        1      faulty   /dev/sdc",
      ),
  )!;
  assert.deepEqual(judged(faulty), [
    "FAIL storage.md_degraded md127 (raid1) active [2/2] [UU], failed: sdc (sdc, serial WD-BBB); mdadm: clean, degraded, 2 of 2 devices working; members: sdc (sdc, serial WD-BBB), sdb (sdb, serial WD-AAA)",
  ]);
  assert.equal(parseMdadmDetail("mdadm: /dev/sdb does not appear to be an md device\n"), null);
});

Deno.test("mdadm --examine --scan: a real two-array listing parsed; an array not assembled missing a member WARNs", () => {
  const arrays = parseMdadmScan(fixture("mdadm/blog-nas-detail-scan-verbose.txt"));
  assert.deepEqual(arrays.map((a) => [a.device, a.level, a.num_devices, a.name, a.devices.length]), [
    ["/dev/md/nas", "raid5", 3, "nas:nas", 3],
    ["/dev/md1", "raid1", 2, "nas:0", 2],
  ]);
  assert.equal(arrays[1]!.uuid, "8d8b6ab0:e5808d8c:3309ef43:6cddd059");
  assert.deepEqual(arrays[1]!.devices, ["/dev/sdf1", "/dev/sdg1"]);
  const judged = (
    md_superblocks: typeof arrays,
    md_arrays: NonNullable<Hardware["storage"]>["md_arrays"] = [],
  ) =>
    judge(
      {
        ...NO_HARDWARE,
        storage: {
          disks: [{ name: "sdf", serial: "S3YJNX0K" }] as NonNullable<Hardware["storage"]>["disks"],
          md_superblocks,
          md_arrays,
        },
      } as Omit<Hardware, "summary">,
      [],
    ).map((x) => `${x.severity} ${x.code} ${x.component} ${x.message}`);
  // whole arrays on the disks are no finding
  assert.deepEqual(judged(arrays), []);
  // the boot pair with one disk gone (edited: the listing as the disks would give it)
  const oneGone = parseMdadmScan(
    fixture("mdadm/blog-nas-detail-scan-verbose.txt").replace(
      "devices=/dev/sdf1,/dev/sdg1",
      "devices=/dev/sdf1",
    ),
  );
  assert.deepEqual(judged(oneGone), [
    "WARN storage.md_members_missing storage:md:8d8b6ab0:e5808d8c:3309ef43:6cddd059 md array nas:0 (raid1, UUID 8d8b6ab0:e5808d8c:3309ef43:6cddd059) is not assembled and has 1 of its 2 members here: sdf1 (sdf, serial S3YJNX0K)",
  ]);
  // assembled, the same array is judged by md_degraded from /proc/mdstat and mdadm --detail instead
  const md = parseMdstat("md1 : active raid1 sdf1[0]\n      46848 blocks super 1.2 [2/1] [U_]\n");
  const detail = {
    ...parseMdadmDetail(fixture("mdadm/forum-md127-detail-healthy.txt"))!,
    uuid: arrays[1]!.uuid,
  };
  assert.deepEqual(
    judged(oneGone, [{ ...md[0]!, detail }]).map((x) => x.split(" ")[1]),
    ["storage.md_degraded"],
  );
  assert.deepEqual(parseMdadmScan("mdadm: No arrays found in config file or automatically\n"), []);
});

Deno.test("mdadm on bee's own image (QEMU capture): a RAID 1 with a member missing FAILs assembled, WARNs stopped", () => {
  const md = parseMdstat(fixture("mdstat/qemu-bee-raid1-degraded.txt"));
  const detail = parseMdadmDetail(fixture("mdadm/qemu-bee-detail-degraded.txt"))!;
  assert.equal(detail.state, "clean, degraded");
  assert.equal(detail.name, "bee:beetest (local to host bee)");
  assert.deepEqual(detail.members, [
    { role: 0, state: "active sync", device: "/dev/vda" },
    { role: 1, state: "removed", device: null },
  ]);
  const superblocks = parseMdadmScan(fixture("mdadm/qemu-bee-examine-scan-verbose.txt"));
  assert.deepEqual(superblocks, [{
    device: "/dev/md/beetest",
    level: "raid1",
    num_devices: 2,
    metadata: "1.2",
    uuid: "fe9134b0:ba303b13:1daf974a:735f35e3",
    name: null,
    devices: ["/dev/vda"],
  }]);
  const disks = [{ name: "vda", serial: "BEEMD1" }] as NonNullable<Hardware["storage"]>["disks"];
  const judged = (storage: Partial<NonNullable<Hardware["storage"]>>) =>
    judge({ ...NO_HARDWARE, storage: { disks, ...storage } } as Omit<Hardware, "summary">, [])
      .map((x) => `${x.severity} ${x.code} ${x.message}`);
  // assembled: md_degraded FAILs, and the superblock view of the same array (same UUID) adds nothing
  assert.deepEqual(judged({ md_arrays: [{ ...md[0]!, detail }], md_superblocks: superblocks }), [
    "FAIL storage.md_degraded md127 (raid1) active [1/2] [U_]; mdadm: clean, degraded, 1 of 2 devices working; missing role(s) 1; members: vda (vda, serial BEEMD1)",
  ]);
  // stopped: only the superblocks tell of it
  assert.deepEqual(judged({ md_superblocks: superblocks }), [
    "WARN storage.md_members_missing md array /dev/md/beetest (raid1, UUID fe9134b0:ba303b13:1daf974a:735f35e3) is not assembled and has 1 of its 2 members here: vda (vda, serial BEEMD1)",
  ]);
});
