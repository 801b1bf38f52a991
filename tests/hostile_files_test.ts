// Issue 22 on the file side, through the real launcher: writes that never replace what they should not (2),
// terminal escapes in an order's name (12). Each failed on 2215f58: `--output /dev/stdout` turned the link
// into a regular file, `--snapshot` renamed over a device node, a FIFO or a symlink; `bee expect --check`
// printed the name raw.
import assert from "node:assert/strict";
import { fakeBin, qemuDevboxRoot, qemuDevboxTools, runBee } from "./helpers.ts";
import { atomicWrite, notReplaceable } from "../bee/lib/atomic_write.ts";
import { passAudit } from "./web_fixtures.ts";

function kinds(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of Deno.readDirSync(dir)) {
    const st = Deno.lstatSync(`${dir}/${e.name}`);
    out[e.name] = st.isSymlink
      ? "link"
      : st.isFifo
      ? "fifo"
      : st.isCharDevice
      ? "char"
      : st.isFile
      ? "file"
      : "dir";
  }
  return out;
}

/** A folder holding one of each thing a rename must never replace. */
function traps(): string {
  const d = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${d}/target.txt`, "keep me\n");
  Deno.symlinkSync(`${d}/target.txt`, `${d}/link`);
  new Deno.Command("mkfifo", { args: [`${d}/fifo`] }).outputSync();
  // a character device like /dev/full (major 1, minor 7), made here rather than risking the real one
  new Deno.Command("mknod", { args: [`${d}/full`, "c", "1", "7"] }).outputSync();
  Deno.mkdirSync(`${d}/dir`);
  return d;
}

Deno.test("22.2: --output, --snapshot, bee expect --output and --status-file never rename over a non-regular file", async () => {
  const d = traps();
  const before = kinds(d);
  assert.equal(before["full"], "char", "mknod works here (root)");
  const bin = fakeBin();
  qemuDevboxTools(bin);
  const root = qemuDevboxRoot();
  for (
    const [flag, path, what] of [
      ["--output", `${d}/fifo`, "a FIFO"],
      ["--output", `${d}/link`, "a symbolic link"],
      ["--output", `${d}/dir`, "a directory"],
      ["--snapshot", `${d}/full`, "a device"],
    ]
  ) {
    const args = ["audit", "--root", root, "--no-qr", flag!, path!];
    if (flag === "--snapshot") args.push("--output", `${d}/ok.json`);
    const r = await runBee(args, { path: bin });
    assert.equal(r.code, 2, `${flag} ${path}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^bee: .* exists and is ${what}; bee writes only regular files`, "m"));
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
  }
  const auditPath = `${d}/a.json`;
  Deno.writeTextFileSync(auditPath, JSON.stringify(passAudit()));
  const e = await runBee(["expect", "--from-audit", auditPath, "--output", `${d}/full`], { path: bin });
  assert.equal(e.code, 2);
  assert.match(e.stderr, /exists and is a device/);
  const s = await runBee(["sat", "memory", "--status-file", `${d}/fifo`, "--out", `${d}/sat`], { path: bin });
  assert.equal(s.code, 2);
  assert.match(s.stderr, /exists and is a FIFO/);
  delete before["ok.json"];
  const after = kinds(d);
  delete after["ok.json"];
  delete after["a.json"];
  assert.deepEqual(after, before, "every trap is what it was");
  assert.equal(Deno.readTextFileSync(`${d}/target.txt`), "keep me\n");
  // the library refuses too (for callers that did not check first)
  await assert.rejects(atomicWrite(`${d}/link`, "x"), /exists and is a symbolic link/);
  assert.equal(notReplaceable(`${d}/target.txt`), null);
  assert.equal(notReplaceable(`${d}/absent`), null);
});

Deno.test("22.2: --output /dev/stdout (and -) prints the audit instead of replacing the link", async () => {
  const bin = fakeBin();
  qemuDevboxTools(bin);
  const r = await runBee(["audit", "--root", qemuDevboxRoot(), "--no-qr", "--output", "/dev/stdout"], {
    path: bin,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).hardware.board.system.serial, "SYSSN-0001");
  assert.ok(Deno.lstatSync("/dev/stdout").isSymlink, "/dev/stdout is still a link");
});

Deno.test("22.12: bee expect --check filters the order's name like every terminal line", async () => {
  const d = Deno.makeTempDirSync();
  Deno.writeTextFileSync(
    `${d}/order.yaml`,
    'bee_expect: 1\nname: "evil\\e[2J\\e]0;pwned\\a order"\ndisks:\n  - model: X\n    count: 1\n',
  );
  const r = await runBee(["expect", "--check", `${d}/order.yaml`], { path: fakeBin() });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /[\x00-\x08\x0b-\x1f\x7f]/, JSON.stringify(r.stdout));
  assert.match(r.stdout, /valid \(evil.*order\)/);
});
