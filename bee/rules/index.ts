// Every rule bee applies, one file per hardware area, in the order findings are listed (the README table and
// the tests read this order). A new rule is a row in its area's file and one test.
import { STORAGE_RULES } from "./storage.ts";
import { MEMORY_RULES } from "./memory.ts";
import { CPU_RULES } from "./cpu.ts";
import { PCIE_RULES } from "./pcie.ts";
import { NVIDIA_RULES } from "./nvidia.ts";
import { PSU_RULES } from "./psu.ts";
import { INFINIBAND_RULES } from "./infiniband.ts";
import { BMC_RULES } from "./bmc.ts";
import { COLLECTOR_RULES } from "./collector.ts";
import { BOM_RULES } from "./bom.ts";
import { NVIDIA_SAT_RULES } from "./nvidia.ts";
import type { Rule } from "./input.ts";

export { type Hit, hit, JudgeInput, type Rule, SEL_RECENT_DAYS, type Sev } from "./input.ts";
export { NVSWITCHES_PER_HGX, RETIRED_PAGES_LIMIT } from "./nvidia.ts";
export { IB_ERROR_LIMIT } from "./infiniband.ts";
export { AER_CORRECTABLE_LIMIT } from "./pcie.ts";

/** The audit's rows, area by area. */
export const RULE_ROWS: Rule[] = [
  ...STORAGE_RULES,
  ...MEMORY_RULES,
  ...CPU_RULES,
  ...PCIE_RULES,
  ...NVIDIA_RULES,
  ...PSU_RULES,
  ...INFINIBAND_RULES,
  ...BMC_RULES,
  ...COLLECTOR_RULES,
];

/** The order rows. */
export const BOM_RULE_ROWS: Rule[] = BOM_RULES;

/** Rows only `bee sat nvidia` raises. */
export const SAT_RULE_ROWS: Rule[] = NVIDIA_SAT_RULES;
