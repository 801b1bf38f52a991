// Verdict rules of one area (the BMC: SEL events and SDR temperatures/fans): each row is code, severity, when, action, the source
// of its threshold, and its check over the typed audit. The engine (bee/audit/verdict.ts) applies the rows.
import { hit, type Rule, SEL_RECENT_DAYS } from "../../rules/input.ts";

export const BMC_RULES: Rule[] = [
  {
    code: "bmc.sel_fatal",
    severity: "FAIL",
    when:
      `an asserted SEL event of the last ${SEL_RECENT_DAYS} days (or undated): uncorrectable ECC, CPU IERR/thermal trip/MCE, PCI SERR/PERR/bus fatal, PSU failure or AC lost, non-recoverable threshold, any sensor's generic state "Transition to Non-recoverable"`,
    action:
      "Read the event in the BMC log, fix or replace the part it names, clear the SEL (ipmitool sel clear) and burn in again.",
    source:
      "IPMI 2.0 sensor-specific event offsets (table 42-3) and generic severity states (event type 07h); window: bee, the burn-in period",
    check: (x) => x.selEvents("fatal"),
  },
  {
    code: "bmc.sel_critical",
    severity: "WARN",
    when:
      `an asserted SEL event of the last ${SEL_RECENT_DAYS} days (or undated): critical threshold crossed (temperature, voltage, fan), correctable ECC, predictive failure, drive fault, SEL full, generic states "Transition to Critical", "Non-Critical from OK", "Monitor", an OS run-time critical stop (kernel panic)`,
    action:
      "Check what the event names (cooling, power, the DIMM); clear the SEL after fixing and watch it during SAT.",
    source:
      "IPMI 2.0 threshold, sensor-specific and generic severity event offsets; window: bee, the burn-in period",
    check: (x) => x.selEvents("critical"),
  },
  {
    code: "bmc.sensor_critical",
    severity: "FAIL",
    when:
      "a temperature or fan sensor of the SDR reports critical or non-recoverable (cr, nr, lcr, ucr, lnr, unr)",
    action:
      "Check the fan (spinning, seated) and the airflow (blanks, shrouds, inlet temperature) before any load.",
    source: "IPMI threshold states from ipmitool sdr elist; thresholds set by the BMC vendor",
    check: (x) =>
      x.thermalSensors().flatMap(({ s, comp, st, reading, kind }) =>
        /^(cr|nr|lcr|ucr|lnr|unr)$/.test(st)
          ? [hit(comp, `${kind} ${s.name}: status ${st}, ${reading || "no reading"}`)]
          : []
      ),
  },
  {
    code: "bmc.sensor_warning",
    severity: "WARN",
    when: "a temperature or fan sensor of the SDR reports non-critical (nc, lnc, unc)",
    action: "Check cooling and fan speed; watch the sensor during the SAT.",
    source: "IPMI threshold states from ipmitool sdr elist; thresholds set by the BMC vendor",
    check: (x) =>
      x.thermalSensors().flatMap(({ s, comp, st, reading, kind }) =>
        /^(nc|lnc|unc)$/.test(st)
          ? [hit(comp, `${kind} ${s.name}: status ${st}, ${reading || "no reading"}`)]
          : []
      ),
  },
];
