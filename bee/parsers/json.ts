// Lenient readers for tool JSON (smartctl, nvme-cli): a wrong type is "absent", never a throw.

export type Json = Record<string, unknown>;

/** `v` as an object, or an empty one. */
export const o = (v: unknown): Json => (v && typeof v === "object" && !Array.isArray(v) ? v as Json : {});
/** `v` when it is a finite number, else null. */
export const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
/** `v` when it is a string (bounded), else null. */
export const str = (v: unknown): string | null => (typeof v === "string" ? v.slice(0, 200) : null);

/** The JSON object in `text`, or null when it is not one. */
export function jsonObject(text: string): Json | null {
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? v as Json : null;
  } catch {
    return null;
  }
}
