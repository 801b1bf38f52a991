// A real `bee audit` of the machine the tests run on, with whatever tools it has; assertions are
// made against what those tools themselves say.
import assert from "node:assert/strict";
import { Audit } from "../bee/model/schema.ts";
import { runBee } from "../testkit/helpers.ts";

async function sh(cmd: string): Promise<{ code: number; out: string }> {
  const o = await new Deno.Command("sh", { args: ["-c", cmd], stdout: "piped", stderr: "null" }).output();
  return { code: o.code, out: new TextDecoder().decode(o.stdout) };
}

Deno.test("real audit of this machine: written, schema-valid, agreeing with the tools", async () => {
  const out = `${Deno.makeTempDirSync()}/audit.json`;
  const r = await runBee(["audit", "--output", out, "--no-qr"], { path: Deno.env.get("PATH")! });
  assert.equal(r.code, 0, r.stderr);
  const a = Audit.parse(JSON.parse(Deno.readTextFileSync(out)));
  const st = (n: string) => a.collectors.find((c) => c.name === n)!;

  // network: the interfaces the kernel lists
  const ifaces = (await sh("ls /sys/class/net")).out.trim().split(/\s+/).sort();
  assert.deepEqual(a.hardware.network!.interfaces.map((i) => i.name).sort(), ifaces);
  assert.deepEqual(a.hardware.network!.interfaces.find((i) => i.name === "lo")!.ipv4, ["127.0.0.1/8"]);

  // board: dmidecode's own answer decides what bee must say
  const dmi = await sh("dmidecode -s system-uuid");
  if (dmi.code === 127) assert.equal(st("board").status, "missing_tool");
  else if (dmi.code !== 0) assert.equal(st("board").status, "error");
  else assert.equal(a.hardware.board!.system.uuid?.toLowerCase(), dmi.out.trim().toLowerCase() || null);

  // storage: the same whole disks lsblk lists, and SMART as smartctl itself reports it
  const lsblk = await sh("lsblk -J -b -d -o NAME,TYPE");
  if (lsblk.code === 0) {
    const names = (JSON.parse(lsblk.out).blockdevices as { name: string; type: string }[])
      .filter((d) => d.type === "disk" && !/^(loop|zram|ram|md|dm-|nbd|sr)/.test(d.name)).map((d) => d.name);
    assert.deepEqual(a.hardware.storage!.disks.map((d) => d.name), names);
    for (const d of a.hardware.storage!.disks) {
      const s = await sh(`smartctl -j -a ${d.path}`);
      if (s.code === 127) continue;
      const j = JSON.parse(s.out);
      assert.equal(d.smart!.exit_status, j.smartctl.exit_status, d.path);
      assert.equal(d.smart!.passed, j.smart_status?.passed ?? null, d.path);
    }
  }

  // pcie: every function in sysfs
  const pci = (await sh("ls /sys/bus/pci/devices")).out.trim().split(/\s+/).filter(Boolean);
  assert.equal(a.hardware.pcie!.devices.length, pci.length);

  // memory: MemTotal as the kernel says it
  const memTotal = parseInt((await sh("awk '/^MemTotal/ {print $2}' /proc/meminfo")).out, 10) * 1024;
  assert.equal(a.hardware.memory!.os_total_bytes, memTotal);
  assert.match(r.stdout, /VERDICT: (PASS|WARN|FAIL)/);
});
