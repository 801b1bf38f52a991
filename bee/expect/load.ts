// Reads an expected bill of materials (YAML or JSON) and checks it against its schema; every problem is
// one line naming the file and the field.
import { parse as parseYaml, YAMLParseError } from "yaml";
import { Expect } from "../model/expect.ts";
import { UserError } from "../lib/errors.ts";
import { readRegularText } from "../lib/machine.ts";

/** Largest expectation file read (an order is a few kilobytes). */
const MAX_BYTES = 1024 * 1024;

/** Parses expectation text; throws UserError with one line on any problem. */
export function parseExpect(text: string, name: string): Expect {
  let data: unknown;
  try {
    data = parseYaml(text, { maxAliasCount: 100 });
  } catch (e) {
    const msg = e instanceof YAMLParseError
      ? `line ${e.linePos?.[0]?.line ?? "?"}: ${e.message.split("\n")[0]}`
      : (e as Error).message;
    throw new UserError(`${name}: not valid YAML/JSON (${msg.slice(0, 200)})`, 2);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new UserError(`${name}: expected a mapping with bee_expect: 1 at the top`, 2);
  }
  const r = Expect.safeParse(data);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const where = i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(
      /^\./,
      "",
    );
    throw new UserError(`${name}: ${where || "(top)"}: ${i.message.slice(0, 200)}`, 2);
  }
  return r.data;
}

/** Reads and parses an expectation file. */
export async function loadExpect(path: string): Promise<Expect> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message.split(":")[0];
    throw new UserError(`cannot read expectation ${path}: ${why}`, 2);
  }
  if (!st.isFile) throw new UserError(`cannot read expectation ${path}: not a regular file`, 2);
  if (st.size > MAX_BYTES) {
    throw new UserError(`expectation ${path} is larger than 1 MiB: not an order file`, 2);
  }
  const text = await readRegularText(path, MAX_BYTES);
  if (text === null) throw new UserError(`cannot read expectation ${path}`, 2);
  return parseExpect(text, path);
}
