// What files bee leaves are named after: the machine's system serial, else its hostname.

/** Serials firmware ships unset (clean() already nulls "To Be Filled By O.E.M.", "Not Specified" …). */
const PLACEHOLDER_SERIAL =
  /^(0+|0123456789|1234567890|default string|system serial number|serial|none|unknown|x+)$/i;

/** What archives are named after: the system serial when it is a real one, else the hostname. */
export function archiveTag(serial: string | null, hostname: string): string {
  const s = serial?.trim() ?? "";
  return safeHost(s && !PLACEHOLDER_SERIAL.test(s) ? s : hostname);
}

export function safeHost(h: string): string {
  return h.replace(/[^A-Za-z0-9.-]+/g, "_").replace(/^[._-]+/, "").slice(0, 64) || "unknown";
}
