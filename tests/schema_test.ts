import assert from "node:assert/strict";
import { expectSchemaText, schemaText } from "../tasks/gen_schema.ts";
import { REPO } from "../testkit/helpers.ts";

Deno.test("schema: the committed JSON Schema is the one generated from the zod schema", () => {
  const committed = Deno.readTextFileSync(`${REPO}/bee/model/audit.schema.json`);
  assert.equal(committed, schemaText(), "run `deno task schema` and commit bee/model/audit.schema.json");
});

Deno.test("schema: JSON Schema names every collector and the verdict enum", () => {
  const s = JSON.parse(schemaText());
  const hw = s.properties.hardware.properties;
  for (const k of ["board", "cpu", "memory", "storage", "pcie", "psu", "nvidia", "network", "summary"]) {
    assert.ok(hw[k], k);
  }
  assert.deepEqual(hw.summary.properties.verdict.enum, ["PASS", "WARN", "FAIL"]);
});

Deno.test("schema: the committed expectation JSON Schema is the one generated from its zod schema", () => {
  const committed = Deno.readTextFileSync(`${REPO}/bee/model/expect.schema.json`);
  assert.equal(
    committed,
    expectSchemaText(),
    "run `deno task schema` and commit bee/model/expect.schema.json",
  );
  const s = JSON.parse(committed);
  assert.deepEqual(Object.keys(s.properties).sort(), [
    "bee_expect",
    "bios",
    "bmc",
    "cpus",
    "disks",
    "gpus",
    "memory",
    "name",
    "nics",
    "psus",
    "system",
  ]);
  assert.equal(s.additionalProperties, false, "a misspelt key is an error, not a silently ignored line");
});
