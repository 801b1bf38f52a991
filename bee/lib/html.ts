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
