// The expected bill of materials (what the order says): one zod schema, from which the TypeScript types
// and the published JSON Schema (bee/model/expect.schema.json, `deno task schema`) are derived.
import { z } from "zod";

export const EXPECT_VERSION = 1;

/** How a difference on a line counts: a finding of that severity, or none. */
export const OnDiff = z.enum(["FAIL", "WARN", "ignore"]);
export type OnDiff = z.infer<typeof OnDiff>;

const text = z.string().min(1).max(256);
const count = z.number().int().min(0).max(100_000);
const positive = z.number().positive().max(1e9);

/** Severity overrides every part line accepts (defaults: missing/extra FAIL, firmware/link WARN). */
const overrides = {
  on_missing: OnDiff.optional().describe("fewer parts than `count` (default FAIL)"),
  on_extra: OnDiff.optional().describe("more parts than `count` (default FAIL)"),
  on_firmware: OnDiff.optional().describe("a part's firmware differs from the line's (default WARN)"),
};

export const CpuLine = z.object({
  count,
  model: text.optional().describe("substring of the processor version string, case-insensitive"),
  cores: z.number().int().positive().max(4096).optional().describe("cores per socket"),
  ...overrides,
}).strict();

export const MemoryLine = z.object({
  count,
  size_gb: positive.optional().describe("module size as labelled (GiB: a 64 GB DIMM is 64)"),
  speed_mts: z.number().int().positive().max(100_000).optional().describe("rated speed, MT/s"),
  type: text.optional().describe("DDR4, DDR5 … (exact, case-insensitive)"),
  part_number: text.optional().describe("substring of the module part number"),
  manufacturer: text.optional().describe("substring of the module manufacturer"),
  ...overrides,
}).strict();

export const DiskLine = z.object({
  count,
  model: text.optional().describe("substring of the disk model, case-insensitive"),
  size_gb: positive.optional().describe("capacity as labelled (decimal GB), matched within 2 %"),
  transport: text.optional().describe("nvme, sata, sas … (exact)"),
  firmware: text.optional().describe("expected firmware revision (a difference is on_firmware)"),
  ...overrides,
}).strict();

export const GpuLine = z.object({
  count,
  model: text.optional().describe("substring of the GPU name (nvidia-smi; the PCI name without the driver)"),
  memory_gib: positive.optional().describe(
    "GPU memory as labelled, GiB, matched within 10 % (ECC and reserved memory take up to ~7 %)",
  ),
  vbios: text.optional().describe("expected VBIOS version (a difference is on_firmware)"),
  inforom: text.optional().describe("expected InfoROM image version (a difference is on_firmware)"),
  ...overrides,
}).strict();

export const NicLine = z.object({
  count: count.describe("adapters (PCI slots), not ports"),
  model: text.optional().describe("substring of the PCI vendor and device name, case-insensitive"),
  ports: z.number().int().positive().max(64).optional().describe("network functions per adapter"),
  speed_gbps: positive.optional().describe("link speed each port must reach (below it: on_link)"),
  firmware: text.optional().describe("expected firmware version (ethtool -i; a difference is on_firmware)"),
  on_link: OnDiff.optional().describe("a port below speed_gbps or without link (default WARN)"),
  ...overrides,
}).strict();

export const PsuLine = z.object({
  count,
  model: text.optional().describe("substring of the PSU's FRU product name, where the BMC names PSUs"),
  ...overrides,
}).strict();

export const Expect = z.object({
  bee_expect: z.literal(EXPECT_VERSION).describe("format version of this file"),
  name: text.optional().describe("what this order is (shown beside 'as ordered')"),
  system: z.object({
    manufacturer: text.optional(),
    product: text.optional(),
    on_mismatch: OnDiff.optional().describe("default FAIL"),
  }).strict().optional(),
  bios: z.object({ version: text, on_firmware: OnDiff.optional() }).strict().optional(),
  bmc: z.object({ firmware: text, on_firmware: OnDiff.optional() }).strict().optional(),
  cpus: z.array(CpuLine).max(64).optional(),
  memory: z.array(MemoryLine).max(64).optional(),
  disks: z.array(DiskLine).max(64).optional(),
  gpus: z.array(GpuLine).max(64).optional(),
  nics: z.array(NicLine).max(64).optional(),
  psus: z.array(PsuLine).max(16).optional(),
}).strict();
export type Expect = z.infer<typeof Expect>;

/** The JSON Schema (draft 2020-12) of the expectation file. */
export function expectJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(Expect, { target: "draft-2020-12" }) as Record<string, unknown>;
  return {
    $id: "https://bee.invalid/expect.schema.json",
    title: "bee expected bill of materials",
    ...schema,
  };
}

/** The part categories an order lists, in the order they are compared and reported. */
export const ORDER_CATEGORIES = ["cpus", "memory", "disks", "gpus", "nics", "psus"] as const;
export type OrderCategory = typeof ORDER_CATEGORIES[number];

/** Where the audit reads each category (named when that area read nothing). */
export const ORDER_CATEGORY_SOURCE: Record<OrderCategory, string> = {
  cpus: "the cpu collector",
  memory: "the memory collector (dmidecode)",
  disks: "the storage collector",
  gpus: "the nvidia and pcie collectors",
  nics: "the pcie collector",
  psus: "the psu collector (IPMI)",
};
