// NVSwitch systems (8-GPU HGX) start CUDA only once NVIDIA Fabric Manager has set up the fabric; before that
// every CUDA call fails with error 802, "system not yet initialized". A SAT run then says why its CUDA jobs
// did not run (UNSUPPORTED, with the reason) instead of failing healthy GPUs. Pure functions, and one thin
// preflight that asks the machine.
import type { Machine } from "../../lib/machine.ts";
import type { Gpu } from "../../model/schema.ts";
import { clean } from "../../lib/text.ts";

/** NVSwitch functions (NVIDIA vendor 10de, PCI class 0680 "other bridge") in `lspci -n -d 10de:` output. */
export function countNvswitches(lspciN: string): number {
  let n = 0;
  for (const line of lspciN.split("\n")) {
    if (/^\s*(?:[0-9a-f]{4,8}:)?[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]\s+0680:\s*10de:/i.test(line)) n++;
  }
  return n;
}

/** Why the CUDA jobs cannot run on this NVSwitch system (Fabric Manager not running), or null. */
export function fabricBlocker(o: {
  switches: number;
  fmRunning: boolean | null;
  bootState: string | null;
}): string | null {
  if (o.switches === 0 || o.fmRunning === true) return null;
  const fm = o.fmRunning === false ? "Fabric Manager is not running" : "Fabric Manager's state is unknown";
  return `${o.switches} NVSwitch(es) on the PCI bus and ${fm}${
    o.bootState ? ` (at boot: ${o.bootState})` : ""
  }: CUDA cannot start on this HGX system, so the CUDA tests did not run`;
}

/** Selected GPUs whose fabric registration (`nvidia-smi -q` Fabric State) is not Completed: CUDA waits for it. */
export function fabricNotReady(gpus: Gpu[], selected: number[]): string | null {
  const waiting = gpus.filter((g) =>
    selected.includes(g.index) && g.fabric_state && !/^completed$/i.test(g.fabric_state)
  );
  if (!waiting.length) return null;
  const states = [...new Set(waiting.map((g) => g.fabric_state))].join(", ");
  return `NVSwitch fabric not ready on GPU ${waiting.map((g) => g.index).join(", ")} (state ${states}): ` +
    "Fabric Manager has not finished; CUDA cannot start, so the CUDA tests did not run";
}

/** bee-gpu-stress's error lines that say CUDA itself is not initialised on this system (error 802). */
export function cudaNotInitialised(errors: string[]): string | null {
  const e = errors.find((m) => /cudaErrorSystemNotReady|system not yet initiali[sz]ed/i.test(m));
  return e
    ? `CUDA says the system is not yet initialised (${e.slice(0, 160)}): on NVSwitch systems Fabric ` +
      "Manager has not set up the fabric; the GPUs were not tested"
    : null;
}

/** NVSwitches on the bus (lspci), Fabric Manager's daemon (pgrep) and what bee-nvidia recorded at boot. */
export async function fabricPreflight(
  machine: Machine,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ switches: number | null; blocker: string | null }> {
  const l = await machine.run("lspci", ["-n", "-d", "10de:"], { timeoutMs, signal });
  if (l.kind !== "exited" || l.code !== 0) return { switches: null, blocker: null };
  const switches = countNvswitches(l.stdout);
  if (!switches) return { switches, blocker: null };
  const p = await machine.run("pgrep", ["-x", "nv-fabricmanager"], { timeoutMs, signal });
  const fmRunning = p.kind === "exited" ? p.code === 0 : null;
  const boot = await machine.readText("/run/bee/fabricmanager");
  const bootState = boot === null ? null : clean(boot.trim().split("\n")[0]);
  return { switches, blocker: fabricBlocker({ switches, fmRunning, bootState }) };
}
