// bee's own version; the git commit comes from the launcher (BEE_GIT_COMMIT) or the ISO build.

/** Release version of bee. */
export const BEE_VERSION = "0.1.0";

/** The git commit bee was built from, or null when unknown. */
export function gitCommit(): string | null {
  try {
    const c = Deno.env.get("BEE_GIT_COMMIT");
    return c && c !== "unknown" ? c.slice(0, 40) : null;
  } catch {
    return null;
  }
}
