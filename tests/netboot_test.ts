// Network boot (issue 23, item 1) without a VM: the kernel line and iPXE script from the ISO's real isolinux
// configuration, the netboot folder written from a real (small) ISO made with xorriso, and bee's initramfs
// hook run in sh with fake wget/mount — a refused download is said and retried, a short one is caught by the
// checksum, nothing but the ramfs mount point is written.
import assert from "node:assert/strict";
import { ipxeScript, isoCmdline, netbootCmdline, writeNetboot } from "../tasks/iso/netboot.ts";
import { FIX, fixture, REPO, writeFakeTool } from "../testkit/helpers.ts";

const SHA = "ab".repeat(32);

Deno.test("netboot: the kernel line is the ISO's with fetch= and the squashfs checksum instead of toram", () => {
  const iso = isoCmdline(fixture("live-build/isolinux-live.cfg"));
  assert.equal(iso, "boot=live toram quiet console=ttyS0,115200n8 console=tty0");
  const line = netbootCmdline(iso, SHA);
  assert.equal(
    line,
    `initrd=initrd.img boot=live fetch=\${bee-base}filesystem.squashfs bee.squashfs_sha256=${SHA} quiet console=ttyS0,115200n8 console=tty0`,
  );
  assert.doesNotMatch(netbootCmdline(`${iso} findiso=/x.iso`, SHA), /toram|findiso/);
});

Deno.test("netboot: bee.ipxe names no host, loads by relative URL, takes site arguments and retries", () => {
  const s = ipxeScript({
    version: "0.1.0",
    commit: "0123456789abcdef",
    cmdline: netbootCmdline("boot=live toram", SHA),
  });
  assert.match(s, /^#!ipxe\n/);
  assert.doesNotMatch(s, /https?:\/\//);
  assert.match(
    s,
    /^kernel vmlinuz initrd=initrd\.img boot=live fetch=\$\{bee-base\}filesystem\.squashfs .* \$\{bee-args\} \|\| goto retry$/m,
  );
  assert.match(s, /^initrd initrd\.img \|\| goto retry$/m);
  assert.match(s, /isset \$\{cwduri\}/);
  assert.match(s, /set bee-base \$\{filename\}\/\.\.\//);
  assert.match(s, /^sleep 10\ngoto start$/m);
});

Deno.test("netboot: writeNetboot extracts the ISO's own files byte for byte and writes bee.ipxe, README.txt, SHA256SUMS", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "bee-nbiso-" });
  const tree = `${dir}/tree`;
  Deno.mkdirSync(`${tree}/live`, { recursive: true });
  Deno.mkdirSync(`${tree}/isolinux`);
  const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed) & 255);
  Deno.writeFileSync(`${tree}/live/vmlinuz`, bytes(70_000, 1));
  Deno.writeFileSync(`${tree}/live/initrd.img`, bytes(90_000, 2));
  Deno.writeFileSync(`${tree}/live/filesystem.squashfs`, bytes(300_000, 3));
  Deno.copyFileSync(`${FIX}/live-build/isolinux-live.cfg`, `${tree}/isolinux/live.cfg`);
  const mk = new Deno.Command("xorriso", {
    args: ["-as", "mkisofs", "-quiet", "-R", "-o", `${dir}/t.iso`, tree],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  assert.equal(mk.code, 0, new TextDecoder().decode(mk.stderr));
  const out = `${dir}/nb`;
  const r = await writeNetboot({
    iso: `${dir}/t.iso`,
    dir: out,
    version: "0.1.0",
    commit: "c0ffee",
    loaders: (to) => {
      Deno.writeTextFileSync(`${to}/undionly.kpxe`, "x");
      return Promise.resolve(["undionly.kpxe"]);
    },
  });
  for (const f of ["vmlinuz", "initrd.img", "filesystem.squashfs"]) {
    assert.deepEqual(Deno.readFileSync(`${out}/${f}`), Deno.readFileSync(`${tree}/live/${f}`), f);
  }
  const sums = Deno.readTextFileSync(`${out}/SHA256SUMS`);
  assert.match(sums, new RegExp(`^${r.squashfsSha256}  filesystem\\.squashfs$`, "m"));
  assert.match(
    Deno.readTextFileSync(`${out}/bee.ipxe`),
    new RegExp(`bee\\.squashfs_sha256=${r.squashfsSha256}`),
  );
  const readme = Deno.readTextFileSync(`${out}/README.txt`);
  assert.match(readme, /iPXE loaders\s+undionly\.kpxe/);
  assert.match(readme, /give it at least 2 GiB of RAM/);
  assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name).sort(), [
    "README.txt",
    "SHA256SUMS",
    "bee.ipxe",
    "filesystem.squashfs",
    "initrd.img",
    "undionly.kpxe",
    "vmlinuz",
  ]);
  // a file that is no ISO: one line naming it
  await assert.rejects(
    writeNetboot({
      iso: `${dir}/tree/live/vmlinuz`,
      dir: `${dir}/bad`,
      version: "x",
      commit: "x",
      loaders: () => Promise.resolve([]),
    }),
    /xorriso could not extract the boot files/,
  );
});

/** Runs the hook's do_httpmount in sh with fakes; wget answers per try from `answers` (503, short, ok). */
function runHook(answers: string[], content: string, sha: string) {
  const dir = Deno.makeTempDirSync({ prefix: "bee-hook-" });
  const bin = `${dir}/bin`;
  Deno.mkdirSync(bin);
  Deno.mkdirSync(`${dir}/live`);
  Deno.copyFileSync(`${FIX}/live-build/9990-mount-http.sh`, `${dir}/live/9990-mount-http.sh`);
  Deno.writeTextFileSync(`${dir}/content`, content);
  Deno.writeTextFileSync(`${dir}/answers`, answers.join("\n") + "\n");
  // wget: takes the next answer; ok writes the content, short writes half of it
  Deno.writeTextFileSync(
    `${bin}/wget`,
    `#!/bin/sh
echo "$*" >> ${dir}/wget.calls
a=$(head -n1 ${dir}/answers); sed -i 1d ${dir}/answers
out=""; while [ $# -gt 0 ]; do [ "$1" = -O ] && out=$2; shift; done
case "$a" in
  503) echo "wget: server returned error: HTTP/1.1 503 Service Unavailable" >&2; exit 1 ;;
  short) head -c 10 ${dir}/content > "$out" ;;
  *) cat ${dir}/content > "$out" ;;
esac
`,
    { mode: 0o755 },
  );
  writeFakeTool(bin, "mount", [{ args: "*", script: `/bin/mkdir -p "${dir}/mnt"` }]);
  writeFakeTool(bin, "umount", [{ args: "*", text: "" }]);
  writeFakeTool(bin, "sleep", [{ args: "*", text: "" }]);
  writeFakeTool(bin, "ip", [{
    args: "*",
    text: "2: ens3    inet 10.0.2.15/24 brd 10.0.2.255 scope global ens3\n",
  }]);
  Deno.writeTextFileSync(`${dir}/cmdline`, `boot=live fetch=x bee.squashfs_sha256=${sha} quiet\n`);
  const script = `. ${REPO}/iso/overlay/usr/lib/live/boot/9991-bee-fetch.sh
mountpoint=${dir}/mnt LIVE_MEDIA_PATH=live FETCH=http://10.0.2.2:8000/burnin.ipxe/../filesystem.squashfs
do_httpmount; echo "rc=$?"`;
  const out = new Deno.Command("/bin/sh", {
    args: ["-c", script],
    env: {
      PATH: `${bin}:/usr/bin:/bin`,
      BEE_LIVE_BOOT_DIR: `${dir}/live`,
      BEE_CMDLINE: `${dir}/cmdline`,
      BEE_KMSG: `${dir}/kmsg`,
    },
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  const dec = new TextDecoder();
  return {
    stdout: dec.decode(out.stdout),
    kmsg: Deno.readTextFileSync(`${dir}/kmsg`),
    calls: Deno.readTextFileSync(`${dir}/wget.calls`),
    fetched: Deno.readTextFileSync(`${dir}/mnt/live/filesystem.squashfs`),
    sleeps: Deno.readTextFileSync(`${bin}/sleep.calls`).trim().split("\n").map((l) => l.split(" ")[0]),
  };
}

async function sha256(s: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("initramfs hook: a refused and a short download are said on the console and retried, then verified", async () => {
  const content = "squashfs bytes ".repeat(100);
  const r = runHook(["503", "short", "ok"], content, await sha256(content));
  assert.match(r.stdout, /rc=0/);
  assert.equal(r.fetched, content);
  // the URL's dot segment (an old iPXE's ${filename}/../) is folded away before the download
  assert.match(r.calls, /^-q -T 60 http:\/\/10\.0\.2\.2:8000\/filesystem\.squashfs -O /m);
  assert.equal(r.calls.trim().split("\n").length, 3);
  const lines = r.kmsg.trim().split("\n");
  assert.ok(lines.every((l) => l.startsWith("<3>bee-netboot: ")), r.kmsg);
  assert.match(
    r.kmsg,
    /cannot fetch .*: wget: server returned error: HTTP\/1\.1 503 Service Unavailable.*retrying in 5 s/,
  );
  assert.match(r.kmsg, /checksum mismatch .*a short or damaged download.*retrying in 10 s/);
  assert.match(r.kmsg, /downloaded 1500 bytes, sha256 verified/);
  assert.match(r.kmsg, /this node: ens3=10\.0\.2\.15\/24/);
  assert.deepEqual(r.sleeps, ["5", "10"]);
});
