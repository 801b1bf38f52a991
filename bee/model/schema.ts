// The audit JSON contract: one zod schema, from which the TypeScript types and the committed
// JSON Schema (bee/model/audit.schema.json, `deno task schema`) are both derived.
import { z } from "zod";

/** Bumped when a field changes meaning or is removed; additions keep the version. */
export const SCHEMA_VERSION = 1;

const Str = z.string().max(512).nullable();
const Int = z.number().int().nullable();
const Num = z.number().nullable();

export const CollectorName = z.enum([
  "board",
  "cpu",
  "memory",
  "storage",
  "pcie",
  "psu",
  "nvidia",
  "network",
  "bmc",
  "infiniband",
  "boot",
]);
export type CollectorName = z.infer<typeof CollectorName>;

export const CommandRecord = z.object({
  command: z.string().max(1024),
  outcome: z.enum(["ok", "failed", "missing", "timeout", "denied"]),
  exit_code: Int,
  duration_ms: z.number().int(),
});
export type CommandRecord = z.infer<typeof CommandRecord>;

export const CollectorStatus = z.object({
  name: CollectorName,
  status: z.enum(["ok", "missing_tool", "error", "timeout", "skipped"]),
  duration_ms: z.number().int(),
  message: Str,
  commands: z.array(CommandRecord),
});
export type CollectorStatus = z.infer<typeof CollectorStatus>;

export const Board = z.object({
  bios: z.object({ vendor: Str, version: Str, release_date: Str }),
  system: z.object({
    manufacturer: Str,
    product: Str,
    version: Str,
    serial: Str,
    uuid: Str,
    sku: Str,
    family: Str,
  }),
  baseboard: z.object({ manufacturer: Str, product: Str, version: Str, serial: Str }),
});
export type Board = z.infer<typeof Board>;

export const CpuSocket = z.object({
  socket: Str,
  manufacturer: Str,
  model: Str,
  cores: Int,
  cores_enabled: Int,
  threads: Int,
  max_speed_mhz: Int,
  current_speed_mhz: Int,
  status: Str,
  populated: z.boolean(),
});
export const Cpu = z.object({
  sockets: z.array(CpuSocket).nullable(),
  os: z.object({
    model: Str,
    logical_cpus: z.number().int(),
    packages: z.number().int(),
    cores: z.number().int(),
  }).nullable(),
});
export type Cpu = z.infer<typeof Cpu>;

export const MemorySlot = z.object({
  /** dram, or pmem (persistent memory, never counted as DRAM); absent for an empty slot */
  kind: z.enum(["dram", "pmem"]).optional(),
  /** for pmem: the capacity the OS gets as volatile memory (Memory Mode) */
  volatile_bytes: Int.optional(),
  locator: Str,
  bank_locator: Str,
  installed: z.boolean(),
  size_bytes: Int,
  type: Str,
  form_factor: Str,
  speed_mts: Int,
  configured_speed_mts: Int,
  manufacturer: Str,
  part_number: Str,
  serial: Str,
});
export const EdacDimm = z.object({
  /** sysfs name (dimm0…) */
  dimm: z.string().max(32),
  /** the firmware's label (e.g. "CPU_SrcID#0_MC#0_Chan#1_DIMM#0" or a slot name), bounded */
  label: Str,
  ce_count: Int,
  ue_count: Int,
  /** the audit's DIMM slot this label names, when one matches */
  slot: Str,
});
export const EdacController = z.object({
  controller: z.string(),
  ce_count: Int,
  ue_count: Int,
  /** per-DIMM counts (the kernel's mcN/dimmN directories), absent on older kernels */
  dimms: z.array(EdacDimm).optional(),
});
export const Memory = z.object({
  slots: z.array(MemorySlot).nullable(),
  /** DRAM only */
  installed_bytes: Int,
  /** persistent memory modules (Optane PMem), listed on their own */
  pmem_bytes: Int.optional(),
  os_total_bytes: Int,
  edac: z.array(EdacController).nullable(),
});
export type Memory = z.infer<typeof Memory>;

export const NvmeHealth = z.object({
  critical_warning: Int,
  temperature_c: Int,
  available_spare: Int,
  available_spare_threshold: Int,
  percentage_used: Int,
  media_errors: Int,
  num_err_log_entries: Int,
  power_on_hours: Int,
  unsafe_shutdowns: Int,
});
export type NvmeHealth = z.infer<typeof NvmeHealth>;

export const Smart = z.object({
  available: z.boolean(),
  message: Str,
  exit_status: Int,
  exit_bits: z.array(z.number().int()),
  protocol: Str,
  model: Str,
  serial: Str,
  firmware: Str,
  passed: z.boolean().nullable(),
  temperature_c: Int,
  power_on_hours: Int,
  reallocated_sectors: Int,
  pending_sectors: Int,
  offline_uncorrectable: Int,
  grown_defects: Int,
  uncorrected_read_errors: Int,
  uncorrected_write_errors: Int,
  nvme_health: NvmeHealth.nullable(),
});
export type Smart = z.infer<typeof Smart>;

export const NvmeController = z.object({
  controller: z.string(),
  model: Str,
  serial: Str,
  firmware: Str,
  pci_vendor_id: Int,
  warning_temp_c: Int,
  critical_temp_c: Int,
  health: NvmeHealth.nullable(),
});
export type NvmeController = z.infer<typeof NvmeController>;

export const Disk = z.object({
  name: z.string().max(256),
  path: z.string().max(512),
  type: Str,
  size_bytes: Int,
  model: Str,
  serial: Str,
  vendor: Str,
  firmware: Str,
  transport: Str,
  rotational: z.boolean().nullable(),
  removable: z.boolean().nullable(),
  wwn: Str,
  smart: Smart.nullable(),
  nvme: NvmeController.nullable(),
});
export type Disk = z.infer<typeof Disk>;
/** A Linux software RAID array (/proc/mdstat). */
export const MdArray = z.object({
  name: z.string().max(64),
  state: z.string().max(64),
  level: Str,
  members: z.array(z.object({
    device: z.string().max(64),
    role: Int,
    failed: z.boolean(),
    spare: z.boolean(),
  })).max(64),
  raid_disks: Int,
  working_disks: Int,
  map: Str,
  sync: z.object({ action: z.string().max(16), percent: Num }).nullable(),
  /** `mdadm --detail` of the array, where mdadm is in the image and answered */
  detail: z.object({
    state: Str,
    level: Str,
    raid_devices: Int,
    total_devices: Int,
    active_devices: Int,
    working_devices: Int,
    failed_devices: Int,
    spare_devices: Int,
    uuid: Str,
    name: Str,
    rebuild_percent: Num,
    members: z.array(
      z.object({ role: Int, state: z.string().max(48), device: z.string().max(64).nullable() }),
    )
      .max(64),
  }).optional(),
});

/** A hardware RAID controller as its vendor tool reports it, with its virtual and physical drives. */
export const RaidController = z.object({
  tool: z.string().max(16),
  id: Str,
  model: Str,
  serial: Str,
  firmware: Str,
  /** battery / CacheVault state (Optimal, Failed, …); null when it has none or it was not reported */
  battery: Str,
  virtual_drives: z.array(z.object({
    id: Str,
    level: Str,
    state: Str,
    size_bytes: Int,
    name: Str,
    /** the block device the OS sees for it (/dev/sdX), where the tool names it */
    device: z.string().max(40).optional(),
  })).max(64),
  physical_drives: z.array(z.object({
    slot: Str,
    device_id: Str,
    state: Str,
    model: Str,
    serial: Str,
    size_bytes: Int,
    interface: Str,
    /** SMART read through the controller (`smartctl -d megaraid,N | cciss,N | aacraid,H,C,ID`); absent where not read */
    smart: Smart.nullable().optional(),
  })).max(256),
});
export type RaidController = z.infer<typeof RaidController>;

export const Storage = z.object({
  disks: z.array(Disk),
  /** smartctl is not installed: no disk's SMART was read */
  smartctl_missing: z.boolean().optional(),
  /** software RAID arrays (/proc/mdstat); absent when the kernel has none */
  md_arrays: z.array(MdArray).max(64).optional(),
  /**
   * md arrays the disks' superblocks describe (`mdadm --examine --scan --verbose`), assembled or not: the live
   * image assembles nothing, so this is how it sees software RAID on the disks; absent without mdadm or arrays
   */
  md_superblocks: z.array(z.object({
    device: z.string().max(64),
    level: Str,
    num_devices: Int,
    metadata: Str,
    uuid: Str,
    name: Str,
    devices: z.array(z.string().max(64)).max(64),
  })).max(64).optional(),
  /** hardware RAID controllers read through their vendor tools (storcli, ssacli, arcconf, sas3ircu/sas2ircu) */
  raid: z.array(RaidController).max(16).optional(),
  /** RAID controllers and SAS HBAs on the PCI bus, with the vendor tools that read an inventory here */
  raid_controllers: z.array(z.object({
    address: z.string().max(32),
    vendor_id: z.string().max(8),
    class_id: z.string().max(10),
    tools: z.array(z.string().max(32)).max(8),
    /** tools that are in the image but read no controller here (timeout, failure, unreadable output) */
    tools_failed: z.array(z.string().max(64)).max(8).optional(),
  })).max(32).optional(),
});
export type Storage = z.infer<typeof Storage>;

export const PciDevice = z.object({
  address: z.string().max(32),
  class: Str,
  class_id: Str,
  vendor: Str,
  vendor_id: Str,
  device: Str,
  device_id: Str,
  subsystem_vendor: Str,
  subsystem_device: Str,
  revision: Str,
  driver: Str,
  numa_node: Int,
  current_link_speed: Str,
  max_link_speed: Str,
  current_link_width: Int,
  max_link_width: Int,
  /** PCIe AER error counts since boot (sysfs aer_dev_*), null where the device has no AER */
  aer: z.object({ correctable: Int, nonfatal: Int, fatal: Int }).nullable().optional(),
});
export type PciDevice = z.infer<typeof PciDevice>;
export const Pcie = z.object({ devices: z.array(PciDevice) });
export type Pcie = z.infer<typeof Pcie>;

export const FruDevice = z.object({
  id: Int,
  description: Str,
  fields: z.record(z.string().max(128), z.string().max(512)),
});
export const SdrSensor = z.object({
  name: Str,
  sensor_id: Str,
  status: Str,
  entity: Str,
  reading: Str,
  is_power: z.boolean(),
});
export type SdrSensor = z.infer<typeof SdrSensor>;
export const Psu = z.object({
  fru: z.array(FruDevice).nullable(),
  sensors: z.array(SdrSensor).nullable(),
  /** FRU devices ipmitool named but could not read (`Device not present (…)`); absent when all read */
  fru_unreadable: z.array(z.string().max(256)).max(64).optional(),
});
export type Psu = z.infer<typeof Psu>;

export const NvlinkLink = z.object({
  link: z.number().int(),
  /** GB/s per direction (`nvidia-smi nvlink -s`); null: inactive */
  gbps: Num,
  replay_errors: Int,
  recovery_errors: Int,
  crc_errors: Int,
});
export type NvlinkLink = z.infer<typeof NvlinkLink>;
export const EccCounts = z.object({ correctable: Int, uncorrectable: Int });
export const Gpu = z.object({
  index: z.number().int(),
  name: Str,
  uuid: Str,
  serial: Str,
  vbios: Str,
  architecture: Str,
  pci_bus_id: Str,
  memory_total_mib: Int,
  pcie_gen_current: Int,
  pcie_gen_max: Int,
  pcie_width_current: Int,
  pcie_width_max: Int,
  ecc_mode: Str,
  /** MIG mode (Enabled/Disabled; null where the GPU has none): with MIG on, remapped rows read N/A */
  mig_mode: Str.optional(),
  /** InfoROM image version (firmware, independent of the driver) */
  inforom_image: Str.optional(),
  ecc_volatile: EccCounts,
  ecc_aggregate: EccCounts,
  retired_pages: z.object({ single_bit: Int, double_bit: Int, pending: z.boolean().nullable() }),
  remapped_rows: z.object({
    correctable: Int,
    uncorrectable: Int,
    pending: z.boolean().nullable(),
    failure: z.boolean().nullable(),
  }),
  temperature_c: Int,
  max_operating_temp_c: Int,
  power_draw_w: Num,
  power_limit_w: Num,
  clock_event_reasons_active: z.array(z.string().max(128)).nullable(),
  /** NVLinks (`nvidia-smi nvlink -s/-e`); [] for a GPU without NVLink, null when they could not be read */
  nvlinks: z.array(NvlinkLink).nullable().optional(),
  /** NVSwitch fabric registration (`nvidia-smi -q` Fabric: State / Status), null where N/A */
  fabric_state: Str.optional(),
  fabric_status: Str.optional(),
});
export type Gpu = z.infer<typeof Gpu>;
/**
 * NVIDIA Fabric Manager (NVSwitch systems): whether its daemon runs, its version when it is installed, and what
 * the ISO's bee-nvidia recorded at boot (`ready|running|timeout|failed|absent: details`; absent off the ISO).
 */
export const FabricManager = z.object({
  running: z.boolean().nullable(),
  version: Str,
  boot_state: Str.optional(),
});
export const Nvidia = z.object({
  driver_version: Str,
  cuda_version: Str,
  gpus: z.array(Gpu),
  fabric_manager: FabricManager.optional(),
  /** `nvidia-smi topo -m`: how each GPU pair connects (NV#, PIX, PXB, PHB, NODE, SYS) and the matrix as printed */
  topology: z.object({
    pairs: z.array(z.object({ a: z.number().int(), b: z.number().int(), connection: z.string().max(16) })),
    raw: z.string().max(16384),
  }).nullable().optional(),
});
export type Nvidia = z.infer<typeof Nvidia>;

export const NetInterface = z.object({
  name: z.string().max(64),
  mac: Str,
  operstate: Str,
  carrier: z.boolean().nullable(),
  speed_mbps: Int,
  mtu: Int,
  physical: z.boolean(),
  driver: Str,
  ipv4: z.array(z.string().max(64)).nullable(),
  ipv6: z.array(z.string().max(64)).nullable(),
  /** PCI function behind the interface (sysfs device link), absent for virtual interfaces */
  pci_address: Str.optional(),
  /** firmware version (`ethtool -i`), where the driver reports one */
  firmware: Str.optional(),
});
export type NetInterface = z.infer<typeof NetInterface>;
export const Network = z.object({ interfaces: z.array(NetInterface) });
export type Network = z.infer<typeof Network>;

export const IbPort = z.object({
  port: z.string().max(8),
  /** logical state: ACTIVE, INIT (link up, no subnet manager), ARMED, DOWN */
  state: Str,
  /** physical state: LinkUp, Polling, Disabled … */
  phys_state: Str,
  rate: Str,
  rate_gbps: Num,
  /** InfiniBand or Ethernet (RoCE) */
  link_layer: Str,
  /** error counters since the driver loaded */
  counters: z.object({
    symbol_error: Int,
    link_error_recovery: Int,
    link_downed: Int,
    port_rcv_errors: Int,
    local_link_integrity_errors: Int,
    excessive_buffer_overrun_errors: Int,
    port_xmit_discards: Int,
  }),
});
export type IbPort = z.infer<typeof IbPort>;
export const IbDevice = z.object({
  name: z.string().max(64),
  pci_address: Str,
  hca_type: Str,
  /** the PSID on NVIDIA/Mellanox adapters (which firmware image line the card takes) */
  board_id: Str,
  fw_ver: Str,
  node_guid: Str,
  /** `mstflint q` (where installed): the firmware burned on flash, and the one running when it differs */
  fw_flash: Str.optional(),
  fw_running: Str.optional(),
  ports: z.array(IbPort),
});
export type IbDevice = z.infer<typeof IbDevice>;
export const Infiniband = z.object({ devices: z.array(IbDevice) });
export type Infiniband = z.infer<typeof Infiniband>;

/** How the machine was booted (kernel command line) and the unattended acceptance it asks for. */
export const Boot = z.object({
  cmdline: z.string().max(4096).nullable(),
  /** the squashfs URL of a network boot (live-boot fetch=), null when booted from a medium */
  fetch: Str,
  /** bee.sat=… bee.sat.duration=… bee.sat.<setting>=… bee.after=…; null when no SAT runs unattended */
  unattended: z.object({
    sats: z.array(z.enum(["nvidia", "memory", "storage"])),
    duration_s: Int,
    settings: z.record(z.string().max(64), z.string().max(200)),
    after: z.enum(["stay", "poweroff", "reboot"]),
  }).nullable(),
  /** one line per bad bee.* parameter (left out; the rest still runs) */
  problems: z.array(z.string().max(512)),
});
export type Boot = z.infer<typeof Boot>;

/** One BMC System Event Log entry (`ipmitool sel elist`). */
export const SelEvent = z.object({
  id: Str,
  timestamp: Str,
  sensor_type: Str,
  sensor: Str,
  event: Str,
  direction: Str,
  /** bee's classification of an asserted event: fatal (bmc.sel_fatal) or critical (bmc.sel_critical) */
  class: z.enum(["fatal", "critical"]).nullable(),
});
export type SelEvent = z.infer<typeof SelEvent>;
export const Bmc = z.object({
  /** `ipmitool mc info` */
  info: z.object({ manufacturer: Str, product: Str, firmware: Str, ipmi_version: Str }).nullable(),
  /** `ipmitool sel elist`: the entry count and the latest entries (at most SEL_KEEP) */
  sel: z.object({ entries: z.number().int(), events: z.array(SelEvent) }).nullable(),
});
export type Bmc = z.infer<typeof Bmc>;

export const Severity = z.enum(["WARN", "FAIL"]);
export const Finding = z.object({
  severity: Severity,
  component: z.string().max(256),
  code: z.string().max(64),
  message: z.string().max(1024),
  action: z.string().max(1024),
});
export type Finding = z.infer<typeof Finding>;
export const Summary = z.object({
  verdict: z.enum(["PASS", "WARN", "FAIL"]),
  warnings: z.number().int(),
  failures: z.number().int(),
  findings: z.array(Finding),
});
export type Summary = z.infer<typeof Summary>;

export const Hardware = z.object({
  board: Board.nullable(),
  cpu: Cpu.nullable(),
  memory: Memory.nullable(),
  storage: Storage.nullable(),
  pcie: Pcie.nullable(),
  psu: Psu.nullable(),
  nvidia: Nvidia.nullable(),
  network: Network.nullable(),
  /** BMC identity and event log (absent in audits made before bee collected it) */
  bmc: Bmc.nullable().optional(),
  /** InfiniBand / RDMA adapters (/sys/class/infiniband; absent in audits made before bee collected it) */
  infiniband: Infiniband.nullable().optional(),
  /** boot parameters and the unattended plan (absent in audits made before bee read them) */
  boot: Boot.nullable().optional(),
  summary: Summary,
});
export type Hardware = z.infer<typeof Hardware>;

export const Audit = z.object({
  schema_version: z.literal(SCHEMA_VERSION),
  bee: z.object({ version: z.string().max(64), git_commit: Str }),
  host: z.object({
    hostname: Str,
    kernel: Str,
    collected_at: z.string().max(64),
    duration_ms: z.number().int(),
  }),
  hardware: Hardware,
  collectors: z.array(CollectorStatus),
  /** the machine against an expected bill of materials (`bee audit --expect`); absent without one */
  expect: z.object({
    name: Str,
    source: Str,
    /** every line of the order was verified and matched: no bom.* finding */
    as_ordered: z.boolean(),
    differences: z.number().int(),
    lines: z.number().int(),
  }).nullable().optional(),
});
export type Audit = z.infer<typeof Audit>;

/** The JSON Schema (draft 2020-12) of the audit document, generated from the zod schema. */
export function auditJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(Audit, { target: "draft-2020-12" }) as Record<string, unknown>;
  return {
    $id: "https://bee.invalid/audit.schema.json",
    title: "bee hardware audit",
    ...schema,
  };
}
