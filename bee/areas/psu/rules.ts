// Verdict rules of one area (power supplies and their redundancy): each row is code, severity, when, action, the source
// of its threshold, and its check over the typed audit. The engine (bee/audit/verdict.ts) applies the rows.
import { hit, type Rule } from "../../rules/input.ts";

const PSU_CRITICAL = (st: string, reading: string) =>
  /^(cr|nr|lcr|ucr|lnr|unr)$/.test(st) ||
  /failure detected|ac lost|input lost|power supply lost/i.test(reading);

export const PSU_RULES: Rule[] = [
  {
    code: "psu.redundancy_lost",
    severity: "FAIL",
    when:
      "a PSU redundancy sensor says Redundancy Lost or Non-Redundant: Insufficient Resources, with more than one PSU",
    action:
      "Find the failed or unplugged PSU (BMC event log, PSU LEDs); a redundant server must survive losing one.",
    source: "IPMI 2.0 generic event type 0Bh (redundancy) offsets 01h, 05h",
    check: (x) => {
      const n = x.psuCount();
      return x.redundancySensors().flatMap(({ s, comp, reading }) =>
        /redundancy lost|insufficient resources/i.test(reading) && n > 1
          ? [hit(comp, `${s.name}: ${reading} (${n} PSUs)`)]
          : []
      );
    },
  },
  {
    code: "psu.redundancy_degraded",
    severity: "WARN",
    when: "a PSU redundancy sensor says Non-Redundant: Sufficient from Redundant or Redundancy Degraded",
    action: "Check each PSU's input feed and status; the server runs, but one more PSU failure stops it.",
    source: "IPMI 2.0 generic event type 0Bh (redundancy) offsets 02h, 04h",
    check: (x) =>
      x.redundancySensors().flatMap(({ s, comp, reading }) =>
        !/redundancy lost|insufficient resources/i.test(reading) &&
          /sufficient from redundant|redundancy degraded/i.test(reading)
          ? [hit(comp, `${s.name}: ${reading}`)]
          : []
      ),
  },
  {
    code: "psu.sensor_critical",
    severity: "FAIL",
    when: "a PSU or power sensor reports critical / non-recoverable, or a failure / AC loss event",
    action: "Check the PSU's input power and cabling; replace the PSU.",
    source: "IPMI threshold states cr/nr and power-supply sensor offsets (type 08h)",
    check: (x) =>
      x.powerSensors().flatMap(({ s, comp, st, reading }) =>
        PSU_CRITICAL(st, reading)
          ? [hit(comp, `${s.name}: status ${st || "?"}${reading ? `, ${reading}` : ""}`)]
          : []
      ),
  },
  {
    code: "psu.sensor_warning",
    severity: "WARN",
    when: "a PSU or power sensor reports non-critical, or a predictive failure",
    action: "Check the PSU in the BMC event log; plan a replacement.",
    source: "IPMI threshold state nc and power-supply predictive failure (type 08h)",
    check: (x) =>
      x.powerSensors().flatMap(({ s, comp, st, reading }) =>
        !PSU_CRITICAL(st, reading) &&
          (/^(nc|lnc|unc)$/.test(st) || /predictive failure|out-of-range|out of range/i.test(reading))
          ? [hit(comp, `${s.name}: status ${st || "?"}${reading ? `, ${reading}` : ""}`)]
          : []
      ),
  },
];
