// Every hardware area, in the order the audit runs and reports them. What follows from the list — the
// collectors, the section schemas, the empty hardware, the rule rows — is derived here, never typed out again.
import type { z } from "zod";
import type { Area } from "./area.ts";
import type { CollectorName, Hardware } from "../model/schema.ts";
import type { Rule } from "../rules/input.ts";
import { BOARD_AREA } from "./board/index.ts";
import { CPU_AREA } from "./cpu/index.ts";
import { MEMORY_AREA } from "./memory/index.ts";
import { STORAGE_AREA } from "./storage/index.ts";
import { PCIE_AREA } from "./pcie/index.ts";
import { PSU_AREA } from "./psu/index.ts";
import { NVIDIA_AREA } from "./nvidia/index.ts";
import { NETWORK_AREA } from "./network/index.ts";
import { BMC_AREA } from "./bmc/index.ts";
import { INFINIBAND_AREA } from "./infiniband/index.ts";
import { BOOT_AREA } from "./boot/index.ts";

export type { Area } from "./area.ts";

/** The areas in audit order. */
export const AREAS: readonly Area[] = [
  BOARD_AREA,
  CPU_AREA,
  MEMORY_AREA,
  STORAGE_AREA,
  PCIE_AREA,
  PSU_AREA,
  NVIDIA_AREA,
  NETWORK_AREA,
  BMC_AREA,
  INFINIBAND_AREA,
  BOOT_AREA,
];

/** The collectors `bee audit` runs, in the order the audit reports them. */
export const COLLECTORS = AREAS.map((a) => a.collector);

/** The schema of each collector's section. */
export const SECTIONS = Object.fromEntries(AREAS.map((a) => [a.name, a.schema])) as Record<
  CollectorName,
  z.ZodType
>;

/** Hardware with no section read: the base for judging one section alone (the SAT's after-state GPUs). */
export const NO_HARDWARE: Omit<Hardware, "summary"> = Object.freeze(
  Object.fromEntries(AREAS.map((a) => [a.name, null])) as unknown as Omit<Hardware, "summary">,
);

/** Every area's rule rows, in rule order. */
export const AREA_RULES: Rule[] = [...AREAS].sort((a, b) => a.rulesRank - b.rulesRank).flatMap((a) =>
  a.rules
);
