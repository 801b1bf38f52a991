// Prometheus file_sd targets for a rack: one target group per node (`address:port`), labelled with the
// node's serial where its /audit.json says it, so an existing Prometheus scrapes every node's /metrics.
import { parseAuditText } from "../model/load.ts";
import type { Node } from "../parsers/leases.ts";
import { pool } from "../lib/pool.ts";

export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

const hostPort = (n: Node) => `${n.address}:${n.port}`;

/** The node's system serial from its audit, or null (no answer, no audit, no serial). */
async function serialOf(n: Node, timeoutMs: number): Promise<string | null> {
  try {
    const r = await fetch(`http://${hostPort(n)}/audit.json`, { signal: AbortSignal.timeout(timeoutMs) });
    if (r.status !== 200) {
      await r.body?.cancel();
      return null;
    }
    const l = parseAuditText(await r.text(), "/audit.json");
    return l.kind === "ok" ? l.audit.hardware.board?.system.serial?.slice(0, 128) ?? null : null;
  } catch {
    return null;
  }
}

/** The file_sd groups, in the nodes' order. */
export async function fileSdTargets(
  nodes: Node[],
  concurrency: number,
  timeoutMs: number,
): Promise<TargetGroup[]> {
  const serials = await pool(nodes, concurrency, (n) => serialOf(n, timeoutMs));
  return nodes.map((n, i) => ({
    targets: [hostPort(n)],
    labels: {
      ...(serials[i] ? { serial: serials[i]! } : {}),
      ...(n.hostname ? { hostname: n.hostname } : {}),
      ...(n.mac ? { mac: n.mac } : {}),
    },
  }));
}
