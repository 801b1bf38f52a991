// Small helpers shared by the parsers: cleaning untrusted strings and reading numbers.

/** Longest string kept from hardware or firmware; anything longer is cut and marked. */
export const MAX_STRING = 256;

const PLACEHOLDERS = new Set([
  "",
  "not specified",
  "not provided",
  "unknown",
  "n/a",
  "[n/a]",
  "[not supported]",
  "not supported",
  "none",
  "to be filled by o.e.m.",
  "default string",
  "not available",
  "no asset tag",
]);

/** Trims, drops control characters, bounds the length; placeholders such as `Not Specified` → null. */
export function clean(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  // deno-lint-ignore no-control-regex
  let s = String(value).replace(/[\u0000-\u001f\u007f]/g, " ").trim().replace(/\s{2,}/g, " ");
  if (PLACEHOLDERS.has(s.toLowerCase())) return null;
  if (s.length > MAX_STRING) s = s.slice(0, MAX_STRING - 1) + "…";
  return s;
}

/** First integer in `s` (decimal, or 0x hex), or null. */
export function int(s: unknown): number | null {
  if (typeof s === "number") return Number.isFinite(s) ? Math.trunc(s) : null;
  if (typeof s !== "string") return null;
  const t = s.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t, 16);
  const m = t.match(/-?\d+/);
  return m ? parseInt(m[0], 10) : null;
}

/** First decimal number in `s`, or null. */
export function num(s: unknown): number | null {
  if (typeof s === "number") return Number.isFinite(s) ? s : null;
  if (typeof s !== "string") return null;
  const m = s.trim().match(/-?\d+(\.\d+)?/);
  return m ? parseFloat(m[0]) : null;
}

const UNITS: Record<string, number> = {
  b: 1,
  bytes: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/** "16 GB", "512 MiB", "1 TB" → bytes (binary units, as dmidecode and nvidia-smi mean them), or null. */
export function sizeBytes(s: string | null | undefined): number | null {
  if (!s) return null;
  const m = s.trim().match(/^(\d+(?:\.\d+)?)\s*([a-z]+)$/i);
  if (!m) return null;
  const unit = UNITS[m[2]!.toLowerCase()];
  return unit ? Math.round(parseFloat(m[1]!) * unit) : null;
}
