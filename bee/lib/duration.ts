// Durations as operators type them: `10m`, `1h`, `8h`, `24h`, `90s` or plain seconds.

/** `10m`, `1h`, `8h`, `24h`, `90s` or plain seconds → seconds (1 s to 7 days); null when not a duration. */
export function parseDuration(s: string): number | null {
  const m = s.trim().match(/^(\d+(?:\.\d+)?)\s*(s|m|h)?$/i);
  if (!m) return null;
  const n = Number(m[1]) * ({ s: 1, m: 60, h: 3600 }[(m[2] ?? "s").toLowerCase() as "s" | "m" | "h"]);
  return n >= 1 && n <= 7 * 24 * 3600 ? Math.round(n) : null;
}
