// The documented SAT overrides, one row each: the environment variable, its bounds and what it sets. `bee sat`
// honours them from the environment; the unattended boot (`bee.sat.<setting>=` on the kernel command line)
// maps `<setting>` to `BEE_<SETTING>`. Values are checked by the one strict reader (bee/lib/env.ts).
import { envInt } from "./env.ts";

export interface Override {
  env: string;
  min: number;
  max: number;
  what: string;
}

export const SAT_OVERRIDES: readonly Override[] = [
  {
    env: "BEE_GPU_STRESS_SECONDS",
    min: 1,
    max: 7 * 24 * 3600,
    what: "NVIDIA SAT duration without --duration",
  },
  { env: "BEE_GPU_STRESS_SIZE_MB", min: 1, max: 1024 * 1024, what: "GPU stress matrix memory per GPU" },
  { env: "BEE_MEMTESTER_SIZE_MB", min: 1, max: 64 * 1024 * 1024, what: "memory SAT: memtester size" },
  { env: "BEE_MEMTESTER_PASSES", min: 1, max: 10_000, what: "memory SAT: memtester passes" },
  { env: "BEE_PEER_FAIL_PCT", min: 1, max: 90, what: "NVIDIA SAT: a GPU this far under its peers FAILs" },
];

/** The override's value as a number within its documented bounds; null when unset; a UserError when bad. */
export function overrideInt(env: string, value: string | undefined): number | null {
  const o = SAT_OVERRIDES.find((x) => x.env === env);
  if (!o) throw new Error(`unknown override ${env}`);
  return envInt(env, value, o.min, o.max);
}
