// TUI screens as pure functions: width bound, control characters from hardware removed.
import assert from "node:assert/strict";
import { fit, hardwareScreen, networkScreen, resultScreen, runningScreen } from "../bee/tui/screens.ts";
import { warnAudit } from "../testkit/web_fixtures.ts";
import { parseIpAddr } from "../bee/parsers/ip.ts";

Deno.test("screens: fit drops control characters, keeps colours, bounds visible width", () => {
  assert.equal(fit("GPU\x1b[2J\x07 name\r\n", 80), "GPU[2J name");
  assert.equal(fit("\x1b[31mred\x1b[0m", 2), "\x1b[31mre\x1b[0m");
  assert.equal([...fit("x".repeat(200))].length, 80);
});

Deno.test("screens: running and result screens fit 80 columns and show what matters", () => {
  const run = runningScreen({
    elapsed_s: 65,
    planned_s: 640,
    job: "gpu_stress",
    job_index: 2,
    jobs: 5,
    detail: "GPU0 bf16 612.3 TFLOPS".repeat(10),
    metrics: [{ gpu: 0, temperature_c: 71, utilization_pct: 100, power_w: 650.4, sm_clock_mhz: 1980 }],
  }, { nvtop: true, title: "NVIDIA acceptance test (10m)" });
  assert.ok(run.every((l) => [...l].length <= 80));
  assert.match(run.join("\n"), /elapsed 00:01:05 +remaining 00:09:35/);
  assert.match(run.join("\n"), /0 +71 °C +100 % +650 W +1980 MHz/);
  const res = resultScreen(
    {
      overall_status: "FAILED",
      jobs: "gpu_stress",
      gpu_stress_status: "FAILED",
      gpu_stress_reason: "GPU 1 bf16: 5 mismatches",
    },
    null,
    "/var/log/bee-sat/x.tar.gz",
  );
  assert.deepEqual(res.slice(0, 2), ["overall: FAILED", "archive: /var/log/bee-sat/x.tar.gz"]);
  assert.match(res.join("\n"), /gpu_stress +FAILED +GPU 1 bf16: 5 mismatches/);
});

Deno.test("network screen: addresses from real ip -j addr, root SSH, the per-boot password only when given", async () => {
  const ifaces = parseIpAddr(
    await Deno.readTextFile(new URL("./fixtures/ip/firecracker-devvm-addr.json", import.meta.url)),
  );
  const plain = networkScreen(ifaces);
  const ssh = plain.filter((l) => /ssh: ssh root@\d+\.\d+\.\d+\.\d+/.test(l));
  assert.ok(ssh.length >= 1, plain.join("\n"));
  assert.ok(!plain.some((l) => /password/i.test(l)));
  const withPw = networkScreen(ifaces, "Abc23defGhJkmnPqrsTu");
  assert.ok(withPw.includes("root password for SSH (this boot only): Abc23defGhJkmnPqrsTu"));
  assert.ok(withPw.every((l) => l.length <= 80));
});

Deno.test("24.6: the details wrap to the console's width (never cut) and leave the loopback out", () => {
  const a = warnAudit();
  a.hardware.summary.findings = [{
    severity: "WARN",
    component: "collector:board",
    code: "collector.error",
    message:
      "board: the area it covers was not checked because dmidecode found no SMBIOS table on this machine",
    action: "Run bee audit as root on a machine whose firmware publishes SMBIOS.",
  }, ...a.hardware.summary.findings];
  assert.ok(a.hardware.network, "the fixture has network interfaces");
  if (a.hardware.network) {
    a.hardware.network.interfaces = [
      { ...a.hardware.network.interfaces[0]!, name: "lo", ipv4: ["127.0.0.1/8"] },
      ...a.hardware.network.interfaces,
    ];
  }
  for (const width of [80, 160]) {
    const lines = hardwareScreen(a, false, width);
    for (const l of lines) assert.ok([...l].length <= width, `${width}: ${l}`);
    const text = lines.join(" ").replace(/\s+/g, " ");
    assert.match(
      text,
      /the area it covers was not checked because dmidecode found no SMBIOS table on this machine/,
    );
    assert.doesNotMatch(text, /net lo\b|127\.0\.0\.1\/8/);
  }
  assert.ok(
    hardwareScreen(a, false, 160).length < hardwareScreen(a, false, 80).length,
    "fewer lines when wider",
  );
});
