// Order rules: differences from the expected bill of materials (`bee audit --expect FILE`), one row per
// bom.* code; the comparison itself is bee/expect/compare.ts.
import type { Rule } from "./input.ts";

/** The order rows: differences from the expected bill of materials (`bee audit --expect FILE`). */
export const BOM_RULES: Rule[] = [
  {
    code: "bom.missing",
    severity: "FAIL",
    when: "(order) fewer parts fit an order line than its count (a line's on_missing may set WARN or ignore)",
    action:
      "Find the missing part (not seated, not detected, not delivered) before handover; escalate to the supplier.",
    source: "the expected bill of materials given with --expect",
    check: (x) => x.bom("bom.missing"),
  },
  {
    code: "bom.extra",
    severity: "FAIL",
    when: "(order) more parts fit a line than its count, or parts fit no line of a category the order lists",
    action: "Check the part against the order: a wrong part delivered, or the order file is incomplete.",
    source: "the expected bill of materials given with --expect",
    check: (x) => x.bom("bom.extra"),
  },
  {
    code: "bom.system",
    severity: "FAIL",
    when: "(order) the system manufacturer or product is not the ordered one",
    action: "Confirm this is the machine of the order (serial, asset tag); the wrong chassis was delivered.",
    source: "the expected bill of materials given with --expect",
    check: (x) => x.bom("bom.system"),
  },
  {
    code: "bom.firmware",
    severity: "WARN",
    when: "(order) BIOS, BMC, disk, GPU (VBIOS, InfoROM) or NIC firmware differs from the order's version",
    action: "Update (or roll back) to the ordered firmware, then audit again.",
    source: "the expected bill of materials given with --expect",
    check: (x) => x.bom("bom.firmware"),
  },
  {
    code: "bom.link",
    severity: "WARN",
    when: "(order) a NIC port of a line with speed_gbps has no link or links below that speed",
    action: "Check the cable/optic and the switch port; reseat; a port that stays slow is a part to replace.",
    source: "the expected bill of materials given with --expect",
    check: (x) => x.bom("bom.link"),
  },
  {
    code: "bom.unchecked",
    severity: "WARN",
    when: "(order) something the order names could not be read (collector failed, firmware not reported)",
    action: "Fix what kept bee from reading it (see the collector's status) and audit again.",
    source: "bee: an order line bee could not verify is not reported as met",
    check: (x) => x.bom("bom.unchecked"),
  },
];
