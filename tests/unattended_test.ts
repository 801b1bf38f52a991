// Unattended acceptance (issue 23, item 2): the kernel command line parsed into the plan (real captured lines
// and edge cases), `bee sat auto` running the real `bee sat` through the launcher with fake tools, the
// after-action, the boot area's finding, and the web page and /metrics showing the run.
import assert from "node:assert/strict";
import { parseBootParams } from "../bee/parsers/cmdline.ts";
import { consoleGlyphs } from "../bee/lib/text.ts";
import { fakeBin, fixture, REPO, runBee, startWeb, writeFakeTool } from "../testkit/helpers.ts";
import { passAudit } from "../testkit/web_fixtures.ts";
import { judge } from "../bee/audit/verdict.ts";
import { NO_HARDWARE } from "../bee/areas/index.ts";
import { boot } from "../bee/areas/boot/collector.ts";

Deno.test("cmdline: a real line without bee parameters plans nothing and names no problem", () => {
  const p = parseBootParams(fixture("cmdline/firecracker-dev.txt"));
  assert.deepEqual(p, { fetch: null, unattended: null, problems: [] });
});

Deno.test("cmdline: a real network-booted node's line — the fetch URL and the site script's unattended plan", () => {
  const p = parseBootParams(fixture("cmdline/netboot-qemu.txt"));
  assert.match(p.fetch!, /^http:\/\/10\.0\.2\.2:\d+\/burnin\.ipxe\/\.\.\/filesystem\.squashfs$/);
  assert.deepEqual(p.problems, []);
  assert.deepEqual(p.unattended, {
    sats: ["memory"],
    duration_s: null,
    settings: { BEE_MEMTESTER_SIZE_MB: "64", BEE_MEMTESTER_PASSES: "1" },
    after: "stay",
  });
});

Deno.test("cmdline: the ISO's line with a network boot and the unattended parameters", () => {
  const p = parseBootParams(
    "BOOT_IMAGE=/live/vmlinuz initrd=initrd.img boot=live fetch=http://10.0.2.2:8000/bee.ipxe/../filesystem.squashfs " +
      "bee.squashfs_sha256=00ff quiet console=ttyS0,115200n8 console=tty0 bee.sat=storage,nvidia,memory,nvidia " +
      "bee.sat.duration=1h bee.sat.memtester_size_mb=64 bee.sat.peer_fail_pct=20 bee.after=poweroff",
  );
  assert.equal(p.fetch, "http://10.0.2.2:8000/bee.ipxe/../filesystem.squashfs");
  assert.deepEqual(p.problems, []);
  assert.deepEqual(p.unattended, {
    sats: ["nvidia", "memory", "storage"], // bee's order, each once
    duration_s: 3600,
    settings: { BEE_MEMTESTER_SIZE_MB: "64", BEE_PEER_FAIL_PCT: "20" },
    after: "poweroff",
  });
});

Deno.test("cmdline: bad values are named and left out; the rest still stands", () => {
  const p = parseBootParams(
    "bee.sat=memory,gpu bee.sat.duration=3x bee.sat.memtester_passes=0x10 bee.sat.memtester_size_mb=8 " +
      "bee.sat.rm_rf=1 bee.after=halt bee.debugme",
  );
  assert.deepEqual(p.unattended, {
    sats: ["memory"],
    duration_s: null,
    settings: { BEE_MEMTESTER_SIZE_MB: "8" },
    after: "stay",
  });
  assert.equal(p.problems.length, 6, p.problems.join("\n"));
  for (const w of ['"gpu"', '"3x"', "BEE_MEMTESTER_PASSES", "bee.sat.rm_rf", '"halt"', "bee.debugme"]) {
    assert.ok(p.problems.some((l) => l.includes(w)), `a problem names ${w}: ${p.problems.join(" | ")}`);
  }
  assert.deepEqual(parseBootParams("bee.sat=").problems, [
    "bee.sat: no known SAT given: nothing runs unattended",
  ]);
  // a hostile value is bounded in the message
  const long = parseBootParams(`bee.after=${"x".repeat(5000)}`).problems[0]!;
  assert.ok(long.length < 200, long);
});

Deno.test("boot area: the collector reads /proc/cmdline and bad parameters become boot.bad_parameter WARNs", async () => {
  const root = Deno.makeTempDirSync();
  const ctx = {
    readText: (p: string) =>
      Promise.resolve(p === "/proc/cmdline" ? "boot=live bee.sat=memory bee.after=nap\n" : null),
  };
  // deno-lint-ignore no-explicit-any -- the collector only reads through readText
  const section = await boot.collect(ctx as any);
  assert.equal(section!.unattended!.sats[0], "memory");
  const findings = judge({ ...NO_HARDWARE, boot: section }, []);
  const f = findings.filter((x) => x.code === "boot.bad_parameter");
  assert.equal(f.length, 1);
  assert.equal(f[0]!.severity, "WARN");
  assert.match(f[0]!.message, /bee\.after="nap"/);
  Deno.removeSync(root, { recursive: true });
});

function autoSetup(cmdline: string) {
  const bin = fakeBin();
  writeFakeTool(bin, "memtester", [{ args: "*", file: "memtester/firecracker-devvm-16M-pass.txt" }]);
  writeFakeTool(bin, "systemctl", [{ args: "poweroff", text: "" }, { args: "reboot", text: "" }]);
  const dir = Deno.makeTempDirSync({ prefix: "bee-auto-" });
  Deno.writeTextFileSync(`${dir}/cmdline`, cmdline);
  Deno.writeTextFileSync(`${dir}/audit.json`, JSON.stringify(passAudit()));
  Deno.mkdirSync(`${dir}/sat`);
  const args = [
    "sat",
    "auto",
    "--cmdline",
    `${dir}/cmdline`,
    "--out",
    `${dir}/sat`,
    "--audit",
    `${dir}/audit.json`,
    "--lock",
    `${dir}/sat.lock`,
  ];
  return { bin, dir, args };
}

Deno.test("bee sat auto: runs the memory SAT with the overrides, writes unattended.json, then powers off", async () => {
  const s = autoSetup(
    "boot=live bee.sat=memory bee.sat.memtester_size_mb=3 bee.sat.memtester_passes=1 bee.after=poweroff bee.sat.bogus=1",
  );
  const r = await runBee(s.args, { path: s.bin });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /bad boot parameter: bee\.sat\.bogus/);
  assert.match(r.stdout, /SAT memory: OK/);
  assert.match(r.stdout, /bee\.after=poweroff: powering off/);
  const calls = Deno.readTextFileSync(`${s.bin}/memtester.calls`);
  assert.match(calls, /^3M 1 /m, `memtester got the overrides: ${calls}`);
  assert.match(Deno.readTextFileSync(`${s.bin}/systemctl.calls`), /^poweroff /m);
  const u = JSON.parse(Deno.readTextFileSync(`${s.dir}/sat/unattended.json`));
  assert.equal(u.state, "done");
  assert.deepEqual(u.results.map((x: { kind: string; status: string }) => [x.kind, x.status]), [[
    "memory",
    "OK",
  ]]);
  assert.match(u.results[0].archive, /bee-sat-memory-.*\.tar\.gz$/);
  assert.equal(u.problems.length, 1);
  // the web page and /metrics show it (the real bee web, reading only the SAT folder)
  const web = await startWeb(`${s.dir}/audit.json`, `${s.dir}/sat`);
  try {
    const page = await (await fetch(`${web.base}/`)).text();
    assert.match(page, /Unattended acceptance \(done, then poweroff\)/);
    const metrics = await (await fetch(`${web.base}/metrics`)).text();
    assert.match(metrics, /bee_sat_unattended_done 1/);
    assert.match(metrics, /bee_sat_unattended_status\{kind="memory",status="OK"\} 1/);
    const sat = await (await fetch(`${web.base}/sat.json`)).json();
    assert.equal(sat.archives.length, 1);
    assert.equal(sat.archives[0].kind, "memory");
    assert.equal(sat.archives[0].overall_status, "OK");
    assert.equal(sat.unattended.state, "done");
  } finally {
    await web.stop();
  }
});

Deno.test("bee sat auto: a SAT that cannot run is an error row, the machine stays, exit 1", async () => {
  const s = autoSetup("bee.sat=memory bee.sat.memtester_size_mb=99999999999");
  // the out-of-range size was left out at parse time; a missing memtester makes the SAT itself fail
  Deno.removeSync(`${s.bin}/memtester`);
  const r = await runBee(s.args, { path: s.bin });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /bad boot parameter: bee\.sat\.memtester_size_mb/);
  const u = JSON.parse(Deno.readTextFileSync(`${s.dir}/sat/unattended.json`));
  assert.equal(u.state, "done");
  assert.notEqual(u.results[0].status, "OK");
  assert.throws(() => Deno.statSync(`${s.bin}/systemctl.calls`), "stay: no power off");
});

Deno.test("bee sat auto: without bee.sat= it runs nothing and writes no state", async () => {
  const s = autoSetup("boot=live quiet");
  const r = await runBee(s.args, { path: s.bin });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "");
  assert.deepEqual([...Deno.readDirSync(`${s.dir}/sat`)], []);
});

Deno.test("the boot unit runs bee sat auto after the audit, for every boot", () => {
  const unit = Deno.readTextFileSync(`${REPO}/iso/overlay/etc/systemd/system/bee-sat-auto.service`);
  assert.match(unit, /^After=.*bee-audit\.service/m);
  assert.match(unit, /^ExecStart=\/usr\/local\/bin\/bee sat auto --kmsg$/m);
  assert.match(unit, /^WantedBy=multi-user\.target$/m);
});

Deno.test("console glyphs: what the Linux console font lacks becomes ASCII; its box lines stay", () => {
  assert.equal(
    consoleGlyphs("bee \u2014 waiting\u2026 \u2192 64M \u00d7 1 \u2022 \u23ce \u2500\u2500"),
    "bee - waiting... -> 64M x 1 * Enter \u2500\u2500",
  );
});

Deno.test("bee sat auto: a state file that cannot be written is said once and the SAT still runs", async () => {
  const s = autoSetup("bee.sat=memory bee.sat.memtester_size_mb=3 bee.sat.memtester_passes=1");
  Deno.mkdirSync(`${s.dir}/sat/unattended.json`); // a directory where the state file goes
  const r = await runBee(s.args, { path: s.bin });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal((r.stdout.match(/cannot write .*unattended\.json/g) ?? []).length, 1, r.stdout);
  assert.match(r.stdout, /SAT memory: OK/);
  assert.ok([...Deno.readDirSync(`${s.dir}/sat`)].some((e) => /^bee-sat-memory-.*\.tar\.gz$/.test(e.name)));
});
