// What a hardware area declares in one place: its collector, the schema of its section of the audit, its
// verdict rules and where those rules stand in the findings' order, how it shows itself (web section, TUI
// details, /metrics gauges) and which order categories its parts fill. Lists that used to be kept by hand
// (the collectors the audit runs, the section schemas it validates, the empty hardware the SAT judges
// against, the rule rows) are derived from the areas (bee/areas/index.ts).
import type { z } from "zod";
import type { Collector } from "../collect/collector.ts";
import type { Audit, CollectorName } from "../model/schema.ts";
import type { OrderCategory } from "../model/expect.ts";
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
  /** its section of the audit page (bee/areas/<name>/view.ts) and where it stands on the page */
  web?: (a: Audit, qrSvg: string) => string;
  webRank?: number;
  /** its lines on the TUI's details screen, and their place */
  tuiDetails?: (a: Audit) => string[];
  tuiRank?: number;
  /** its gauges on /metrics (bounded labels) */
  metrics?: (a: Audit) => AreaMetric[];
  /** the order categories (bee/model/expect.ts) its parts fill */
  order?: OrderCategory[];
}

/** One gauge family of /metrics: rows of labels and a value (null rows are skipped). */
export interface AreaMetric {
  name: string;
  help: string;
  rows: [Record<string, unknown>, number | null][];
}
