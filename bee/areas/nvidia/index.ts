// The nvidia area: its collector, section schema and rules, declared once (see bee/areas/area.ts).
import type { Area } from "../area.ts";
import { metrics, tuiDetails, webSection } from "./view.ts";
import { Nvidia } from "../../model/schema.ts";
import { nvidia } from "./collector.ts";
import { NVIDIA_RULES } from "./rules.ts";

export const NVIDIA_AREA: Area = {
  name: "nvidia",
  collector: nvidia,
  schema: Nvidia,
  rules: NVIDIA_RULES,
  rulesRank: 5,
  web: webSection,
  webRank: 5,
  tuiDetails,
  tuiRank: 1,
  metrics,
  order: ["gpus"],
};
