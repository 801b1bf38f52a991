// The psu area: its collector, section schema and rules, declared once (see bee/areas/area.ts).
import type { Area } from "../area.ts";
import { webSection } from "./view.ts";
import { Psu } from "../../model/schema.ts";
import { psu } from "./collector.ts";
import { PSU_RULES } from "./rules.ts";

export const PSU_AREA: Area = {
  name: "psu",
  collector: psu,
  schema: Psu,
  rules: PSU_RULES,
  rulesRank: 6,
  web: webSection,
  webRank: 7,
  order: ["psus"],
};
