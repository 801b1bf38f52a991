// Verdict rules of one area (collectors that could not read their area): each row is code, severity, when, action, the source
// of its threshold, and its check over the typed audit. The engine (bee/audit/verdict.ts) applies the rows.
import { hit, type Rule } from "./input.ts";

export const COLLECTOR_RULES: Rule[] = [
  {
    code: "collector.error",
    severity: "WARN",
    when: "a collector failed (tool error or unreadable output)",
    action: "Read the collector message in the audit; the area it covers was not checked.",
    source: "bee: an area that could not be read cannot pass",
    check: (x) =>
      x.collectors.filter((s) => s.status === "error").map((s) =>
        hit(`collector:${s.name}`, `${s.name}: ${s.message ?? "failed"}`)
      ),
  },
  {
    code: "collector.timeout",
    severity: "WARN",
    when: "a collector's command timed out",
    action: "Re-run the audit; a hanging tool often means a hanging device.",
    source: "bee: an area that could not be read cannot pass",
    check: (x) =>
      x.collectors.filter((s) => s.status === "timeout").map((s) =>
        hit(`collector:${s.name}`, `${s.name}: ${s.message ?? "timed out"}`)
      ),
  },
];
