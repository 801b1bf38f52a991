// The one list of collectors `bee audit` runs, in the order the audit reports them.
import { board } from "./board.ts";
import { cpu } from "./cpu.ts";
import { memory } from "./memory.ts";
import { storage } from "./storage.ts";
import { pcie } from "./pcie.ts";
import { psu } from "./psu.ts";
import { nvidia } from "./nvidia.ts";
import { network } from "./network.ts";
import { bmc } from "./bmc.ts";
import { infiniband } from "./infiniband.ts";

export const COLLECTORS = [board, cpu, memory, storage, pcie, psu, nvidia, network, bmc, infiniband] as const;
