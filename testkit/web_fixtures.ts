// Audit documents for the web tests, assembled from parsed real captures: a PASS qemu-devbox, a
// WARN machine, and a FAIL 8-GPU server (the three real A6000 GPU sections cloned to eight).
import { Audit, type Gpu } from "../bee/model/schema.ts";
import {
  boardFromDmi,
  cpuSocketsFromDmi,
  memorySlotsFromDmi,
  parseDmidecode,
} from "../bee/parsers/dmidecode.ts";
import { parseNvidiaSmiQ } from "../bee/parsers/nvidia_smi.ts";
import { parseSmartctl } from "../bee/parsers/smartctl.ts";
import { judge, summarize } from "../bee/audit/verdict.ts";
import { fixture } from "./helpers.ts";

function base(): Omit<Audit["hardware"], "summary"> {
  return {
    board: boardFromDmi(parseDmidecode(fixture("dmidecode/qemu-devbox-t0-1-2.txt"))),
    cpu: {
      sockets: cpuSocketsFromDmi(parseDmidecode(fixture("dmidecode/qemu-devbox-t4.txt"))),
      os: { model: "ExampleCPU 3000", logical_cpus: 2, packages: 1, cores: 2 },
    },
    memory: {
      slots: memorySlotsFromDmi(parseDmidecode(fixture("dmidecode/qemu-devbox-t17.txt"))),
      installed_bytes: 6 * 1024 ** 3,
      os_total_bytes: 6 * 1024 ** 3 - 200 * 1024 ** 2,
      edac: [],
    },
    storage: {
      disks: [{
        name: "sda",
        path: "/dev/sda",
        type: "disk",
        size_bytes: 1073741824,
        model: "EXAMPLE SSD 480",
        serial: "EXSATA0001",
        vendor: "ATA",
        firmware: "2.5+",
        transport: "sata",
        rotational: false,
        removable: false,
        wwn: null,
        smart: parseSmartctl(fixture("smartctl/qemu-devbox-a-sda.json")),
        nvme: null,
      }],
    },
    pcie: { devices: [] },
    psu: null,
    nvidia: null,
    network: {
      interfaces: [{
        name: "eth0",
        mac: "52:54:00:12:34:56",
        operstate: "up",
        carrier: true,
        speed_mbps: 1000,
        mtu: 1500,
        physical: true,
        driver: "e1000e",
        ipv4: ["192.0.2.10/24"],
        ipv6: [],
      }],
    },
  };
}

function finish(hw: Omit<Audit["hardware"], "summary">, hostname = "qemu-devbox"): Audit {
  const collectors = (["board", "cpu", "memory", "storage", "pcie", "psu", "nvidia", "network"] as const).map(
    (name) => ({
      name,
      status: "ok" as const,
      duration_ms: 10,
      message: null,
      commands: [],
    }),
  );
  return Audit.parse({
    schema_version: 1,
    bee: { version: "0.1.0", git_commit: "fixture" },
    host: { hostname, kernel: "6.1.0-56-amd64", collected_at: "2026-11-24T10:00:00.000Z", duration_ms: 2100 },
    hardware: { ...hw, summary: summarize(judge(hw, collectors)) },
    collectors,
  });
}

/** A healthy machine: PASS. */
export function passAudit(): Audit {
  return finish(base());
}

/** One disk with reallocated sectors: WARN. */
export function warnAudit(): Audit {
  const hw = base();
  hw.storage!.disks[0]!.smart!.reallocated_sectors = 12;
  return finish(hw);
}

/** An 8-GPU server with one GPU's pending row remap and a failing disk: FAIL. */
export function eightGpuFailAudit(): Audit {
  const hw = base();
  const real = parseNvidiaSmiQ(fixture("nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt"));
  const gpus: Gpu[] = [];
  for (let i = 0; i < 8; i++) {
    const g = structuredClone(real.gpus[i % 3]!);
    g.index = i;
    g.pci_bus_id = `0000:${(0x4f + i).toString(16)}:00.0`;
    gpus.push(g);
  }
  gpus[5]!.remapped_rows.pending = true;
  hw.nvidia = { ...real, gpus };
  hw.storage!.disks[0]!.smart = parseSmartctl(fixture("smartctl/edited-failing-ata-sda.json"));
  return finish(hw, "gpu-node-08");
}

/** The PASS audit with hostile strings from "firmware". */
export function hostileAudit(): Audit {
  const hw = base();
  hw.storage!.disks[0]!.model = "<script>alert('x')</script><img src=http://evil/>";
  hw.storage!.disks[0]!.serial = "S".repeat(256);
  hw.board!.system.product = `"><iframe src="http://evil/">`;
  return finish(hw);
}
