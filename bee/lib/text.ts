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
  let s = String(value).replace(/[\u0000-\u001f\u007f-\u009f]/g, " ").trim().replace(/\s{2,}/g, " ");
  if (PLACEHOLDERS.has(s.toLowerCase())) return null;
  if (s.length > MAX_STRING) s = s.slice(0, MAX_STRING - 1) + "…";
  return s;
}

/** `n` when it is an integer JSON and JavaScript hold exactly (|n| < 2^53), else null: 2^64-1 is no count. */
function safe(n: number): number | null {
  return Number.isSafeInteger(n) ? n : null;
}

/** First integer in `s` (decimal, or 0x hex), or null — also for values past 2^53 (firmware's "all ones"). */
export function int(s: unknown): number | null {
  if (typeof s === "number") return Number.isFinite(s) ? safe(Math.trunc(s)) : null;
  if (typeof s === "bigint") return safe(Number(s));
  if (typeof s !== "string") return null;
  const t = s.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return safe(parseInt(t, 16));
  const m = t.match(/-?\d+/);
  return m ? safe(parseInt(m[0], 10)) : null;
}

/** Largest magnitude a measured value (watts, °C, MHz, %) may have; beyond it the value is garbage. */
const MAX_MEASURE = 1e15;

/** First decimal number in `s`, or null (also for absurd magnitudes). */
export function num(s: unknown): number | null {
  const v = typeof s === "number"
    ? s
    : typeof s === "string"
    ? parseFloat(s.trim().match(/-?\d+(\.\d+)?/)?.[0] ?? "NaN")
    : NaN;
  return Number.isFinite(v) && Math.abs(v) <= MAX_MEASURE ? v : null;
}

/**
 * Text without terminal escape sequences (CSI such as colours and bold, OSC such as window titles, and lone
 * ESC pairs): newer tools decorate their output (nvidia-smi 590's `topo -m` header) and parsers must see
 * the text.
 */
export function stripEscapes(s: string): string {
  return s.replace(
    // deno-lint-ignore no-control-regex
    /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]/g,
    "",
  );
}

/**
 * Control characters (C0, DEL, C1 — ESC and CSI among them) replaced, for text written to a terminal.
 * Firmware strings are data; they never get to move the cursor or recolour the screen.
 */
export function forTerminal(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, "?");
}

/** Typographic glyphs the Linux console's built-in font (cp437) lacks, as ASCII; its box lines stay. */
const CONSOLE_ASCII: [RegExp, string][] = [
  [/[\u2014\u2013]/g, "-"],
  [/\u2026/g, "..."],
  [/\u2192/g, "->"],
  [/\u2190/g, "<-"],
  [/[\u2022\u25cf]/g, "*"],
  [/\u23ce/g, "Enter"],
  [/\u00d7/g, "x"],
  [/[\u2714\u2713]/g, "v"],
  [/[\u2716\u2717]/g, "x"],
  [/[\u201c\u201d]/g, '"'],
  [/[\u2018\u2019]/g, "'"],
];

/** Text for the Linux console (TERM=linux): what its font cannot draw becomes ASCII, not boxes. */
export function consoleGlyphs(s: string): string {
  let out = s;
  for (const [re, to] of CONSOLE_ASCII) out = out.replace(re, to);
  return out;
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
