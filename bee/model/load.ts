// The one way bee reads an audit file (web page, TUI, bee export, bee expect, bee sat): only a regular file is
// opened (a FIFO would block the reader for good, a symlink could point anywhere), its size is bounded, and
// no problem message ever quotes the file's content. Never throws.
import { Audit } from "./schema.ts";

export type Loaded =
  | { kind: "missing" }
  | { kind: "bad"; problem: string }
  | { kind: "ok"; audit: Audit; raw: string };

/** Largest audit file read (an 8-GPU, 100-disk audit is well under 2 MiB). */
export const MAX_AUDIT_BYTES = 16 * 1024 * 1024;

/** Reads and validates the audit at `path`. */
export async function loadAudit(path: string): Promise<Loaded> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { kind: "missing" };
    return { kind: "bad", problem: `cannot read ${path}` };
  }
  if (!st.isFile) {
    const what = st.isSymlink ? "a symbolic link" : st.isDirectory ? "a directory" : "not a regular file";
    return { kind: "bad", problem: `${path} is ${what}; bee reads only a regular audit file` };
  }
  if (st.size > MAX_AUDIT_BYTES) return { kind: "bad", problem: `${path} is too large (${st.size} bytes)` };
  let raw: string;
  try {
    raw = await Deno.readTextFile(path);
  } catch {
    return { kind: "bad", problem: `cannot read ${path}` };
  }
  return parseAuditText(raw, path);
}

/** Validates audit text that came from `where` (a file, or a node's /audit.json); never quotes the text. */
export function parseAuditText(raw: string, where: string): Exclude<Loaded, { kind: "missing" }> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    // the parser's message quotes the text: never shown
    return { kind: "bad", problem: `${where} is not valid JSON (truncated or corrupt): ${raw.length} bytes` };
  }
  const parsed = Audit.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return {
      kind: "bad",
      problem: `${where} does not match the audit schema at ${i?.path.join(".") || "(root)"}: ${i?.message}`,
    };
  }
  return { kind: "ok", audit: parsed.data, raw };
}

/** The audit, or null (missing or bad) — for readers that only need it when it is good. */
export async function auditOrNull(path: string): Promise<Audit | null> {
  const l = await loadAudit(path);
  return l.kind === "ok" ? l.audit : null;
}
