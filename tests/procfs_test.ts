import assert from "node:assert/strict";
import { parseCpuinfo, parseMeminfo, topologyCounts } from "../bee/parsers/procfs.ts";
import { fixture } from "../testkit/helpers.ts";

Deno.test("procfs: cpuinfo of the dev VM (real capture)", () => {
  const c = parseCpuinfo(fixture("procfs/firecracker-devvm-cpuinfo.txt"))!;
  assert.equal(c.logical_cpus, 2);
  assert.equal(c.packages, 1);
  assert.ok(c.model && c.model.length > 0);
});

Deno.test("procfs: meminfo values are bytes", () => {
  const m = parseMeminfo(fixture("procfs/qemu-devbox-meminfo.txt"));
  assert.ok(m["MemTotal"]! > 5 * 1024 ** 3 && m["MemTotal"]! < 6 * 1024 ** 3, String(m["MemTotal"]));
  assert.ok(m["MemFree"]! > 0);
});

Deno.test("procfs: garbage gives null / empty, never a throw", () => {
  assert.equal(parseCpuinfo("garbage\n\x00\x01"), null);
  assert.deepEqual(parseMeminfo("%%%"), {});
});

/** `cpuN pkg core` lines of a topology fixture. */
function topology(name: string) {
  return fixture(`sys_cpu/${name}`).trim().split("\n").map((l) => {
    const [, pkg, core] = l.split(" ");
    return { pkg: pkg ?? null, core: core ?? null };
  });
}

Deno.test("sysfs topology: packages and cores on this VM (real) and a 2-socket arm64 (hand-made)", () => {
  assert.deepEqual(topologyCounts(topology("firecracker-devvm-topology.txt")), { packages: 1, cores: 2 });
  // arm64 /proc/cpuinfo has no "physical id": it alone would say one package
  const arm = parseCpuinfo(fixture("procfs/handmade-arm64-2socket-cpuinfo.txt"))!;
  assert.equal(arm.logical_cpus, 8);
  assert.equal(arm.packages, 1);
  assert.deepEqual(topologyCounts(topology("handmade-arm64-2socket-topology.txt")), {
    packages: 2,
    cores: 8,
  });
  assert.equal(topologyCounts([{ pkg: null, core: "0" }, { pkg: "x", core: "1" }]), null);
});
