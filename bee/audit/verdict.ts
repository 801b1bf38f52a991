// The verdict engine: applies every rule row (bee/rules/, one file per area) to the typed audit, turns hits
// into findings and findings into the verdict. The rows and their checks live with their areas.
import type { CollectorStatus, Finding, Hardware, Summary } from "../model/schema.ts";
import type { Expect } from "../model/expect.ts";
import { BOM_RULE_ROWS, JudgeInput, type Rule, RULE_ROWS, SAT_RULE_ROWS } from "../rules/index.ts";

export {
  AER_CORRECTABLE_LIMIT,
  BOM_RULE_ROWS,
  type Hit,
  IB_ERROR_LIMIT,
  JudgeInput,
  NVSWITCHES_PER_HGX,
  RETIRED_PAGES_LIMIT,
  type Rule,
  RULE_ROWS,
  SAT_RULE_ROWS,
  SEL_RECENT_DAYS,
} from "../rules/index.ts";

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

/** Hardware with no section read: the base for judging one section alone (the SAT's after-state GPUs). */
export const NO_HARDWARE: Omit<Hardware, "summary"> = Object.freeze({
  board: null,
  cpu: null,
  memory: null,
  storage: null,
  pcie: null,
  psu: null,
  nvidia: null,
  network: null,
});

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
