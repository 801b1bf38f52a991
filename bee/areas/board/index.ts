// The board area: its collector, section schema and rules, declared once (see bee/areas/area.ts).
import type { Area } from "../area.ts";
import { webSection } from "./view.ts";
import { Board } from "../../model/schema.ts";
import { board } from "./collector.ts";

export const BOARD_AREA: Area = {
  name: "board",
  collector: board,
  schema: Board,
  rules: [],
  rulesRank: 9,
  web: webSection,
  webRank: 1,
};
