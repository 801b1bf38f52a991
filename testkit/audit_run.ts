// A whole `bee audit` through the real launcher with fake tools on PATH and the qemu-devbox root replayed,
// for the flow tests of every area.
import { Audit } from "../bee/model/schema.ts";
import { fakeBin, qemuDevboxRoot, runBee } from "./helpers.ts";

export function readAudit(path: string): Audit {
  return Audit.parse(JSON.parse(Deno.readTextFileSync(path)));
}

export function statusOf(a: Audit, name: string) {
  return a.collectors.find((c) => c.name === name)!;
}

export async function auditWith(
  setup: (bin: string) => void,
  extra: string[] = [],
  rootSetup?: (root: string) => void,
) {
  const bin = fakeBin();
  setup(bin);
  const root = qemuDevboxRoot();
  rootSetup?.(root);
  const out = `${Deno.makeTempDirSync()}/audit.json`;
  const r = await runBee(["audit", "--root", root, "--output", out, "--no-qr", ...extra], { path: bin });
  return { r, out, bin };
}

/** A RAID bus controller function (class 0x0104) of PCI vendor `vendor` under `root`. */
export function raidOnBus(root: string, vendor: string, address: string): void {
  const dev = `${root}/sys/bus/pci/devices/${address}`;
  Deno.mkdirSync(dev, { recursive: true });
  Deno.writeTextFileSync(`${dev}/vendor`, `${vendor}\n`);
  Deno.writeTextFileSync(`${dev}/class`, "0x010400\n");
}
