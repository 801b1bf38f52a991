// The cpu area: its collector, section schema and rules, declared once (see bee/areas/area.ts).
import type { Area } from "../area.ts";
import { Cpu } from "../../model/schema.ts";
import { cpu } from "./collector.ts";
import { CPU_RULES } from "./rules.ts";

export const CPU_AREA: Area = {
  name: "cpu",
  collector: cpu,
  schema: Cpu,
  rules: CPU_RULES,
  rulesRank: 3,
};
