// Verdict rules of one area (processors): each row is code, severity, when, action, the source
// of its threshold, and its check over the typed audit. The engine (bee/audit/verdict.ts) applies the rows.
import { hit, type Rule } from "../../rules/input.ts";

export const CPU_RULES: Rule[] = [
  {
    code: "cpu.sockets_mismatch",
    severity: "WARN",
    when: "populated sockets (SMBIOS) differ from CPU packages the kernel sees",
    action: "Check that every CPU is seated and enabled in the BIOS.",
    source: "SMBIOS type 4 Status vs sysfs physical_package_id",
    check: (x) => {
      const c = x.hw.cpu;
      if (!c?.sockets || !c.os) return [];
      const populated = c.sockets.filter((s) => s.populated);
      return populated.length > 0 && populated.length !== c.os.packages
        ? [
          hit(
            "cpu",
            `SMBIOS lists ${populated.length} populated socket(s), the kernel sees ${c.os.packages}`,
          ),
        ]
        : [];
    },
  },
  {
    code: "cpu.cores_missing",
    severity: "WARN",
    when: "the kernel sees fewer cores than SMBIOS reports enabled",
    action: "Check BIOS core settings and kernel command line (maxcpus, nosmt).",
    source: "SMBIOS type 4 Core Enabled vs sysfs core_id",
    check: (x) => {
      const c = x.hw.cpu;
      if (!c?.sockets || !c.os) return [];
      const enabled = c.sockets.filter((s) => s.populated).reduce(
        (n, s) => n + (s.cores_enabled ?? s.cores ?? 0),
        0,
      );
      return enabled > 0 && c.os.cores < enabled
        ? [hit("cpu", `SMBIOS reports ${enabled} enabled cores, the kernel sees ${c.os.cores}`)]
        : [];
    },
  },
];
