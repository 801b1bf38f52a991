// Results leave the machine: `bee export` through the real launcher onto a real filesystem on a loop device
// (real mount, sync, umount; lsblk is a fake that presents the loop device as a USB stick, in the shape of the
// real capture below), full and read-only targets, and the web page's one-click bundle checked with the real
// tar and sha256sum.
import assert from "node:assert/strict";
import { fakeBin, fixture, REPO, runBee, writeFakeTool } from "../testkit/helpers.ts";
import { passAudit } from "../testkit/web_fixtures.ts";
import { usbTargets } from "../bee/export/usb.ts";
import { makeHandler } from "../bee/web/handler.ts";

const dec = new TextDecoder();
const sh = async (c: string) => {
  const o = await new Deno.Command("sh", { args: ["-c", c] }).output();
  return { code: o.code, out: dec.decode(o.stdout).trim(), err: dec.decode(o.stderr).trim() };
};

/** An audit (serial SN-EXPORT-7) and two archives (random bytes: export copies, it does not read them). */
function results(archiveBytes = 300_000) {
  const dir = Deno.makeTempDirSync({ prefix: "bee-export-src-" });
  const a = passAudit();
  a.hardware.board!.system.serial = "SN-EXPORT-7";
  Deno.writeTextFileSync(`${dir}/bee-audit.json`, JSON.stringify(a));
  Deno.mkdirSync(`${dir}/sat`);
  for (const k of ["memory", "storage"]) {
    const b = new Uint8Array(archiveBytes);
    for (let i = 0; i < b.length; i += 65536) crypto.getRandomValues(b.subarray(i, i + 65536));
    Deno.writeFileSync(`${dir}/sat/bee-sat-${k}-SN-EXPORT-7-20261130T010203Z.tar.gz`, b);
  }
  return { audit: `${dir}/bee-audit.json`, sat: `${dir}/sat` };
}

/** PATH with the real mount, umount, sync, df and a fake lsblk. */
function pathWith(lsblkJson: string | null, df?: string): string {
  const bin = fakeBin();
  for (const t of ["mount", "umount", "sync", ...(df ? [] : ["df"])]) {
    const real = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map((d) => `${d}/${t}`).find((p) => {
      try {
        return Deno.statSync(p).isFile;
      } catch {
        return false;
      }
    })!;
    Deno.symlinkSync(real, `${bin}/${t}`);
  }
  if (lsblkJson !== null) writeFakeTool(bin, "lsblk", [{ args: "-J -b -o *", text: lsblkJson }]);
  if (df) writeFakeTool(bin, "df", [{ args: "*", text: df }]);
  return bin;
}

/** A loop device carrying an ext4 filesystem of `mib` MiB. */
async function loopStick(mib: number): Promise<{ dev: string; img: string; done: () => Promise<void> }> {
  const img = `${Deno.makeTempDirSync()}/stick.img`;
  const mk = await sh(
    `truncate -s ${mib}M ${img} && mkfs.ext4 -q -L BEESTICK ${img} && losetup -f --show ${img}`,
  );
  assert.equal(mk.code, 0, `this test needs root and a loop device: ${mk.err}`);
  return { dev: mk.out, img, done: async () => void (await sh(`losetup -d ${mk.out}`)) };
}

/** The lsblk JSON of the real USB capture with the device renamed to `dev` (shape kept, values real). */
function lsblkFor(dev: string, o: { ro?: boolean } = {}): string {
  const doc = JSON.parse(fixture("lsblk/qemu-bee-usb-stick.json"));
  const stick = doc.blockdevices.find((d: { tran: string }) => d.tran === "usb");
  const part = stick.children[0];
  Object.assign(part, { name: dev.slice(5), path: dev, ro: !!o.ro, mountpoint: null });
  return JSON.stringify(doc);
}

async function mountedFiles(img: string): Promise<string> {
  const mnt = Deno.makeTempDirSync();
  const m = await sh(`mount -o ro,loop ${img} ${mnt}`);
  assert.equal(m.code, 0, m.err);
  try {
    const r = await sh(
      `cd ${mnt} && ls && for d in bee-*; do (cd "$d" && find . -type f | sort && sha256sum -c MANIFEST.sha256); done`,
    );
    return r.out;
  } finally {
    await sh(`umount ${mnt}`);
  }
}

Deno.test("usb: the real lsblk of the live ISO with a USB stick — its ext4 partition, never the CD or a SATA disk", () => {
  const t = usbTargets(fixture("lsblk/qemu-bee-usb-stick.json"));
  assert.equal(t.length, 1);
  assert.equal(t[0]!.fstype, "ext4");
  assert.equal(t[0]!.label, "BEESTICK");
  assert.equal(t[0]!.readOnly, false);
  assert.match(t[0]!.device, /^\/dev\/sd[a-z]1$/);
  // the dd'd ISO stick bee booted from (iso9660) is no target, nor is anything not USB/removable
  const iso = JSON.stringify({
    blockdevices: [{
      name: "sdc",
      path: "/dev/sdc",
      type: "disk",
      tran: "usb",
      rm: true,
      ro: false,
      size: 8e9,
      fstype: "iso9660",
      label: "bee",
      mountpoint: null,
      children: [{ name: "sdc2", path: "/dev/sdc2", type: "part", fstype: "vfat", mountpoint: null }],
    }],
  });
  assert.deepEqual(usbTargets(iso), []);
  assert.throws(() => usbTargets("lsblk: unknown column"), /no JSON/);
});

Deno.test("export: finds the stick, mounts it, writes audit + archives + manifest, syncs, unmounts", async () => {
  const src = results();
  const stick = await loopStick(16);
  try {
    const r = await runBee(["export", "--audit", src.audit, "--sat-dir", src.sat], {
      path: pathWith(lsblkFor(stick.dev)),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout.trim(),
      new RegExp(
        `^exported 3 file\\(s\\) to ${stick.dev}: bee-SN-EXPORT-7-\\d{8}T\\d{6}Z/; unmounted — the stick can be removed$`,
      ),
    );
    assert.match(r.stderr, /bee export: 3 file\(s\), 0\.6 MB → bee-SN-EXPORT-7-/);
    const mounts = await Deno.readTextFile("/proc/mounts");
    assert.ok(!mounts.includes(stick.dev), "the stick is unmounted afterwards");
    const listing = await mountedFiles(stick.img);
    assert.match(listing, /^bee-SN-EXPORT-7-\d{8}T\d{6}Z\nlost\+found\n/);
    assert.match(
      listing,
      /\.\/MANIFEST\.sha256\n\.\/bee-audit\.json\n\.\/sat\/bee-sat-memory-SN-EXPORT-7-20261130T010203Z\.tar\.gz\n/,
    );
    assert.match(
      listing,
      /bee-audit\.json: OK\nsat\/bee-sat-memory-[^\n]*: OK\nsat\/bee-sat-storage-[^\n]*: OK$/,
    );
  } finally {
    await stick.done();
  }
});

Deno.test("export: a stick too small is refused before writing; one line, nothing on it", async () => {
  const src = results(3_000_000);
  const stick = await loopStick(4);
  try {
    const r = await runBee(["export", "--audit", src.audit, "--sat-dir", src.sat], {
      path: pathWith(lsblkFor(stick.dev)),
    });
    assert.equal(r.code, 1);
    const errs = r.stderr.trim().split("\n").filter((l) => l.startsWith("bee:"));
    assert.equal(errs.length, 1, r.stderr);
    assert.match(
      errs[0]!,
      /^bee: not enough space on \S+: the export needs 7\.\d MB, [\d.]+ MB free; nothing was written$/,
    );
    assert.ok(!(await Deno.readTextFile("/proc/mounts")).includes(stick.dev), "unmounted after the refusal");
    assert.equal(await mountedFiles(stick.img), "lost+found");
  } finally {
    await stick.done();
  }
});

Deno.test("export: a stick that fills up mid-way (df wrong) leaves no half-written export, says it is full", async () => {
  const src = results(3_000_000);
  const stick = await loopStick(4);
  try {
    const r = await runBee(["export", "--audit", src.audit, "--sat-dir", src.sat], {
      path: pathWith(lsblkFor(stick.dev), "Avail\n999999999999\n"),
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /bee: export not written: \S+ is full; nothing was left under bee-SN-EXPORT-7-\S+\n/,
    );
    assert.equal(await mountedFiles(stick.img), "lost+found", "the partial folder was removed");
  } finally {
    await stick.done();
  }
});

Deno.test("export: read-only stick, read-only folder, no stick, several sticks — one line each", async () => {
  const src = results(1000);
  const args = ["export", "--audit", src.audit, "--sat-dir", src.sat];
  const ro = await runBee(args, { path: pathWith(lsblkFor("/dev/sdz1", { ro: true })) });
  assert.equal(ro.code, 1);
  assert.match(ro.stderr, /^bee: \/dev\/sdz1 is read-only \(write-protect switch\?\); nothing was written$/m);
  const none = await runBee(args, { path: pathWith(JSON.stringify({ blockdevices: [] })) });
  assert.match(
    none.stderr,
    /^bee: no USB stick found: plug one in \(FAT, exFAT or ext4\) and run again, or name a folder with --to DIR$/m,
  );
  const doc = JSON.parse(lsblkFor("/dev/sdy1"));
  const two = structuredClone(doc.blockdevices.find((d: { tran: string }) => d.tran === "usb"));
  two.name = "sdx";
  two.path = "/dev/sdx";
  two.children[0].path = "/dev/sdx1";
  doc.blockdevices.push(two);
  const several = await runBee(args, { path: pathWith(JSON.stringify(doc)) });
  assert.equal(several.code, 2);
  assert.match(
    several.stderr,
    /several USB filesystems: \/dev\/sdy1 \(ext4 "BEESTICK", .*\), \/dev\/sdx1 .*; pick one with --device/,
  );
  // a folder on a read-only filesystem
  const mnt = Deno.makeTempDirSync();
  assert.equal((await sh(`mount -t tmpfs -o ro,size=8m tmpfs ${mnt}`)).code, 0);
  try {
    const r = await runBee([...args, "--to", mnt], { path: pathWith(null) });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`bee: export not written: ${mnt} is read-only .*; nothing was left under bee-SN-EXPORT-7-`),
    );
  } finally {
    await sh(`umount ${mnt}`);
  }
});

Deno.test("web: /bundle.tar is audit + every archive + MANIFEST.sha256, length known up front, serial in its name", async () => {
  const src = results(200_000);
  const handler = makeHandler({ auditPath: src.audit, satDir: src.sat });
  const r = await handler(new Request("http://bee.test/bundle.tar"));
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "application/x-tar");
  assert.match(
    r.headers.get("content-disposition")!,
    /^attachment; filename="bee-SN-EXPORT-7-\d{8}T\d{6}Z\.tar"$/,
  );
  const body = new Uint8Array(await r.arrayBuffer());
  assert.equal(body.length, Number(r.headers.get("content-length")));
  const dir = Deno.makeTempDirSync();
  Deno.writeFileSync(`${dir}/b.tar`, body);
  const x = await sh(
    `cd ${dir} && tar -xf b.tar && cd bee-SN-EXPORT-7-* && sha256sum -c MANIFEST.sha256 && cmp bee-audit.json ${src.audit}`,
  );
  assert.equal(x.code, 0, x.err);
  assert.match(
    x.out,
    /bee-audit\.json: OK\nsat\/bee-sat-memory-SN-EXPORT-7-20261130T010203Z\.tar\.gz: OK\nsat\/bee-sat-storage-[^\n]*: OK/,
  );
  const head = await handler(new Request("http://bee.test/bundle.tar", { method: "HEAD" }));
  assert.equal(head.headers.get("content-length"), r.headers.get("content-length"));
  // nothing to bundle: not found
  const empty = makeHandler({ auditPath: `${dir}/none.json`, satDir: `${dir}/none` });
  assert.equal((await empty(new Request("http://bee.test/bundle.tar"))).status, 404);
});

/** UTC stamps (YYYYMMDDTHHMMSSZ) of the next `n` seconds. */
function nextStamps(n: number): string[] {
  const out: string[] = [];
  for (let i = -1; i < n; i++) {
    out.push(new Date(Date.now() + i * 1000).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z"));
  }
  return out;
}

Deno.test("22.3: links planted on the stick for the coming seconds never lead the export off the stick", async () => {
  const src = results();
  const stick = await loopStick(16);
  const host = Deno.makeTempDirSync({ prefix: "bee-host-target-" });
  try {
    // the stick carries links named like the next seconds' export folders (and their partial folders),
    // pointing at a host directory
    const mnt = Deno.makeTempDirSync();
    assert.equal((await sh(`mount ${stick.dev} ${mnt}`)).code, 0);
    for (const t of nextStamps(20)) {
      const name = `bee-SN-EXPORT-7-${t}`;
      Deno.symlinkSync(host, `${mnt}/${name}`);
      Deno.symlinkSync(host, `${mnt}/.${name}.partial`);
      for (let pid = 1; pid < 4; pid++) Deno.symlinkSync(host, `${mnt}/.${name}.${pid}.partial`);
    }
    assert.equal((await sh(`umount ${mnt}`)).code, 0);
    // a mount wrapper records the options bee asks for
    const bin = pathWith(lsblkFor(stick.dev));
    Deno.removeSync(`${bin}/mount`);
    Deno.writeTextFileSync(
      `${bin}/mount`,
      `#!/bin/sh\necho "$*" >> ${bin}/mount.calls\nexec /usr/bin/mount "$@"\n`,
      {
        mode: 0o755,
      },
    );
    const r = await runBee(["export", "--audit", src.audit, "--sat-dir", src.sat], { path: bin });
    assert.deepEqual([...Deno.readDirSync(host)], [], "nothing reached the host directory");
    assert.match(
      Deno.readTextFileSync(`${bin}/mount.calls`),
      /-o rw,noatime,nosymfollow,nodev,nosuid,noexec /,
    );
    // the export went into a real folder beside the links (name-2), verified by its manifest
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /: bee-SN-EXPORT-7-\d{8}T\d{6}Z-2\/; unmounted/);
    const check = Deno.makeTempDirSync();
    assert.equal((await sh(`mount -o ro ${stick.dev} ${check}`)).code, 0);
    try {
      const real = [...Deno.readDirSync(check)].filter((e) => e.isDirectory && e.name.startsWith("bee-"));
      assert.equal(real.length, 1);
      assert.equal((await sh(`cd ${check}/${real[0]!.name} && sha256sum -c MANIFEST.sha256`)).code, 0);
    } finally {
      await sh(`umount ${check}`);
    }
  } finally {
    await sh(`umount ${stick.dev} 2>/dev/null`);
    await stick.done();
  }
});

Deno.test("22.7/13: SIGTERM mid-export removes the partial folder and says so; two exports in one second both land", async () => {
  const src = results();
  // one large archive so the copy takes a while (sparse: fast to make, read back as zeros)
  assert.equal(
    (await sh(`truncate -s 1500M ${src.sat}/bee-sat-memory-SN-EXPORT-7-20261130T020000Z.tar.gz`)).code,
    0,
  );
  const dest = Deno.makeTempDirSync({ prefix: "bee-export-dest-" });
  const child = new Deno.Command("/bin/sh", {
    args: [`${REPO}/bin/bee`, "export", "--to", dest, "--audit", src.audit, "--sat-dir", src.sat],
    env: { BEE_DENO: Deno.execPath(), NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // wait until the copy is under way (a partial folder with a file in it)
  const t0 = Date.now();
  while (Date.now() - t0 < 20_000) {
    const p = [...Deno.readDirSync(dest)].find((e) => e.name.endsWith(".partial"));
    if (p && [...Deno.readDirSync(`${dest}/${p.name}`)].some((e) => e.isFile)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGTERM");
  const out = await child.output();
  const err = dec.decode(out.stderr);
  assert.equal(out.code, 143, err);
  assert.match(err, /^bee export: SIGTERM: stopped; the partial export was removed$/m);
  assert.deepEqual([...Deno.readDirSync(dest)], [], "nothing left behind");
  // two small exports started together (same second): both succeed, in two folders
  Deno.removeSync(`${src.sat}/bee-sat-memory-SN-EXPORT-7-20261130T020000Z.tar.gz`);
  const [a, b] = await Promise.all(
    [0, 1].map(() =>
      runBee(["export", "--to", dest, "--audit", src.audit, "--sat-dir", src.sat], { path: fakeBin() })
    ),
  );
  assert.equal(a!.code, 0, a!.stderr);
  assert.equal(b!.code, 0, b!.stderr);
  const names = [...Deno.readDirSync(dest)].map((e) => e.name).sort();
  assert.equal(names.length, 2, names.join(", "));
  assert.ok(names.every((n) => /^bee-SN-EXPORT-7-\d{8}T\d{6}Z(-2)?$/.test(n)), names.join(", "));
});

Deno.test("22.4/10: a 62-character serial streams a whole /bundle.tar (PAX names); a file that grows breaks the stream", async () => {
  const serial = "S".repeat(30) + "-" + "7".repeat(31); // 62 characters
  const dir = Deno.makeTempDirSync({ prefix: "bee-long-" });
  const a = passAudit();
  a.hardware.board!.system.serial = serial;
  Deno.writeTextFileSync(`${dir}/bee-audit.json`, JSON.stringify(a));
  Deno.mkdirSync(`${dir}/sat`);
  const archive = `bee-sat-storage-${serial}-20261130T010203Z.tar.gz`;
  Deno.writeFileSync(`${dir}/sat/${archive}`, crypto.getRandomValues(new Uint8Array(50_000)));
  const handler = makeHandler({ auditPath: `${dir}/bee-audit.json`, satDir: `${dir}/sat` });
  const r = await handler(new Request("http://bee.test/bundle.tar"));
  assert.equal(r.status, 200);
  const body = new Uint8Array(await r.arrayBuffer());
  assert.equal(body.length, Number(r.headers.get("content-length")), "the declared length is what came");
  Deno.writeFileSync(`${dir}/b.tar`, body);
  const x = await sh(
    `cd ${dir} && mkdir out && cd out && tar -xf ../b.tar && cd bee-* && sha256sum -c MANIFEST.sha256`,
  );
  assert.equal(x.code, 0, x.err);
  assert.ok(x.out.includes(`sat/${archive}: OK`), x.out);
  // bee's own reader follows the PAX path too (a SAT archive named after a long serial reads back)
  const { readAllTarGz, writeTarGzEntries } = await import("../bee/lib/tar.ts");
  const long = `bee-sat-memory-${serial}-20261130T010203Z/${"n".repeat(120)}.txt`;
  await writeTarGzEntries(`${dir}/t.tar.gz`, [{ name: long, data: new TextEncoder().encode("long\n") }]);
  const back = await readAllTarGz(`${dir}/t.tar.gz`);
  assert.equal(dec.decode(back!.get(long)), "long\n");
  assert.equal((await sh(`tar -tzf ${dir}/t.tar.gz`)).out, long);

  // growth: the archive gets bigger after the stream started; the stream errors instead of ending clean
  const r2 = await handler(new Request("http://bee.test/bundle.tar"));
  const reader = r2.body!.getReader();
  await reader.read(); // the folder header: the file list and lengths are fixed now
  const f = Deno.openSync(`${dir}/sat/${archive}`, { append: true });
  f.writeSync(new Uint8Array(10_000));
  f.close();
  let failed: unknown = null;
  try {
    while (!(await reader.read()).done) { /* drain */ }
  } catch (e) {
    failed = e;
  }
  assert.match(String(failed), /grew while it was being sent/);
});
