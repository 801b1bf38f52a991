// Verdict rules of one area (the boot parameters): each row is code, severity, when, action, the source of its
// threshold, and its check over the typed audit. The engine (bee/audit/verdict.ts) applies the rows.
import { hit, type Rule } from "../../rules/input.ts";

export const BOOT_RULES: Rule[] = [
  {
    code: "boot.bad_parameter",
    severity: "WARN",
    when: "a bee.* kernel parameter is unknown or its value is out of range (it was left out; the rest ran)",
    action: "Fix the parameter in bee.ipxe or the boot menu line (README: Racks) and boot again.",
    source: "bee: the unattended parameters and the documented BEE_* bounds",
    check: (x) => (x.hw.boot?.problems ?? []).map((p) => hit("boot:cmdline", p)),
  },
];
