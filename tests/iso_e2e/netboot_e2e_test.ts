// A rack in miniature: `deno task iso --netboot DIR` (the e2e ISO, cached by its inputs), DIR served over HTTP
// on 127.0.0.1, two QEMU machines with different SMBIOS serials booting through iPXE (QEMU's user network
// hands out the script's URL as the boot file) with a site script that asks for an unattended memory SAT.
// The first machine's first squashfs download is refused: it must say why on its serial port and retry.
// Both finish the SAT; `bee fleet collect` over their forwarded web ports writes fleet.csv with both serials
// and the SAT status; `bee fleet targets` lists both. Figures: boot → SSH, boot → SAT finished.

import assert from "node:assert/strict";
import { exec } from "../../bee/lib/exec.ts";
import { runProc } from "../../bee/lib/proc.ts";
import { buildE2eIso, haveQemu, httpGet, Vm } from "../../testkit/qemu.ts";
import { type FileServer, serveFolder } from "../../testkit/http_files.ts";

const repo = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const env = Deno.env.toObject();
const cacheDir = `${env.BEE_CACHE_DIR || `${env.XDG_CACHE_HOME || `${env.HOME}/.cache`}/bee`}/iso-test`;
const key = `${cacheDir}/id_ed25519`;
const mem = Number(env.BEE_NETBOOT_MEM_MIB || 3072);
const logs = await Deno.makeTempDir({ prefix: "bee-netboot-e2e-" });
const dir = `${logs}/netboot`;
const opts = { sanitizeOps: false, sanitizeResources: false };
const figure = (s: string) => console.error(`[netboot-e2e] ${s}`);
figure(`logs in ${logs}`);

const tag = crypto.randomUUID().slice(0, 6).toUpperCase();
const serials = [`BEE-NB-A-${tag}`, `BEE-NB-B-${tag}`];
let server: FileServer | null = null;
const vms: Vm[] = [];

const bee = (args: string[], out: string) =>
  runProc("sh", [`${repo}/bin/bee`, ...args], {
    timeoutMs: 10 * 60_000,
    stdoutPath: `${logs}/${out}.out`,
    stderrPath: `${logs}/${out}.err`,
  });

Deno.test(
  { name: "netboot: deno task iso --netboot writes the ISO's own boot files and bee.ipxe", ...opts },
  async () => {
    assert.ok(await haveQemu(), "qemu-system-x86_64 missing: sh tasks/setup.sh iso installs it");
    assert.ok(await Deno.stat(key).catch(() => null), `no test key ${key} (the ISO e2e test makes it)`);
    const started = performance.now();
    const { out: iso, r, err } = await buildE2eIso(repo, key, logs, ["--netboot", dir]);
    assert.equal(
      r.kind === "exited" && r.code,
      0,
      `deno task iso --netboot failed: ${err.trim().split("\n").at(-1)}`,
    );
    figure(`deno task iso --netboot: ${((performance.now() - started) / 1000).toFixed(0)} s`);
    // byte-identical to the ISO's own files
    const x = await exec("xorriso", [
      "-osirrox",
      "on",
      "-indev",
      iso,
      "-extract",
      "/live/vmlinuz",
      `${logs}/iso-vmlinuz`,
      "-extract",
      "/live/initrd.img",
      `${logs}/iso-initrd.img`,
    ], { timeoutMs: 300_000 });
    assert.equal(x.kind === "exited" && x.code, 0);
    for (const f of ["vmlinuz", "initrd.img"]) {
      const a = await exec("cmp", [`${dir}/${f}`, `${logs}/iso-${f}`], { timeoutMs: 60_000 });
      assert.equal(a.kind === "exited" && a.code, 0, `${f} differs from the ISO's`);
    }
    const sums = await exec("sh", ["-c", `cd '${dir}' && sha256sum -c SHA256SUMS`], { timeoutMs: 300_000 });
    assert.equal(sums.kind === "exited" && sums.code, 0, "SHA256SUMS checks");
    const script = await Deno.readTextFile(`${dir}/bee.ipxe`);
    assert.match(script, /^#!ipxe/);
    assert.match(script, /^kernel vmlinuz .*boot=live fetch=\$\{bee-base\}filesystem\.squashfs/m);
    assert.doesNotMatch(script, /https?:\/\/|\btoram\b/, "no host and no second RAM copy in the script");
    const readme = await Deno.readTextFile(`${dir}/README.txt`);
    for (
      const w of [
        "dhcp-range=10.10.0.0,proxy",
        "pxe-service",
        "HTTPClient",
        "python3 -m http.server",
        "nginx",
      ]
    ) {
      assert.ok(readme.includes(w), `README.txt has ${w}`);
    }
    figure(
      `netboot folder: ${(await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort().join(" ")}`,
    );
  },
);

Deno.test(
  { name: "netboot: two machines boot over iPXE and run the memory SAT unattended", ...opts },
  async () => {
    assert.ok(
      await Deno.stat(`${dir}/bee.ipxe`).catch(() => null),
      "no netboot folder (the test above failed)",
    );
    // a site script: bee.ipxe unedited, the unattended parameters set beside it
    await Deno.writeTextFile(
      `${dir}/burnin.ipxe`,
      "#!ipxe\nset bee-args bee.sat=memory bee.sat.memtester_size_mb=64 bee.sat.memtester_passes=1 bee.after=stay\nchain bee.ipxe\n",
    );
    server = serveFolder(dir, { failFirst: { path: "/filesystem.squashfs", times: 1, status: 503 } });
    for (const [i, serial] of serials.entries()) {
      const vm = new Vm({
        iso: "",
        dir: logs,
        name: `node${i}`,
        firmware: "bios",
        memMiB: mem,
        cpus: 2,
        serial,
        dhcp: true,
        medium: "net",
        bootfile: `http://10.0.2.2:${server.port}/burnin.ipxe`,
      });
      vms.push(vm);
      await vm.start();
      // the first machine alone meets the refused download
      if (i === 0) await vm.waitForSerial(/bee-netboot: cannot fetch .*503.*retrying/, 15 * 60);
    }
    const retry = await vms[0]!.waitForSerial(/bee-netboot: cannot fetch/, 10);
    figure(`node0 said on its serial port: ${retry.replace(/^.*bee-netboot/, "bee-netboot").slice(0, 200)}`);
    for (const [i, vm] of vms.entries()) {
      const s = await vm.waitForSsh(key, 20 * 60);
      figure(`node${i} (${serials[i]}): iPXE boot → SSH ${s} s (TCG, ${mem} MiB)`);
      const r = await vm.ssh(key, "cat /proc/cmdline; findmnt -n -o FSTYPE /run/live/medium");
      assert.equal(r.code, 0);
      await Deno.writeTextFile(`${logs}/node${i}-cmdline.txt`, r.stdout.split("\n")[0] + "\n");
      assert.match(r.stdout, /fetch=http:\/\/10\.0\.2\.2:\d+\/.*filesystem\.squashfs/);
      assert.match(r.stdout, /bee\.sat=memory/);
      assert.match(r.stdout, /ramfs/, "the squashfs is in RAM");
    }
    for (const [i, vm] of vms.entries()) {
      const deadline = performance.now() + 20 * 60_000;
      let state: { unattended?: { state: string; results: { kind: string; status: string }[] } } = {};
      while (performance.now() < deadline) {
        await vm.checkAlive();
        const g = await httpGet(vm.httpPort, "/sat.json");
        if (g?.status === 200) state = JSON.parse(g.body);
        if (state.unattended?.state === "done") break;
        await new Promise((r) => setTimeout(r, 5000));
      }
      assert.equal(state.unattended?.state, "done", `node${i}: the unattended SAT did not finish`);
      assert.deepEqual(state.unattended!.results.map((r) => [r.kind, r.status]), [["memory", "OK"]]);
      figure(`node${i}: boot → unattended memory SAT finished ${vm.elapsed()} s`);
      const m = await httpGet(vm.httpPort, "/metrics");
      assert.match(m?.body ?? "", /bee_sat_unattended_status\{kind="memory",status="OK"\} 1/);
    }
    figure(
      `HTTP requests: ${server.log.length} (${server.log.filter((l) => /squashfs/.test(l)).join(", ")})`,
    );
  },
);

Deno.test({ name: "netboot: bee fleet collect and targets see both machines", ...opts }, async () => {
  assert.equal(vms.length, 2, "no machines (the test above failed)");
  const hosts = `${logs}/hosts`;
  await Deno.writeTextFile(hosts, vms.map((v) => `127.0.0.1:${v.httpPort}\n`).join(""));
  const out = `${logs}/fleet`;
  const r = await bee(["fleet", "collect", "--hosts", hosts, "--out", out], "collect");
  assert.equal(
    r.kind === "exited" && r.code,
    0,
    await Deno.readTextFile(`${logs}/collect.err`).catch(() => ""),
  );
  const csv = await Deno.readTextFile(`${out}/fleet.csv`);
  figure(`fleet.csv:\n${csv}`);
  for (const s of serials) {
    const line = csv.split("\n").find((l) => l.includes(s));
    assert.ok(line, `fleet.csv has ${s}`);
    assert.match(line!, /,OK,/, `${s}: memory SAT OK in fleet.csv`);
    assert.ok(await Deno.stat(`${out}/${s}/bee-audit.json`).catch(() => null), `${s}/bee-audit.json pulled`);
  }
  const again = await bee(["fleet", "collect", "--hosts", hosts, "--out", out], "collect2");
  assert.equal(again.kind === "exited" && again.code, 0);
  assert.match(await Deno.readTextFile(`${logs}/collect2.err`), /unchanged since the last pull/);
  const t = await bee(["fleet", "targets", "--hosts", hosts], "targets");
  assert.equal(t.kind === "exited" && t.code, 0);
  const groups = JSON.parse(await Deno.readTextFile(`${logs}/targets.out`)) as {
    labels: { serial?: string };
  }[];
  assert.deepEqual(groups.map((g) => g.labels.serial).sort(), [...serials].sort());
});

Deno.test({ name: "netboot: machines stopped, server closed", ...opts }, async () => {
  for (const vm of vms) await vm.stop();
  await server?.close();
});
