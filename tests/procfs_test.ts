import assert from "node:assert/strict";
import { parseCpuinfo, parseMeminfo } from "../bee/audit/parsers/procfs.ts";
import { fixture } from "./helpers.ts";

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
