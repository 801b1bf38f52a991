// The infiniband area: its collector, section schema and rules, declared once (see bee/areas/area.ts).
import type { Area } from "../area.ts";
import { Infiniband } from "../../model/schema.ts";
import { infiniband } from "./collector.ts";
import { INFINIBAND_RULES } from "./rules.ts";

export const INFINIBAND_AREA: Area = {
  name: "infiniband",
  collector: infiniband,
  schema: Infiniband,
  rules: INFINIBAND_RULES,
  rulesRank: 7,
};
