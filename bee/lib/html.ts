// HTML escaping for every string that came from hardware, shared by the web page and the SAT's
// HTML reports.

/** Escapes text for HTML element content and attribute values. */
export function esc(s: unknown): string {
  return String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Escaped, bounded text; null/empty shows as an en dash. */
export function t(s: unknown, max = 200): string {
  if (s === null || s === undefined || s === "") return "–";
  let v = String(s);
  if (v.length > max) v = v.slice(0, max - 1) + "…";
  return esc(v);
}

/** A table with a header row; cells are already-escaped HTML. */
export function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return `<p class="none">none found</p>`;
  const th = headers.map((h) => `<th>${esc(h)}</th>`).join("");
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("\n");
  return `<div class="scroll"><table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table></div>`;
}

const GiB = 1024 ** 3;
/** Bytes as GiB/TiB text. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  if (n >= 1024 * GiB) return `${(n / (1024 * GiB)).toFixed(1)} TiB`;
  return `${(n / GiB).toFixed(n >= 10 * GiB ? 0 : 1)} GiB`;
}
