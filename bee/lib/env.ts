// Environment overrides: strict decimal integers within sane bounds, or a one-line error (exit 2).
// `1e99`, `0x10`, `" 5 "`, `5.0` and `+5` are refused: an override either means exactly one number or
// nothing.
import { UserError } from "./errors.ts";

/** The value of override `name`, or null when unset; throws a UserError (exit 2) when malformed. */
export function envInt(name: string, value: string | undefined, min: number, max: number): number | null {
  if (value === undefined) return null;
  const shown = JSON.stringify(value.slice(0, 40));
  if (!/^[0-9]{1,15}$/.test(value)) {
    throw new UserError(`${name}=${shown} is not a decimal integer (expected ${min}…${max})`, 2);
  }
  const n = Number(value);
  if (n < min || n > max) throw new UserError(`${name}=${shown} is out of range (expected ${min}…${max})`, 2);
  return n;
}
