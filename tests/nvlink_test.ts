// NVLink and the GPU fabric: `nvidia-smi nvlink -s` and `topo -m` of a real H100 PCIe pair on NVLink bridges,
// `nvlink -e` in its published layout (hand-made counts), through the parsers, the audit and the rules.
import assert from "node:assert/strict";
import { parseNvlinkErrors, parseNvlinkStatus, parseTopoMatrix } from "../bee/parsers/nvlink.ts";
import { driverVersion, parseNvidiaSmiQ } from "../bee/parsers/nvidia_smi.ts";
import { stripEscapes } from "../bee/lib/text.ts";
import { Audit, type Gpu, type Hardware, type NvlinkLink, type PciDevice } from "../bee/model/schema.ts";
import { judge, NO_HARDWARE } from "../bee/audit/verdict.ts";
import { fakeBin, fixture, pciDevice, qemuDevboxRoot, qemuDevboxTools, runBee } from "../testkit/helpers.ts";

type Hw = Omit<Hardware, "summary">;
const codes = (hw: Partial<Hw>) =>
  judge({ ...NO_HARDWARE, ...hw }, []).map((f) => `${f.severity} ${f.code} ${f.component}: ${f.message}`);

const S = "nvidia_smi_nvlink/h100pcie-x2-bridge-555.42.02-nvlink-s.txt";
const T = "nvidia_smi_nvlink/h100pcie-x2-bridge-555.42.02-topo-m.txt";
const E = "nvidia_smi_nvlink/handmade-h100sxm-x2-nvlink-e.txt";

/** GPUs named `name` with the given NVLinks (the rest of each GPU from the real A6000 capture). */
function gpus(name: string, links: NvlinkLink[][]): Gpu[] {
  const base = parseNvidiaSmiQ(fixture("nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt")).gpus[0]!;
  return links.map((l, i) => ({
    ...base,
    index: i,
    name,
    pci_bus_id: `0000:${(0x10 + i).toString(16)}:00.0`,
    nvlinks: l,
  }));
}
const link = (n: number, gbps: number | null, errs = 0): NvlinkLink => ({
  link: n,
  gbps,
  replay_errors: errs,
  recovery_errors: 0,
  crc_errors: 0,
});
const switches = (n: number): PciDevice[] =>
  Array.from({ length: n }, (_, i) =>
    pciDevice(`0000:0${i}:00.0`, {
      class: "Bridge",
      class_id: "068000",
      vendor: "NVIDIA Corporation",
      vendor_id: "10de",
      device: "GH100 [H100 NVSwitch]",
    }));

Deno.test("nvlink: -s of the real H100 PCIe pair — 18 links each, 12 active at 26.562 GB/s (the bridges' wiring)", () => {
  const s = parseNvlinkStatus(fixture(S));
  assert.deepEqual([...s.keys()], [0, 1]);
  assert.equal(s.get(0)!.uuid, "GPU-6968dfc2-d444-d92c-c36b-6abe53445cb9");
  assert.equal(s.get(1)!.links.length, 18);
  assert.deepEqual(s.get(1)!.links.filter((l) => l.gbps === null).map((l) => l.link), [4, 5, 10, 11, 16, 17]);
  assert.equal(s.get(0)!.links[0]!.gbps, 26.562);
  assert.deepEqual(parseTopoMatrix(fixture(T)), [{ a: 0, b: 1, connection: "NV12" }]);
  // the newer nested -e layout too
  const nested = parseNvlinkErrors(
    "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-a)\n\t Link 0:\n\t\tCRC Flit Error: 2\n\t\tReplay Error: 5\n",
  );
  assert.deepEqual(nested.get(0)!.get(0), { replay: 5, recovery: null, crc: 2 });
  assert.deepEqual(parseNvlinkErrors(fixture(E)).get(0)!.get(2), { replay: 3, recovery: 1, crc: 57 });
});

Deno.test("nvlink: bee audit reads -s, -e and topo -m into each GPU and the topology (real outputs on fake tools)", async () => {
  const bin = fakeBin();
  qemuDevboxTools(bin, {
    "nvidia-smi": [
      // the A6000 capture's GPUs 0 and 1 take the H100 pair's links: plumbing, not a real machine
      { args: "-q", file: "nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt" },
      { args: "nvlink -s", file: S },
      { args: "nvlink -e", file: E },
      { args: "topo -m", file: T },
    ],
    pgrep: [{ args: "*", exit: 1 }],
  });
  const out = `${Deno.makeTempDirSync()}/a.json`;
  const r = await runBee(["audit", "--root", qemuDevboxRoot(), "--output", out, "--no-qr"], { path: bin });
  assert.equal(r.code, 0, r.stderr);
  const a = Audit.parse(JSON.parse(Deno.readTextFileSync(out)));
  const g = a.hardware.nvidia!.gpus;
  assert.equal(g[0]!.nvlinks!.length, 18);
  assert.deepEqual(g[0]!.nvlinks![2], {
    link: 2,
    gbps: 26.562,
    replay_errors: 3,
    recovery_errors: 1,
    crc_errors: 57,
  });
  assert.deepEqual(g[2]!.nvlinks, []);
  assert.deepEqual(a.hardware.nvidia!.topology!.pairs, [{ a: 0, b: 1, connection: "NV12" }]);
  assert.match(a.hardware.nvidia!.topology!.raw, /NV# {2}= Connection traversing a bonded set of # NVLinks/);
  assert.ok(
    a.hardware.summary.findings.some((f) =>
      f.code === "nvidia.nvlink_errors" && /link 2 replay 3, recovery 1, CRC 57/.test(f.message)
    ),
  );
});

Deno.test("nvlink rules: the real bridged pair is clean; a GPU below its peers, inactive links under NVSwitches FAIL", () => {
  const s = parseNvlinkStatus(fixture(S));
  const real = gpus("NVIDIA H100 PCIe", [s.get(0)!.links, s.get(1)!.links]);
  assert.deepEqual(codes({ nvidia: { driver_version: null, cuda_version: null, gpus: real } }), []);
  // EDITED: GPU 1 lost link 3
  const lost = s.get(1)!.links.map((l) => (l.link === 3 ? { ...l, gbps: null } : l));
  assert.deepEqual(
    codes({
      nvidia: {
        driver_version: null,
        cuda_version: null,
        gpus: gpus("NVIDIA H100 PCIe", [s.get(0)!.links, lost, s.get(0)!.links]),
      },
    }),
    [
      "FAIL nvidia.nvlink_inactive nvidia:gpu1: NVIDIA H100 PCIe 0000:11:00.0: 11 NVLinks active, its 2 peer(s) of the same model have 12",
    ],
  );
  // an HGX (NVSwitches on the bus): every link must be up
  const hgx = gpus("NVIDIA H100 80GB HBM3", [
    Array.from({ length: 18 }, (_, i) => link(i, 26.562)),
    Array.from({ length: 18 }, (_, i) => link(i, i === 7 ? null : 26.562)),
  ]);
  const f = codes({
    pcie: { devices: switches(4) },
    nvidia: {
      driver_version: null,
      cuda_version: null,
      gpus: hgx,
      fabric_manager: { running: true, version: "550.1" },
    },
  });
  assert.deepEqual(f, [
    "FAIL nvidia.nvlink_inactive nvidia:gpu1: NVIDIA H100 80GB HBM3 0000:11:00.0: 17 of 18 NVLinks active on an NVSwitch system (inactive: 7)",
  ]);
});

Deno.test("nvlink rules: errors WARN; topology pair below the others FAIL; NVSwitch count per HGX design; fabric state", () => {
  const errs = gpus("NVIDIA H100 80GB HBM3", [[link(0, 26.562), link(1, 26.562, 12)]]);
  assert.deepEqual(codes({ nvidia: { driver_version: null, cuda_version: null, gpus: errs } }), [
    "WARN nvidia.nvlink_errors nvidia:gpu0: NVIDIA H100 80GB HBM3 0000:10:00.0: link 1 replay 12, recovery 0, CRC 0",
  ]);
  // HAND-MADE topology of an 8-GPU NVSwitch board (every pair NV18) with one degraded pair and one lost pair
  const pairs = [];
  for (let a = 0; a < 8; a++) for (let b = a + 1; b < 8; b++) pairs.push({ a, b, connection: "NV18" });
  pairs[3]!.connection = "NV12";
  pairs[10]!.connection = "SYS";
  assert.deepEqual(
    codes({ nvidia: { driver_version: null, cuda_version: null, gpus: [], topology: { pairs, raw: "" } } }),
    [
      "FAIL nvidia.topology_mismatch nvidia:gpu0-gpu4: GPU 0 ↔ GPU 4: NV12, the other NVLink pairs NV18",
      "FAIL nvidia.topology_mismatch nvidia:gpu1-gpu5: GPU 1 ↔ GPU 5: SYS (no NVLink), 27 of 28 pairs have NVLink",
    ],
  );
  // eight H100 SXM: four NVSwitches by design; three is a FAIL
  const eight = gpus("NVIDIA H100 80GB HBM3", Array.from({ length: 8 }, () => []));
  const nv = {
    driver_version: null,
    cuda_version: null,
    gpus: eight,
    fabric_manager: { running: true, version: "550.1" },
  };
  assert.deepEqual(codes({ pcie: { devices: switches(4) }, nvidia: nv }), []);
  assert.deepEqual(codes({ pcie: { devices: switches(3) }, nvidia: nv }), [
    "FAIL nvidia.nvswitch_count nvidia: HGX H100 8-GPU board: 3 NVSwitch(es) on the PCI bus, 4 by design",
  ]);
  // fabric registration still running on one GPU
  const fab = gpus("NVIDIA H100 80GB HBM3", [[]]).map((g) => ({
    ...g,
    fabric_state: "In Progress",
    fabric_status: "N/A",
  }));
  assert.match(
    codes({ nvidia: { driver_version: null, cuda_version: null, gpus: fab } })[0]!,
    /^FAIL nvidia\.fabric_not_ready .*fabric state In Progress/,
  );
  assert.deepEqual(
    parseNvidiaSmiQ(fixture("nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt")).gpus[0]!.fabric_state,
    null,
  );
});

Deno.test("24.4: topo -m with its header in terminal escapes (590-series) still gives every GPU pair", () => {
  const real = fixture("nvidia_smi_nvlink/h100pcie-x2-bridge-555.42.02-topo-m.txt");
  // hand-made from the real capture: the header line wrapped in bold as the 590 driver prints it
  const bold = real.split("\n").map((l) => /^\s+GPU0\b/.test(l) ? `\x1b[4m\x1b[1m${l}\x1b[0m` : l).join("\n");
  assert.notEqual(bold, real);
  assert.deepEqual(parseTopoMatrix(bold), parseTopoMatrix(real));
  assert.ok(parseTopoMatrix(real).length > 0);
  assert.equal(stripEscapes("\x1b[1mGPU0\x1b[0m \x1b]0;title\x07x"), "GPU0 x");
});

Deno.test("24.4: driver 610's `Driver Version : X [Deprecated …]` beside `KMD Version` reads as the number", () => {
  const real = fixture("nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt");
  // hand-made from the real capture in the 610 layout (the driver line deprecated, a KMD Version line added)
  const v610 = real.replace(
    /^Driver Version\s*:.*$/m,
    "Driver Version                            : 610.17 [Deprecated, use KMD Version]\nKMD Version                               : 610.17",
  );
  assert.equal(parseNvidiaSmiQ(v610).driver_version, "610.17");
  assert.equal(parseNvidiaSmiQ(real).driver_version, "550.127.05");
  assert.equal(driverVersion(null, "610.17"), "610.17");
});
