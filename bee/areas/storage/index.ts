// The storage area: its collector, section schema and rules, declared once (see bee/areas/area.ts).
import type { Area } from "../area.ts";
import { tuiDetails, webSection } from "./view.ts";
import { Storage } from "../../model/schema.ts";
import { storage } from "./collector.ts";
import { STORAGE_RULES } from "./rules.ts";

export const STORAGE_AREA: Area = {
  name: "storage",
  collector: storage,
  schema: Storage,
  rules: STORAGE_RULES,
  rulesRank: 1,
  web: webSection,
  webRank: 4,
  tuiDetails,
  tuiRank: 2,
  order: ["disks"],
};
