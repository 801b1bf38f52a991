// The verdict engine: applies every rule row (each area's bee/areas/<area>/rules.ts, then the cross-area rows
// of bee/rules/) to the typed audit, turns hits into findings and findings into the verdict.
import type { CollectorStatus, Finding, Hardware, Summary } from "../model/schema.ts";
import type { Expect } from "../model/expect.ts";
import { JudgeInput, type Rule } from "../rules/input.ts";
import { COLLECTOR_RULES } from "../rules/collector.ts";
import { BOM_RULES } from "../rules/bom.ts";
import { NVIDIA_SAT_RULES } from "../areas/nvidia/rules.ts";
import { AREA_RULES, NO_HARDWARE } from "../areas/index.ts";

export { type Hit, JudgeInput, type Rule, SEL_RECENT_DAYS } from "../rules/input.ts";
export { NVSWITCHES_PER_HGX, RETIRED_PAGES_LIMIT } from "../areas/nvidia/rules.ts";
export { IB_ERROR_LIMIT } from "../areas/infiniband/rules.ts";
export { AER_CORRECTABLE_LIMIT } from "../areas/pcie/rules.ts";
export { NO_HARDWARE };

/** The audit's rows: every area's (in rule order), then the collectors' own. */
export const RULE_ROWS: Rule[] = [...AREA_RULES, ...COLLECTOR_RULES];

/** The order rows (`bee audit --expect FILE`). */
export const BOM_RULE_ROWS: Rule[] = BOM_RULES;

/** Rows only `bee sat nvidia` raises. */
export const SAT_RULE_ROWS: Rule[] = NVIDIA_SAT_RULES;

/** The rows by code (code → severity, when, action, source). */
export const RULES: Record<string, Omit<Rule, "code" | "check">> = Object.fromEntries(
  [...RULE_ROWS, ...BOM_RULE_ROWS, ...SAT_RULE_ROWS].map(({ code, check: _check, ...rest }) => [code, rest]),
);

/** A finding of rule `code` (any row, SAT-only ones included). */
export function finding(code: string, component: string, message: string): Finding {
  const r = RULES[code];
  if (!r) throw new Error(`unknown rule ${code}`);
  return {
    severity: r.severity,
    component: component.slice(0, 256),
    code,
    message: message.slice(0, 1024),
    action: r.action,
  };
}

/** Applies every rule to the hardware data and the collector statuses. */
export function judge(
  hw: Omit<Hardware, "summary">,
  collectors: CollectorStatus[],
  expect: Expect | null = null,
  now: number = Date.now(),
): Finding[] {
  const x = new JudgeInput(hw, collectors, expect, now);
  return [...RULE_ROWS, ...BOM_RULE_ROWS].flatMap((rule) =>
    rule.check(x).map((h) => ({
      severity: h.severity ?? rule.severity,
      component: h.component.slice(0, 256),
      code: rule.code,
      message: h.message.slice(0, 1024),
      action: rule.action,
    }))
  );
}

/** The README's rule table, generated from the rows (`deno task rules` writes it between its markers). */
export function rulesMarkdown(): string {
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  return [
    "| code | severity | when | action | threshold source |",
    "| --- | --- | --- | --- | --- |",
    ...[...RULE_ROWS, ...BOM_RULE_ROWS, ...SAT_RULE_ROWS].map((r) =>
      `| \`${r.code}\` | ${r.severity} | ${cell(r.when)} | ${cell(r.action)} | ${cell(r.source)} |`
    ),
  ].join("\n");
}

/** Verdict and counts from findings: any FAIL → FAIL, else any WARN → WARN, else PASS. */
export function summarize(findings: Finding[]): Summary {
  const failures = findings.filter((x) => x.severity === "FAIL").length;
  const warnings = findings.filter((x) => x.severity === "WARN").length;
  // failures first, each group in rule order, so the most urgent line is read first
  const ordered = [
    ...findings.filter((x) => x.severity === "FAIL"),
    ...findings.filter((x) => x.severity === "WARN"),
  ];
  return { verdict: failures ? "FAIL" : warnings ? "WARN" : "PASS", warnings, failures, findings: ordered };
}
