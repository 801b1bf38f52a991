// Writes bee/audit/audit.schema.json from the zod schema (`deno task schema`); a test checks the
// committed file is current.
import { auditJsonSchema } from "../bee/audit/schema.ts";

export const SCHEMA_FILE = new URL("../bee/audit/audit.schema.json", import.meta.url);

/** The exact text the committed schema file must have. */
export function schemaText(): string {
  return JSON.stringify(auditJsonSchema(), null, 2) + "\n";
}

if (import.meta.main) {
  Deno.writeTextFileSync(SCHEMA_FILE, schemaText());
  console.log(`wrote ${SCHEMA_FILE.pathname}`);
}
