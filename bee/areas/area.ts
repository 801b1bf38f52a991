// What a hardware area declares in one place: its collector, the schema of its section of the audit, its
// verdict rules and where those rules stand in the findings' order. Lists that used to be kept by hand
// (the collectors the audit runs, the section schemas it validates, the empty hardware the SAT judges
// against, the rule rows) are derived from the areas (bee/areas/index.ts).
import type { z } from "zod";
import type { Collector } from "../collect/collector.ts";
import type { CollectorName } from "../model/schema.ts";
import type { Rule } from "../rules/input.ts";

export interface Area<T = unknown> {
  /** the collector's name and the audit's `hardware.<name>` section */
  name: CollectorName;
  collector: Collector<T>;
  /** the section's schema (bee/model/schema.ts) */
  schema: z.ZodType;
  /** the area's rule rows (bee/areas/<name>/rules.ts) */
  rules: Rule[];
  /** where the area's rows stand among all rows (findings, the README table and the tests read this order) */
  rulesRank: number;
}
