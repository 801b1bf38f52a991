// Verdict rules of one area (DIMMs, EDAC and BMC memory sensors): each row is code, severity, when, action, the source
// of its threshold, and its check over the typed audit. The engine (bee/audit/verdict.ts) applies the rows.
import { type Hit, hit, type JudgeInput, type Rule } from "../../rules/input.ts";

/** EDAC errors per memory controller, naming the DIMMs (label → audit slot) that carry them. */
const edacHits = (x: JudgeInput, key: "ue_count" | "ce_count", what: string): Hit[] =>
  (x.hw.memory?.edac ?? []).flatMap((mc) => {
    if (!((mc[key] ?? 0) > 0)) return [];
    const dimms = (mc.dimms ?? []).filter((d) => (d[key] ?? 0) > 0).map((d) =>
      `${d.slot ?? d.label ?? d.dimm}: ${d[key]}`
    );
    return [
      hit(
        `memory:${mc.controller}`,
        `${mc[key]} ${what} memory errors${dimms.length ? ` (${dimms.join(", ")})` : ""}`,
      ),
    ];
  });

export const MEMORY_RULES: Rule[] = [
  {
    code: "memory.os_ram_low",
    severity: "WARN",
    when:
      "OS-visible RAM more than 10 % below the installed DRAM (or, in PMem Memory Mode, the PMem's volatile size)",
    action: "Check BIOS memory settings and reseat DIMMs; a DIMM may be disabled after errors.",
    source: "bee: 10 % allows for firmware and kernel reservations",
    check: (x) => {
      const m = x.hw.memory;
      // PMem never counts as DRAM; in Memory Mode the OS gets the PMem's volatile size (DRAM is its cache)
      const pmem = (m?.slots ?? []).reduce((s, d) => s + (d.kind === "pmem" ? d.volatile_bytes ?? 0 : 0), 0);
      const expected = Math.max(m?.installed_bytes ?? 0, pmem);
      if (!(expected > 0 && m?.os_total_bytes != null && m.os_total_bytes < 0.9 * expected)) return [];
      const gib = (b: number) => (b / 1024 ** 3).toFixed(1);
      const what = pmem > (m.installed_bytes ?? 0) ? "PMem (Memory Mode)" : "DRAM";
      return [
        hit("memory", `OS sees ${gib(m.os_total_bytes)} GiB of ${gib(expected)} GiB ${what} installed`),
      ];
    },
  },
  {
    code: "memory.edac_uncorrected",
    severity: "FAIL",
    when: "EDAC ue_count > 0",
    action: "Find the failing DIMM from the EDAC controller and BMC log; replace it.",
    source: "Linux EDAC (ue_count); any uncorrected error",
    check: (x) => edacHits(x, "ue_count", "uncorrected"),
  },
  {
    code: "memory.edac_corrected",
    severity: "WARN",
    when: "EDAC ce_count > 0",
    action: "Run bee sat memory; replace the DIMM if corrected errors keep rising.",
    source: "Linux EDAC (ce_count); any corrected error on a machine under acceptance",
    check: (x) => edacHits(x, "ce_count", "corrected"),
  },
  {
    code: "memory.ipmi_ecc_uncorrectable",
    severity: "FAIL",
    when:
      "a BMC memory sensor (entity 8/32, or a DIMM/MEM/ECC name) asserts Uncorrectable ECC, Parity or Memory Device Disabled",
    action: "Replace the DIMM the sensor names; check the BMC event log for the slot.",
    source: "IPMI 2.0 sensor type 0Ch (Memory) offsets 01h, 02h, 04h",
    check: (x) =>
      x.memorySensors().flatMap(({ s, comp, reading }) =>
        /uncorrectable (ecc|machine check)|\bparity\b|memory device disabled/i.test(reading)
          ? [hit(comp, `BMC sensor ${s.name}: ${reading}`)]
          : []
      ),
  },
  {
    code: "memory.ipmi_ecc",
    severity: "WARN",
    when:
      "a BMC memory sensor asserts Correctable ECC, Correctable ECC logging limit reached, Memory Scrub Failed or Spare",
    action:
      "Find the DIMM in the BMC event log; run bee sat memory and replace the DIMM if corrected errors keep rising.",
    source: "IPMI 2.0 sensor type 0Ch (Memory) offsets 00h, 03h, 05h, 07h",
    check: (x) =>
      x.memorySensors().flatMap(({ s, comp, reading }) =>
        !/uncorrectable (ecc|machine check)|\bparity\b|memory device disabled/i.test(reading) &&
          /(^|[^n])correctable ecc|logging limit reached|memory scrub failed|\bspare\b/i.test(reading)
          ? [hit(comp, `BMC sensor ${s.name}: ${reading}`)]
          : []
      ),
  },
];
