// One row per node of a rack, from what `bee fleet collect` pulled: the typed row, its rank (worst first), and
// the two renderings people read — fleet.csv and fleet.html. Pure: rows in, text out.
import { stringify } from "csv-stringify/sync";
import { esc, page, t, table } from "../web/html.ts";

export const FLEET_KINDS = ["nvidia", "memory", "storage"] as const;

export interface FleetRow {
  address: string;
  /** reachable: audit read; unreachable: no answer; no-audit: the node answers but has no audit yet */
  state: "ok" | "unreachable" | "no-audit" | "bad-bundle";
  serial: string | null;
  product: string | null;
  verdict: "PASS" | "WARN" | "FAIL" | null;
  failures: number | null;
  warnings: number | null;
  as_ordered: boolean | null;
  /** each SAT kind's latest status (OK, FAILED, UNSUPPORTED, running, pending, error), null when never run */
  sats: Record<string, string | null>;
  /** the unattended run: running, done, or null when none */
  unattended: string | null;
  worst: string | null;
  /** what this run did: pulled, unchanged, or why nothing could be pulled */
  note: string;
  /** the node's folder under the output directory (serial, or address and serial where serials repeat) */
  folder?: string;
}

/** 0 is worst: no answer, then FAIL (audit or a SAT), not as ordered, WARN, still running, PASS. */
export function rank(r: FleetRow): number {
  if (r.state !== "ok") return 0;
  const sats = Object.values(r.sats);
  if (r.verdict === "FAIL" || sats.some((s) => s === "FAILED" || s === "error")) return 1;
  if (r.as_ordered === false) return 2;
  if (r.verdict === "WARN") return 3;
  if (r.unattended === "running" || sats.some((s) => s === "running" || s === "pending")) return 4;
  return 5;
}

/** Worst first; ties by serial, then address. */
export function sortRows(rows: FleetRow[]): FleetRow[] {
  return [...rows].sort((a, b) =>
    rank(a) - rank(b) || (a.serial ?? "~").localeCompare(b.serial ?? "~") ||
    a.address.localeCompare(b.address)
  );
}

const HEAD = [
  "address",
  "serial",
  "product",
  "state",
  "verdict",
  "failures",
  "warnings",
  "as_ordered",
  ...FLEET_KINDS.map((k) => `sat_${k}`),
  "unattended",
  "worst_finding",
  "note",
];

function cells(r: FleetRow): string[] {
  const s = (v: unknown) => (v === null || v === undefined ? "" : String(v));
  return [
    r.address,
    s(r.serial),
    s(r.product),
    r.state,
    s(r.verdict),
    s(r.failures),
    s(r.warnings),
    r.as_ordered === null ? "" : r.as_ordered ? "yes" : "NO",
    ...FLEET_KINDS.map((k) => s(r.sats[k])),
    s(r.unattended),
    s(r.worst),
    r.note,
  ];
}

/** fleet.csv: one header line, one line per node, worst first. */
export function fleetCsv(rows: FleetRow[]): string {
  return stringify([HEAD, ...sortRows(rows).map(cells)]);
}

/** fleet.html: the same table, coloured by rank, each serial linking to its pulled audit. */
export function fleetHtml(rows: FleetRow[], when: string): string {
  const sorted = sortRows(rows);
  const count = (f: (r: FleetRow) => boolean) => sorted.filter(f).length;
  const cls = (r: FleetRow) => ["FAIL", "FAIL", "WARN", "WARN", "NONE", "PASS"][rank(r)]!;
  const body = sorted.map((r) => {
    const c = cells(r).map((x) => t(x, 300));
    if (r.folder && r.state === "ok") {
      c[1] = `<a href="${esc(encodeURIComponent(r.folder ?? ""))}/bee-audit.json">${c[1]}</a>`;
    }
    c[3] = `<span class="sev-${cls(r) === "PASS" ? "" : cls(r)}">${c[3]}</span>`;
    return c;
  });
  const summary = `${sorted.length} nodes: ${count((r) => r.state !== "ok")} without an answer, ${
    count((r) => rank(r) === 1)
  } failing, ${count((r) => r.as_ordered === false)} not as ordered, ${
    count((r) => rank(r) === 4)
  } still running, ${count((r) => rank(r) === 5)} passing`;
  return page(
    `bee fleet — ${sorted.length} nodes`,
    `<h1>bee fleet</h1><p class="meta">${esc(summary)}. Collected ${esc(when)}.</p>${table(HEAD, body)}`,
  );
}

/** The folder a node's files go to: its serial (made safe), else its address. */
export function dirName(r: { serial: string | null; address: string }): string {
  const s = (r.serial ?? "").replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[._-]+/, "").slice(0, 64);
  return s || `addr-${r.address.replace(/[^A-Za-z0-9._-]/g, "_")}`;
}
