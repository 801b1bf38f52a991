// The network area: its collector, section schema and rules, declared once (see bee/areas/area.ts).
import type { Area } from "../area.ts";
import { tuiDetails, webSection } from "./view.ts";
import { Network } from "../../model/schema.ts";
import { network } from "./collector.ts";

export const NETWORK_AREA: Area = {
  name: "network",
  collector: network,
  schema: Network,
  rules: [],
  rulesRank: 10,
  web: webSection,
  webRank: 8,
  tuiDetails,
  tuiRank: 3,
};
