// The bmc area: its collector, section schema and rules, declared once (see bee/areas/area.ts).
import type { Area } from "../area.ts";
import { Bmc } from "../../model/schema.ts";
import { bmc } from "./collector.ts";
import { BMC_RULES } from "./rules.ts";

export const BMC_AREA: Area = {
  name: "bmc",
  collector: bmc,
  schema: Bmc,
  rules: BMC_RULES,
  rulesRank: 8,
};
