// The boot area: the kernel command line and the unattended plan, declared once (see bee/areas/area.ts).
import type { Area } from "../area.ts";
import { Boot } from "../../model/schema.ts";
import { boot } from "./collector.ts";
import { BOOT_RULES } from "./rules.ts";
import { webSection } from "./view.ts";

export const BOOT_AREA: Area = {
  name: "boot",
  collector: boot,
  schema: Boot,
  rules: BOOT_RULES,
  rulesRank: 11,
  web: webSection,
  webRank: 99,
  tuiDetails: (a) => {
    const b = a.hardware.boot;
    if (!b) return [];
    const u = b.unattended;
    return [
      `Boot: ${b.fetch ? `network (${b.fetch})` : "local medium"}`,
      u
        ? `Unattended: ${u.sats.join(", ")}${u.duration_s ? `, ${u.duration_s} s` : ""}, then ${u.after}`
        : "Unattended: none",
      ...b.problems.map((p) => `  bad parameter: ${p}`),
    ];
  },
  tuiRank: 99,
};
