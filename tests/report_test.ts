import assert from "node:assert/strict";
import { qrText, terminalSummary } from "../bee/audit/report.ts";
import { Audit } from "../bee/model/schema.ts";
import { parseNvidiaSmiQ } from "../bee/parsers/nvidia_smi.ts";
import { boardFromDmi, parseDmidecode } from "../bee/parsers/dmidecode.ts";
import { fixture } from "../testkit/helpers.ts";

function audit(): Audit {
  return Audit.parse({
    schema_version: 1,
    bee: { version: "0.1.0", git_commit: "abc" },
    host: {
      hostname: "gpu-node-7",
      kernel: "6.1.0",
      collected_at: "2026-11-24T00:00:00.000Z",
      duration_ms: 1200,
    },
    hardware: {
      board: boardFromDmi(parseDmidecode(fixture("dmidecode/qemu-devbox-t0-1-2.txt"))),
      cpu: { sockets: null, os: { model: "AMD EPYC 9654", logical_cpus: 384, packages: 2, cores: 192 } },
      memory: { slots: null, installed_bytes: null, os_total_bytes: 1536 * 1024 ** 3, edac: null },
      storage: { disks: [] },
      pcie: null,
      psu: null,
      nvidia: parseNvidiaSmiQ(fixture("nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt")),
      network: null,
      summary: {
        verdict: "WARN",
        warnings: 1,
        failures: 0,
        findings: [{
          severity: "WARN",
          component: "collector:psu",
          code: "collector.error",
          message: "psu: ipmitool failed",
          action: "Read it.",
        }],
      },
    },
    collectors: [],
  });
}

Deno.test("report: the QR text carries host, serial, verdict, counts and inventory", () => {
  assert.equal(
    qrText(audit()),
    "BEE1|host=gpu-node-7|sn=SYSSN-0001|verdict=WARN|warn=1|fail=0|cpu=2x AMD EPYC 9654|ram=1536G|disks=0|gpus=3x NVIDIA RTX A6000",
  );
});

Deno.test("report: the terminal summary names the verdict, findings and actions; colour only when asked", () => {
  const plain = terminalSummary(audit(), false);
  assert.match(plain, /VERDICT: WARN/);
  assert.match(plain, /WARN collector:psu: psu: ipmitool failed \[collector.error\]/);
  assert.match(plain, /→ Read it\./);
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(plain, /\x1b\[/);
  // deno-lint-ignore no-control-regex
  assert.match(terminalSummary(audit(), true), /\x1b\[1;33mVERDICT: WARN/);
});
