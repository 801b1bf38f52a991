// The pcie area: its collector, section schema and rules, declared once (see bee/areas/area.ts).
import type { Area } from "../area.ts";
import { webSection } from "./view.ts";
import { Pcie } from "../../model/schema.ts";
import { pcie } from "./collector.ts";
import { PCIE_RULES } from "./rules.ts";

export const PCIE_AREA: Area = {
  name: "pcie",
  collector: pcie,
  schema: Pcie,
  rules: PCIE_RULES,
  rulesRank: 4,
  web: webSection,
  webRank: 6,
  order: ["nics"],
};
