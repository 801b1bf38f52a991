// The cpu area: its collector, section schema and rules, declared once (see bee/areas/area.ts).
import type { Area } from "../area.ts";
import { webSection } from "./view.ts";
import { Cpu } from "../../model/schema.ts";
import { cpu } from "./collector.ts";
import { CPU_RULES } from "./rules.ts";

export const CPU_AREA: Area = {
  name: "cpu",
  collector: cpu,
  schema: Cpu,
  rules: CPU_RULES,
  rulesRank: 3,
  web: webSection,
  webRank: 2,
  order: ["cpus"],
};
