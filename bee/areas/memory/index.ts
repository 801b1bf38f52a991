// The memory area: its collector, section schema and rules, declared once (see bee/areas/area.ts).
import type { Area } from "../area.ts";
import { webSection } from "./view.ts";
import { Memory } from "../../model/schema.ts";
import { memory } from "./collector.ts";
import { MEMORY_RULES } from "./rules.ts";

export const MEMORY_AREA: Area = {
  name: "memory",
  collector: memory,
  schema: Memory,
  rules: MEMORY_RULES,
  rulesRank: 2,
  web: webSection,
  webRank: 3,
  order: ["memory"],
};
