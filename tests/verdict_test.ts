import assert from "node:assert/strict";
import {
  BOM_RULE_ROWS,
  judge,
  NO_HARDWARE,
  RULE_ROWS,
  RULES,
  SAT_RULE_ROWS,
  summarize,
} from "../bee/audit/verdict.ts";
import { parseSmartctl } from "../bee/parsers/smartctl.ts";
import { parseNvidiaSmiQ } from "../bee/parsers/nvidia_smi.ts";
import { parseIpmiSdr } from "../bee/parsers/ipmitool.ts";
import type { CollectorStatus, Disk, Hardware } from "../bee/model/schema.ts";
import { fixture, REPO } from "../testkit/helpers.ts";
import { pciDevice as pci } from "../testkit/helpers.ts";

type Hw = Omit<Hardware, "summary">;
const EMPTY: Hw = NO_HARDWARE;
const ok = (name: CollectorStatus["name"]): CollectorStatus => ({
  name,
  status: "ok",
  duration_ms: 1,
  message: null,
  commands: [],
});
const codes = (hw: Partial<Hw>, cs: CollectorStatus[] = []) =>
  judge({ ...EMPTY, ...hw }, cs).map((f) => `${f.severity} ${f.code} ${f.component}`);

function disk(path: string, smartFile: string, exit: number | null = null): Disk {
  return {
    name: path.slice(5),
    path,
    type: "disk",
    size_bytes: 1,
    model: null,
    serial: null,
    vendor: null,
    firmware: null,
    transport: null,
    rotational: null,
    removable: false,
    wwn: null,
    smart: parseSmartctl(fixture(smartFile), exit),
    nvme: null,
  };
}

Deno.test("verdict: healthy qemu-devbox disks give no finding; PASS", () => {
  const storage = {
    disks: [
      disk("/dev/sda", "smartctl/qemu-devbox-a-sda.json"),
      disk("/dev/nvme0", "smartctl/qemu-devbox-a-nvme0.json"),
    ],
  };
  const f = judge({ ...EMPTY, storage }, [ok("storage")]);
  assert.deepEqual(f, []);
  assert.equal(summarize(f).verdict, "PASS");
});

Deno.test("verdict: a failing disk is FAIL with health, exit bits, reallocated and pending sectors", () => {
  const storage = { disks: [disk("/dev/sda", "smartctl/edited-failing-ata-sda.json")] };
  const got = codes({ storage });
  assert.deepEqual(got, [
    "FAIL storage.smart_failed storage:/dev/sda",
    "FAIL storage.smart_disk_failing storage:/dev/sda",
    "FAIL storage.smart_prefail storage:/dev/sda",
    "WARN storage.smart_error_log storage:/dev/sda",
    "WARN storage.reallocated_sectors storage:/dev/sda",
    "WARN storage.pending_sectors storage:/dev/sda",
  ]);
  assert.equal(summarize(judge({ ...EMPTY, storage }, [])).verdict, "FAIL");
});

Deno.test("verdict: smartctl exit bit 2 alone (real -x capture) is not judged", () => {
  assert.deepEqual(
    codes({ storage: { disks: [disk("/dev/sda", "smartctl/qemu-devbox-x-sda.json", 4)] } }),
    [],
  );
});

Deno.test("verdict: NVMe critical warning, low spare, wear and media errors", () => {
  const d = disk("/dev/nvme0", "smartctl/qemu-devbox-a-nvme0.json");
  d.smart!.nvme_health = {
    ...d.smart!.nvme_health!,
    critical_warning: 0x05,
    available_spare: 5,
    available_spare_threshold: 10,
    percentage_used: 93,
    media_errors: 2,
  };
  const f = judge({ ...EMPTY, storage: { disks: [d] } }, []);
  assert.deepEqual(f.map((x) => x.code), [
    "storage.nvme_critical_warning",
    "storage.nvme_spare_low",
    "storage.nvme_wear",
    "storage.nvme_media_errors",
  ]);
  assert.match(f[0]!.message, /spare below threshold, reliability degraded/);
  // the qemu NVMe reports spare 0 with threshold 0: not below
  assert.deepEqual(
    codes({ storage: { disks: [disk("/dev/nvme0", "smartctl/qemu-devbox-a-nvme0.json")] } }),
    [],
  );
});

Deno.test("verdict: SAS grown defects and uncorrected errors warn", () => {
  const d = disk("/dev/sdb", "smartctl/freebsd-sas-toshiba-al13sxb60en-a.json");
  d.smart!.grown_defects = 12;
  d.smart!.uncorrected_read_errors = 3;
  assert.deepEqual(codes({ storage: { disks: [d] } }), [
    "WARN storage.reallocated_sectors storage:/dev/sdb",
    "WARN storage.uncorrected_errors storage:/dev/sdb",
  ]);
});

Deno.test("verdict: memory — OS RAM low, EDAC UE fail, CE warn", () => {
  const memory = {
    slots: [],
    installed_bytes: 512 * 1024 ** 3,
    os_total_bytes: 448 * 1024 ** 3,
    edac: [{ controller: "mc0", ce_count: 4, ue_count: 1 }],
  };
  assert.deepEqual(codes({ memory }), [
    "WARN memory.os_ram_low memory",
    "FAIL memory.edac_uncorrected memory:mc0",
    "WARN memory.edac_corrected memory:mc0",
  ]);
  assert.deepEqual(codes({ memory: { ...memory, os_total_bytes: 470 * 1024 ** 3, edac: [] } }), []);
});

Deno.test("verdict: PCIe width below max warns on endpoints, not on bridges or unknown widths", () => {
  const pcie = {
    devices: [
      pci("0000:4f:00.0", { class_id: "030200", current_link_width: 8, max_link_width: 16 }),
      pci("0000:00:01.0", { class_id: "060400", current_link_width: 4, max_link_width: 16 }),
      pci("0000:00:02.0", { class_id: "010802", current_link_width: null, max_link_width: null }),
      pci("0000:5e:00.0", {
        class_id: "020000",
        current_link_width: 16,
        max_link_width: 16,
        current_link_speed: "2.5 GT/s PCIe",
        max_link_speed: "16.0 GT/s PCIe",
      }),
    ],
  };
  assert.deepEqual(codes({ pcie }), ["WARN pcie.link_degraded pcie:0000:4f:00.0"]);
});

Deno.test("verdict: an NVIDIA GPU on the bus but missing from nvidia-smi is FAIL", () => {
  const nvidia = parseNvidiaSmiQ(fixture("nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt"));
  const gpuDev = (a: string) =>
    pci(a, { vendor_id: "10de", class_id: "030000", device: "GA102GL [RTX A6000]" });
  const pcie = {
    devices: [
      gpuDev("0000:4f:00.0"),
      gpuDev("0000:52:00.0"),
      gpuDev("0000:53:00.0"),
      gpuDev("0000:57:00.0"),
      pci("0000:4f:00.1", { vendor_id: "10de", class_id: "040300" }),
    ],
  };
  assert.deepEqual(codes({ pcie, nvidia }, [ok("nvidia")]), ["FAIL pcie.gpu_missing pcie:0000:57:00.0"]);
  // driver not loaded: GPUs on the bus but nvidia skipped → WARN, not silently PASS
  const skipped: CollectorStatus = {
    ...ok("nvidia"),
    status: "skipped",
    message: "NVIDIA driver not loaded",
  };
  assert.deepEqual(codes({ pcie }, [skipped]), ["WARN nvidia.unavailable nvidia"]);
});

Deno.test("verdict: GPU health — DBE, pending retirement and remap, remap failure, retired pages, HW slowdown, VBIOS mix", () => {
  const nvidia = parseNvidiaSmiQ(fixture("nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt"));
  const [g0, g1, g2] = nvidia.gpus;
  g0!.ecc_volatile.uncorrectable = 1;
  g0!.remapped_rows.pending = true;
  g1!.remapped_rows.failure = true;
  g1!.retired_pages = { single_bit: 40, double_bit: 23, pending: true };
  g2!.clock_event_reasons_active = ["SW Power Cap", "HW Power Brake Slowdown"];
  g2!.vbios = "94.02.5C.00.09";
  // findings come in rule-row order
  assert.deepEqual(codes({ nvidia }), [
    "FAIL nvidia.ecc_uncorrected nvidia:gpu0",
    "FAIL nvidia.retirement_pending nvidia:gpu1",
    "FAIL nvidia.remap_pending nvidia:gpu0",
    "FAIL nvidia.remap_failure nvidia:gpu1",
    "FAIL nvidia.retired_pages_limit nvidia:gpu1",
    "WARN nvidia.vbios_mismatch nvidia",
    "WARN nvidia.clock_slowdown nvidia:gpu2",
  ]);
});

Deno.test("verdict: SW power cap alone is normal", () => {
  const nvidia = parseNvidiaSmiQ(fixture("nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt"));
  assert.deepEqual(codes({ nvidia }), []);
});

Deno.test("verdict: PSU sensors — critical status and failure events FAIL, non-critical WARN", () => {
  const sensors = parseIpmiSdr(`PS1 Status | C8h | ok | 10.1 | Presence detected
PS2 Status | C9h | ok | 10.2 | Presence detected, Failure detected
PSU1 Input Volt | 2Ah | cr | 10.1 | 0 Volts
PSU2 Temp | 2Bh | nc | 10.2 | 61 degrees C
CPU1 Temp | 01h | cr | 3.1 | 99 degrees C
`);
  assert.deepEqual(codes({ psu: { fru: [], sensors } }), [
    "FAIL psu.sensor_critical psu:PS2 Status",
    "FAIL psu.sensor_critical psu:PSU1 Input Volt",
    "WARN psu.sensor_warning psu:PSU2 Temp",
    // a CPU temperature is no power sensor: the BMC's thermal rule takes it
    "FAIL bmc.sensor_critical bmc:CPU1 Temp",
  ]);
});

Deno.test("verdict: collectors that errored or timed out WARN; missing tools and skips do not", () => {
  const cs: CollectorStatus[] = [
    { ...ok("board"), status: "error", message: "dmidecode exited 1" },
    { ...ok("storage"), status: "timeout", message: "smartctl timed out" },
    { ...ok("psu"), status: "skipped" },
    { ...ok("pcie"), status: "missing_tool" },
  ];
  const s = summarize(judge(EMPTY, cs));
  assert.equal(s.verdict, "WARN");
  assert.deepEqual(s.findings.map((f) => f.code), ["collector.error", "collector.timeout"]);
});

Deno.test("verdict: disks present but smartctl missing WARN (health unchecked)", () => {
  const d = disk("/dev/sda", "smartctl/qemu-devbox-a-sda.json");
  d.smart = null;
  // the storage collector says so in its data (the rule never reads command strings)
  assert.deepEqual(codes({ storage: { disks: [d], smartctl_missing: true } }), [
    "WARN storage.smart_unchecked storage",
  ]);
  assert.deepEqual(codes({ storage: { disks: [d] } }), []);
});

Deno.test("verdict: the README rule table is the rule rows, cell for cell (deno task rules regenerates it)", () => {
  const readme = Deno.readTextFileSync(`${REPO}/README.md`);
  const block = readme.slice(readme.indexOf("<!-- rules:begin -->"), readme.indexOf("<!-- rules:end -->"));
  const cells = (line: string) =>
    line.trim().replace(/^\||\|$/g, "").split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
  const rows = block.split("\n").filter((l) => l.startsWith("| `")).map(cells);
  assert.deepEqual(
    rows,
    [...RULE_ROWS, ...BOM_RULE_ROWS, ...SAT_RULE_ROWS].map((
      r,
    ) => [`\`${r.code}\``, r.severity, r.when, r.action, r.source]),
    "README rule table out of date: run deno task rules",
  );
  // every row has a source and a check that is exercised somewhere in this file's tests
  for (const r of [...RULE_ROWS, ...BOM_RULE_ROWS, ...SAT_RULE_ROWS]) {
    assert.ok(r.source.length > 5, `${r.code} names the source of its threshold`);
  }
  const all = [...RULE_ROWS, ...BOM_RULE_ROWS, ...SAT_RULE_ROWS];
  assert.equal(new Set(all.map((r) => r.code)).size, all.length, "codes are unique");
  assert.deepEqual(Object.keys(RULES), all.map((r) => r.code));
});

Deno.test("verdict: NVSwitches on the bus without a running Fabric Manager is FAIL; running is clean", () => {
  const nvidia = parseNvidiaSmiQ(fixture("nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt"));
  const gpus = nvidia.gpus.map((g) => pci(g.pci_bus_id!, { vendor_id: "10de", class_id: "030200" }));
  // an HGX baseboard shows its NVSwitches as NVIDIA bridge-class functions (0680)
  const pcie = { devices: [...gpus, pci("0000:07:00.0", { vendor_id: "10de", class_id: "068000" })] };
  const down = { ...nvidia, fabric_manager: { running: false, version: null } };
  assert.deepEqual(codes({ pcie, nvidia: down }, [ok("nvidia")]), ["FAIL nvidia.fabric_manager_down nvidia"]);
  const f = judge({ ...EMPTY, pcie, nvidia: down }, [ok("nvidia")])[0]!;
  assert.match(f.message, /1 NVSwitch\(es\) on the PCI bus, Fabric Manager not running \(not installed\)/);
  // what the ISO's bee-nvidia recorded at boot is in the finding
  const absent = {
    ...nvidia,
    fabric_manager: {
      running: false,
      version: null,
      boot_state: "absent: 1 NVSwitch(es), but this image carries no Fabric Manager",
    },
  };
  assert.match(
    judge({ ...EMPTY, pcie, nvidia: absent }, [ok("nvidia")])[0]!.message,
    /\(not installed\); at boot: absent: 1 NVSwitch\(es\), but this image carries no Fabric Manager$/,
  );
  const up = { ...nvidia, fabric_manager: { running: true, version: "550.163.01" } };
  assert.deepEqual(codes({ pcie, nvidia: up }, [ok("nvidia")]), []);
  // no NVSwitch: Fabric Manager is not asked for
  assert.deepEqual(codes({ pcie: { devices: gpus }, nvidia: down }, [ok("nvidia")]), []);
});

Deno.test("verdict: PSU redundancy — lost or insufficient FAIL with two PSUs, sufficient-from-redundant WARN", () => {
  // hand-made rows in ipmitool `sdr elist` layout; the states are IPMI's generic redundancy states (type 0Bh)
  const rows = (state: string) =>
    parseIpmiSdr(`PS1 Status       | C8h | ok  | 10.1 | Presence detected
PS2 Status       | C9h | ok  | 10.2 | Presence detected
PS Redundancy    | 77h | ok  |  7.1 | ${state}
`);
  assert.deepEqual(codes({ psu: { fru: [], sensors: rows("Fully Redundant") } }), []);
  assert.deepEqual(codes({ psu: { fru: [], sensors: rows("Redundancy Lost") } }), [
    "FAIL psu.redundancy_lost psu:PS Redundancy",
  ]);
  assert.deepEqual(codes({ psu: { fru: [], sensors: rows("Non-Redundant: Insufficient Resources") } }), [
    "FAIL psu.redundancy_lost psu:PS Redundancy",
  ]);
  assert.deepEqual(codes({ psu: { fru: [], sensors: rows("Non-Redundant: Sufficient from Redundant") } }), [
    "WARN psu.redundancy_degraded psu:PS Redundancy",
  ]);
  // a single-PSU server has no redundancy to lose
  const single = parseIpmiSdr(`PS1 Status       | C8h | ok  | 10.1 | Presence detected
PS Redundancy    | 77h | ok  |  7.1 | Redundancy Lost
`);
  assert.deepEqual(codes({ psu: { fru: [], sensors: single } }), []);
});

Deno.test("memory: Optane PMem (real capture) is listed as its own kind and never counted as DRAM", async () => {
  const { memorySlotsFromDmi, parseDmidecode } = await import("../bee/parsers/dmidecode.ts");
  const text = fixture("dmidecode/tum-adelaide-optane-memory.txt");
  const slots = memorySlotsFromDmi(parseDmidecode(text));
  assert.deepEqual(slots.map((s) => s.kind), [
    "dram",
    "pmem",
    "dram",
    "pmem",
    "dram",
    "pmem",
    "dram",
    "pmem",
  ]);
  const GiB = 1024 ** 3;
  assert.equal(slots[1]!.volatile_bytes, 253 * GiB);
  const dram = slots.filter((s) => s.kind === "dram").reduce((a, s) => a + s.size_bytes!, 0);
  const memory = (os: number, ss = slots) => ({
    memory: { slots: ss, installed_bytes: dram, pmem_bytes: 1024 * GiB, os_total_bytes: os, edac: [] },
  });
  // Memory Mode as captured: the OS saw 995 GiB (PMem volatile, DRAM as cache) — no "OS sees less RAM"
  assert.deepEqual(codes(memory(995 * GiB)), []);
  // App Direct (labelled edit: Volatile Size None): the OS sees the 256 GiB of DRAM — still nothing to say
  const appDirect = memorySlotsFromDmi(
    parseDmidecode(text.replaceAll("Volatile Size: 253 GB", "Volatile Size: None")),
  );
  assert.deepEqual(codes(memory(251 * GiB, appDirect)), []);
  // and a DIMM really missing from the OS is still caught
  assert.deepEqual(codes(memory(180 * GiB, appDirect)), ["WARN memory.os_ram_low memory"]);
});

Deno.test("memory: BMC memory sensors asserting ECC states are a WARN (correctable) or FAIL (uncorrectable)", () => {
  // HAND-MADE rows in ipmitool `sdr elist` layout (no real capture with these states was found); the
  // state strings are IPMI's memory sensor offsets (sensor type 0Ch) as ipmitool prints them
  const sdr = (state: string) =>
    parseIpmiSdr(`Watchdog         | 03h | ok  | 46.1 | 
DIMM_A1          | 4Ah | ok  | 32.1 | ${state}
CPU1 Temp        | 01h | ok  |  3.1 | 45 degrees C
`);
  assert.deepEqual(codes({ psu: { fru: [], sensors: sdr("Presence Detected") } }), []);
  assert.deepEqual(codes({ psu: { fru: [], sensors: sdr("Correctable ECC logging limit reached") } }), [
    "WARN memory.ipmi_ecc memory:DIMM_A1",
  ]);
  assert.deepEqual(codes({ psu: { fru: [], sensors: sdr("Correctable ECC") } }), [
    "WARN memory.ipmi_ecc memory:DIMM_A1",
  ]);
  assert.deepEqual(codes({ psu: { fru: [], sensors: sdr("Uncorrectable ECC") } }), [
    "FAIL memory.ipmi_ecc_uncorrectable memory:DIMM_A1",
  ]);
  // the real qemu-devbox SDR (a watchdog only) says nothing about memory
  const real = parseIpmiSdr(fixture("ipmitool/qemu-devbox-sdr-elist.txt"));
  assert.deepEqual(codes({ psu: { fru: [], sensors: real } }), []);
});

Deno.test("nvidia: ECC disabled is a WARN with the way to enable it; MIG mode is read and shown", () => {
  const real = parseNvidiaSmiQ(fixture("nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt"));
  assert.deepEqual(real.gpus.map((g) => [g.ecc_mode, g.mig_mode]), [
    ["Enabled", null],
    ["Enabled", null],
    ["Enabled", null],
  ]);
  assert.deepEqual(codes({ nvidia: real }), []);
  // labelled edit of the real capture: GPU 1 with ECC turned off, GPU 2 with MIG on
  const sections = fixture("nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt").split(/(?=^GPU 0000)/m);
  const ecc = (s: string) => s.replace(/(ECC Mode\n\s+Current\s+: )Enabled/, "$1Disabled");
  const mig = (s: string) => s.replace(/(MIG Mode\n\s+Current\s+: )N\/A/, "$1Enabled");
  const edited = parseNvidiaSmiQ([sections[0], sections[1], ecc(sections[2]!), mig(sections[3]!)].join(""));
  assert.equal(edited.gpus[2]!.mig_mode, "Enabled");
  const found = judge({ ...EMPTY, nvidia: edited }, []);
  assert.deepEqual(found.map((f) => `${f.severity} ${f.code} ${f.component}`), [
    "WARN nvidia.ecc_disabled nvidia:gpu1",
  ]);
  assert.match(found[0]!.action, /nvidia-smi -i N -e 1/);
});

Deno.test("nvidia: the retired-pages limit is DCGM's 60", () => {
  const q = parseNvidiaSmiQ(fixture("nvidia_smi/ampere__rtx-a6000-x9-first3__550.127.05.txt"));
  const at = (n: number) => {
    const g = structuredClone(q);
    g.gpus[0]!.retired_pages = { single_bit: n - 1, double_bit: 1, pending: false };
    return codes({ nvidia: g });
  };
  assert.deepEqual(at(59), []);
  assert.deepEqual(at(60), ["FAIL nvidia.retired_pages_limit nvidia:gpu0"]);
});
