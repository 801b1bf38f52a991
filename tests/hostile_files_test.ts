// Issue 22 on the file side, through the real launcher: writes that never replace what they should not (2),
// terminal escapes in an order's name (12). Each failed on 2215f58: `--output /dev/stdout` turned the link
// into a regular file, `--snapshot` renamed over a device node, a FIFO or a symlink; `bee expect --check`
// printed the name raw.
import assert from "node:assert/strict";
import { fakeBin, qemuDevboxRoot, qemuDevboxTools, REPO, runBee } from "../testkit/helpers.ts";
import { atomicWrite, notReplaceable } from "../bee/lib/atomic_write.ts";
import { passAudit } from "../testkit/web_fixtures.ts";

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
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(r.stdout, /[\x00-\x08\x0b-\x1f\x7f]/, JSON.stringify(r.stdout));
  assert.match(r.stdout, /valid \(evil.*order\)/);
});

/** A .tar.gz made by GNU tar from `files` (name → path of a file in `dir`), in that order. */
async function tarGz(dir: string, out: string, names: string[]): Promise<void> {
  const r = await new Deno.Command("tar", { args: ["-czf", out, "-C", dir, ...names] }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
}

function snapshotJson(over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    format: "bee-snapshot/1",
    taken_at: "2026-12-07T00:00:00Z",
    runs: [],
    files: {},
    dirs: {},
    links: {},
    exists: {},
    ...over,
  });
}

Deno.test("22.6: hostile snapshots: inflation bounded, large members skipped fast, FIFO refused, wrong types one line", async () => {
  const d = Deno.makeTempDirSync();
  Deno.mkdirSync(`${d}/bee-snapshot`);
  // three 100 MiB members of zeros before snapshot.json: a few hundred KB that inflate past the bound
  for (const z of ["z1", "z2", "z3"]) {
    assert.equal(
      (await new Deno.Command("truncate", { args: ["-s", "100M", `${d}/${z}`] }).output()).code,
      0,
    );
  }
  Deno.writeTextFileSync(`${d}/bee-snapshot/snapshot.json`, snapshotJson());
  await tarGz(d, `${d}/bomb.tar.gz`, ["z1", "z2", "z3", "bee-snapshot/snapshot.json"]);
  assert.ok(Deno.statSync(`${d}/bomb.tar.gz`).size < 2_000_000);
  const bomb = await runBee(["audit", "--replay", `${d}/bomb.tar.gz`, "--output", "-"], { path: fakeBin() });
  assert.equal(bomb.code, 2, bomb.stderr);
  assert.match(
    bomb.stderr,
    /^bee: .*bomb\.tar\.gz is not a bee snapshot \(corrupt, or over 256 MiB unpacked/m,
  );
  assert.ok(bomb.ms < 8000, `refused in ${Math.round(bomb.ms)} ms`);

  // one 64 MB random member before a valid snapshot.json: skipped unread, the replay works, quickly
  const rnd = new Uint8Array(64 << 20);
  for (let o = 0; o < rnd.length; o += 65536) crypto.getRandomValues(rnd.subarray(o, o + 65536));
  Deno.writeFileSync(`${d}/big`, rnd);
  await tarGz(d, `${d}/big.tar.gz`, ["big", "bee-snapshot/snapshot.json"]);
  const big = await runBee(["audit", "--replay", `${d}/big.tar.gz`, "--output", "-", "--no-expect"], {
    path: fakeBin(),
  });
  assert.equal(big.code, 0, big.stderr);
  assert.ok(big.ms < 8000, `replayed in ${Math.round(big.ms)} ms`);
  // and its peak memory stays near Deno's own (it was 1.56 GB): GNU time's maximum resident set size
  const timed = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%M", "/bin/sh", `${REPO}/bin/bee`, "audit", "--replay", `${d}/big.tar.gz`, "--output", "-"],
    env: { BEE_DENO: Deno.execPath(), NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  const peakKb = Number(new TextDecoder().decode(timed.stderr).trim().split("\n").at(-1));
  console.log(`replay of a 64 MB member: peak RSS ${Math.round(peakKb / 1024)} MiB`);
  assert.ok(peakKb > 0 && peakKb < 400 * 1024, `peak RSS ${peakKb} KiB`);

  // a FIFO is refused at once (it used to block forever)
  await new Deno.Command("mkfifo", { args: [`${d}/fifo.tar.gz`] }).output();
  const fifo = await runBee(["audit", "--replay", `${d}/fifo.tar.gz`, "--output", "-"], { path: fakeBin() });
  assert.equal(fifo.code, 2);
  assert.match(fifo.stderr, /^bee: .*fifo\.tar\.gz is not a regular file/m);

  // wrong types in snapshot.json: one line naming the field, exit 2, no JavaScript error text
  for (
    const [over, field] of [
      [{ files: null }, "files"],
      [{ runs: [null] }, "runs.0"],
      [{ runs: [{ argv: ["x"], result: { kind: "exited", code: "0" } }] }, "runs.0.result"],
    ] as const
  ) {
    Deno.writeTextFileSync(`${d}/bee-snapshot/snapshot.json`, snapshotJson(over));
    await tarGz(d, `${d}/bad.tar.gz`, ["bee-snapshot/snapshot.json"]);
    const r = await runBee(["audit", "--replay", `${d}/bad.tar.gz`, "--output", "-"], { path: fakeBin() });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^bee: .*snapshot\\.json ${field.replace(".", "\\.")}`, "m"));
    assert.doesNotMatch(r.stderr, /TypeError|Cannot read|at .*\.ts:\d+/);
  }
});

Deno.test("22.8: --root DIR --snapshot never copies host files that links in DIR point at", async () => {
  const host = Deno.makeTempDirSync({ prefix: "bee-host-secret-" });
  const marker = `SECRET-${crypto.randomUUID()}`;
  Deno.writeTextFileSync(`${host}/shadow`, `root:$6$${marker}:19000:0:99999:7:::\n`);
  // a captured tree whose files link out: absolute, and relative climbing far above the root
  const root = Deno.makeTempDirSync({ prefix: "bee-root-" });
  Deno.mkdirSync(`${root}/proc`);
  Deno.mkdirSync(`${root}/sys/class/dmi/id`, { recursive: true });
  Deno.symlinkSync(`${host}/shadow`, `${root}/proc/cpuinfo`);
  Deno.symlinkSync(`../../../../../../../../../..${host}/shadow`, `${root}/proc/meminfo`);
  Deno.symlinkSync(`/proc/../../..${host}`, `${root}/sys/class/dmi/id/board_vendor`);
  // the same names inside the root are what the links reach instead
  Deno.mkdirSync(`${root}${host}`, { recursive: true });
  Deno.writeTextFileSync(`${root}${host}/shadow`, "MemTotal:       1024 kB\n");
  const snap = `${Deno.makeTempDirSync()}/s.tar.gz`;
  const r = await runBee(
    ["audit", "--root", root, "--snapshot", snap, "--output", `${Deno.makeTempDirSync()}/a.json`, "--no-qr"],
    { path: fakeBin() },
  );
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  const { readAllTarGz } = await import("../bee/lib/tar.ts");
  const files = (await readAllTarGz(snap))!;
  const all = [...files.values()].map((v) => new TextDecoder().decode(v)).join("\n");
  assert.ok(!all.includes(marker), "no host file content in the snapshot");
  assert.ok(all.includes("MemTotal:       1024 kB"), "links resolve inside the root instead");
  const { resolveInside } = await import("../bee/lib/machine.ts");
  assert.equal(await resolveInside(root, "/proc/cpuinfo"), `${root}${host}/shadow`);
  assert.equal(await resolveInside(root, "/proc/meminfo"), `${root}${host}/shadow`);
  assert.equal(await resolveInside(root, "/proc/cpuinfo", false), `${root}/proc/cpuinfo`);
});
