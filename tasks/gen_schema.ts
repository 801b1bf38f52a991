// Writes bee/model/audit.schema.json and bee/model/expect.schema.json from their zod schemas
// (`deno task schema`); a test checks the committed files are current.
import { auditJsonSchema } from "../bee/model/schema.ts";
import { expectJsonSchema } from "../bee/model/expect.ts";

export const SCHEMA_FILE = new URL("../bee/model/audit.schema.json", import.meta.url);
export const EXPECT_SCHEMA_FILE = new URL("../bee/model/expect.schema.json", import.meta.url);

/** The exact text the committed audit schema file must have. */
export function schemaText(): string {
  return JSON.stringify(auditJsonSchema(), null, 2) + "\n";
}

/** The exact text the committed expectation schema file must have. */
export function expectSchemaText(): string {
  return JSON.stringify(expectJsonSchema(), null, 2) + "\n";
}

if (import.meta.main) {
  Deno.writeTextFileSync(SCHEMA_FILE, schemaText());
  Deno.writeTextFileSync(EXPECT_SCHEMA_FILE, expectSchemaText());
  console.log(`wrote ${SCHEMA_FILE.pathname} and ${EXPECT_SCHEMA_FILE.pathname}`);
}
