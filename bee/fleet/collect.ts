// `bee fleet collect`: pulls each node's audit and bundle over plain read-only HTTP (what every bee node
// serves on port 80, no credentials), verifies each bundle against its MANIFEST.sha256, and keeps one folder
// per node (`<serial>/bee-audit.json`, `<serial>/sat/*.tar.gz`, `<serial>/MANIFEST.sha256`). A node whose
// audit and archive list are what the last run pulled is not pulled again. Nothing is ever written to a node.
import { createHash } from "node:crypto";
import { parseAuditText } from "../model/load.ts";
import type { Audit } from "../model/schema.ts";
import { readTarStream } from "../lib/tar.ts";
import { atomicWrite } from "../lib/atomic_write.ts";
import { pool } from "../lib/pool.ts";
import type { Node } from "../parsers/leases.ts";
import { dirName, FLEET_KINDS, type FleetRow } from "./report.ts";

const AUDIT_MAX = 64 * 1024 * 1024;
const MEMBER_MAX = 2 * 1024 * 1024 * 1024;

interface SatJson {
  archives: {
    name: string;
    size: number;
    kind: string | null;
    overall_status: string | null;
    mtime: string | null;
  }[];
  unattended: { state: string; results: { kind: string; status: string }[] } | null;
}

const url = (n: Node, path: string) => `http://${n.address}${n.port === 80 ? "" : `:${n.port}`}${path}`;

async function getText(
  n: Node,
  path: string,
  timeoutMs: number,
  max: number,
): Promise<{ status: number; text: string }> {
  const r = await fetch(url(n, path), { signal: AbortSignal.timeout(timeoutMs) });
  const len = Number(r.headers.get("content-length") ?? 0);
  if (len > max) {
    await r.body?.cancel();
    throw new Error(`${path} is ${len} bytes (over ${max})`);
  }
  return { status: r.status, text: await r.text() };
}

/** Each SAT kind's latest status: the unattended run's word while it runs, else the newest archive's. */
export function satStatuses(s: SatJson | null): Record<string, string | null> {
  const out: Record<string, string | null> = Object.fromEntries(FLEET_KINDS.map((k) => [k, null]));
  if (!s) return out;
  const newest = [...s.archives].sort((a, b) => (a.mtime ?? a.name).localeCompare(b.mtime ?? b.name));
  for (const a of newest) if (a.kind && a.kind in out) out[a.kind] = a.overall_status ?? "?";
  for (const r of s.unattended?.results ?? []) {
    if (r.status === "running" || r.status === "pending" || r.status === "error") out[r.kind] = r.status;
  }
  return out;
}

/** What identifies the pulled state: the audit's time and the archives' names and sizes. */
export function fingerprint(audit: Audit, s: SatJson | null): string {
  const parts = [audit.host.collected_at, ...(s?.archives ?? []).map((a) => `${a.name}:${a.size}`).sort()];
  return createHash("sha256").update(parts.join("\n")).digest("hex");
}

/**
 * Reads a bundle (uncompressed tar) into `dir`, checking every file against MANIFEST.sha256: null when every
 * listed file is there with its checksum, else what is wrong. Paths come only from the manifest's names.
 */
export async function unpackVerified(
  stream: ReadableStream<Uint8Array>,
  dir: string,
): Promise<string | null> {
  const files = new Map<string, { sha: string; data: Uint8Array }>();
  let manifest: string | null = null;
  const complete = await readTarStream(stream, (e) => e.type === "file", (e, data) => {
    const rel = e.name.split("/").slice(1).join("/");
    if (rel === "MANIFEST.sha256") manifest = new TextDecoder().decode(data);
    else files.set(rel, { sha: createHash("sha256").update(data).digest("hex"), data });
  }, MEMBER_MAX);
  if (!complete) return "the bundle is truncated or not a tar";
  if (manifest === null) return "the bundle has no MANIFEST.sha256";
  const listed = (manifest as string).split("\n").filter(Boolean).map((l) =>
    l.match(/^([0-9a-f]{64}) {2}(.+)$/)
  );
  if (listed.some((m) => !m)) return "MANIFEST.sha256 has a malformed line";
  for (const m of listed as RegExpMatchArray[]) {
    const name = m[2]!;
    if (!/^(bee-audit\.json|sat\/[A-Za-z0-9._-]+\.tar\.gz)$/.test(name)) {
      return `unexpected name in the manifest: ${name.slice(0, 80)}`;
    }
    const f = files.get(name);
    if (!f) return `${name} is listed but missing`;
    if (f.sha !== m[1]) return `${name}: checksum mismatch`;
  }
  await Deno.mkdir(`${dir}/sat`, { recursive: true });
  for (const m of listed as RegExpMatchArray[]) {
    await Deno.writeFile(`${dir}/${m[2]}`, files.get(m[2]!)!.data);
  }
  await Deno.writeTextFile(`${dir}/MANIFEST.sha256`, manifest);
  return null;
}

/** Swaps a freshly verified folder in for the node's previous one. */
async function replaceDir(fresh: string, dest: string): Promise<void> {
  const old = `${dest}.old-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.rename(dest, old).catch(() => {});
  await Deno.rename(fresh, dest);
  await Deno.remove(old, { recursive: true }).catch(() => {});
}

/** Why a request failed, in words (fetch's own message is only "fetch failed"). */
function why(e: unknown): string {
  const err = e as Error & { cause?: Error };
  if (err?.name === "TimeoutError") return "timed out";
  return (err?.cause?.message ?? err?.message ?? String(e)).replace(/\s+/g, " ").slice(0, 200);
}

function emptyRow(n: Node, state: FleetRow["state"], note: string): FleetRow {
  return {
    address: n.port === 80 ? n.address : `${n.address}:${n.port}`,
    state,
    serial: null,
    product: null,
    verdict: null,
    failures: null,
    warnings: null,
    as_ordered: null,
    sats: Object.fromEntries(FLEET_KINDS.map((k) => [k, null])),
    unattended: null,
    worst: null,
    note: note.slice(0, 300),
  };
}

interface Probe {
  n: Node;
  row: FleetRow;
  /** set when the node answered with an audit: what the pull needs */
  audit?: Audit;
  sat?: SatJson | null;
}

/** Reads one node's audit and SAT list (small); never throws for what a node does. */
async function probeNode(n: Node, timeoutMs: number): Promise<Probe> {
  const r = await probeRow(n, timeoutMs);
  return "row" in r ? r : { n, row: r };
}

async function probeRow(n: Node, timeoutMs: number): Promise<FleetRow | Probe> {
  let audit: Audit;
  try {
    const a = await getText(n, "/audit.json", timeoutMs, AUDIT_MAX);
    if (a.status === 503) return emptyRow(n, "no-audit", "the node has no audit yet (still booting?)");
    if (a.status !== 200) return emptyRow(n, "no-audit", `/audit.json answered ${a.status}`);
    const parsed = parseAuditText(a.text, "/audit.json");
    if (parsed.kind !== "ok") return emptyRow(n, "no-audit", parsed.problem);
    audit = parsed.audit;
  } catch (e) {
    return emptyRow(n, "unreachable", `no answer: ${why(e)}`);
  }
  let sat: SatJson | null = null;
  try {
    const s = await getText(n, "/sat.json", timeoutMs, AUDIT_MAX);
    if (s.status === 200) sat = JSON.parse(s.text) as SatJson;
  } catch { /* an older bee without /sat.json: the bundle still says everything */ }
  const sys = audit.hardware.board?.system;
  const row: FleetRow = {
    ...emptyRow(n, "ok", ""),
    serial: sys?.serial ?? null,
    product: sys?.product ?? null,
    verdict: audit.hardware.summary.verdict,
    failures: audit.hardware.summary.failures,
    warnings: audit.hardware.summary.warnings,
    as_ordered: audit.expect ? audit.expect.as_ordered : null,
    sats: satStatuses(sat),
    unattended: sat?.unattended?.state ?? null,
    worst: (() => {
      const f = audit.hardware.summary.findings[0];
      return f ? `${f.severity} ${f.code} ${f.component}: ${f.message}`.slice(0, 300) : null;
    })(),
  };
  return { n, row, audit, sat };
}

/** Pulls a probed node's bundle into `dest` unless it is what the last pull kept; returns its row. */
async function pullNode(p: Probe, dest: string, out: string, timeoutMs: number): Promise<FleetRow> {
  const { n, row, audit, sat } = p;
  if (!audit) return row;
  const fp = fingerprint(audit, sat ?? null);
  const prev = await Deno.readTextFile(`${dest}/.fingerprint`).catch(() => null);
  if (prev?.trim() === fp) return { ...row, note: "unchanged since the last pull" };
  const fresh = `${out}/.pull-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.mkdir(fresh, { recursive: true });
  try {
    const r = await fetch(url(n, "/bundle.tar"), {
      signal: AbortSignal.timeout(Math.max(timeoutMs, 30 * 60_000)),
    });
    if (r.status !== 200 || !r.body) {
      await r.body?.cancel();
      return { ...row, state: "bad-bundle", note: `/bundle.tar answered ${r.status}` };
    }
    const bad = await unpackVerified(r.body, fresh);
    if (bad) return { ...row, state: "bad-bundle", note: `bundle not kept: ${bad}` };
    await Deno.writeTextFile(`${fresh}/.fingerprint`, fp + "\n");
    await replaceDir(fresh, dest);
    const count = (await Array.fromAsync(Deno.readDir(`${dest}/sat`))).length;
    return { ...row, note: `pulled: audit and ${count} archive${count === 1 ? "" : "s"}, verified` };
  } catch (e) {
    return { ...row, state: "bad-bundle", note: `bundle not pulled: ${why(e)}` };
  } finally {
    await Deno.remove(fresh, { recursive: true }).catch(() => {});
  }
}

/**
 * Each node's folder: its serial, or — where two nodes of this run tell the same serial (an unset
 * "To Be Filled By O.E.M.", a cloned board) or none — serial and address, so no node overwrites another.
 */
export function folderNames(rows: FleetRow[]): string[] {
  const count = new Map<string, number>();
  for (const r of rows) if (r.serial) count.set(dirName(r), (count.get(dirName(r)) ?? 0) + 1);
  return rows.map((r) =>
    r.serial && count.get(dirName(r)) === 1 ? dirName(r) : dirName({ serial: null, address: r.address }) +
      (r.serial ? `_${dirName(r)}` : "")
  );
}

/** Reads every node (audit and SAT list), then pulls the bundles of those that changed, `concurrency` at a time. */
export async function collectFleet(
  nodes: Node[],
  out: string,
  o: { concurrency: number; timeoutMs?: number; progress?: (done: number, row: FleetRow) => void },
): Promise<FleetRow[]> {
  await Deno.mkdir(out, { recursive: true });
  const timeoutMs = o.timeoutMs ?? 15_000;
  const probes = await pool(nodes, o.concurrency, (n) => probeNode(n, timeoutMs));
  const names = folderNames(probes.map((p) => p.row));
  let done = 0;
  return await pool(probes, o.concurrency, async (p, i) => {
    const row = { ...await pullNode(p, `${out}/${names[i]}`, out, timeoutMs), folder: names[i] };
    o.progress?.(++done, row);
    return row;
  });
}

/** Writes fleet.csv, fleet.html and fleet.json (the rows) atomically. */
export async function writeFleetFiles(out: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) await atomicWrite(`${out}/${name}`, text);
}
