// The shape the code keeps (issue 20's measures), checked on every run: bee/'s folders import only downward
// (lib < model < parsers < collect < expect < rules < areas < audit < sat < export < web, tui < commands <
// main), no import circle between folders, no source file in bee/ or tasks/ over 600 lines, no function over
// 100 lines (data tables are not functions).
import assert from "node:assert/strict";
import { REPO } from "../testkit/helpers.ts";

const LAYERS: Record<string, number> = {
  "lib": 0,
  "version.ts": 0,
  "model": 1,
  "parsers": 2,
  "collect": 3,
  "expect": 4,
  "rules": 5,
  "areas": 6,
  "audit": 7,
  "sat": 8,
  "export": 9,
  "web": 10,
  "tui": 10,
  "fleet": 10.5,
  "commands": 11,
  "main.ts": 12,
};

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...tsFiles(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

const top = (rel: string) => rel.split("/")[0]!;

function norm(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "..") out.pop();
    else if (part !== ".") out.push(part);
  }
  return out.join("/");
}

Deno.test("structure: bee/'s folders import only downward, with no circle", () => {
  const bad: string[] = [];
  for (const f of tsFiles(`${REPO}/bee`)) {
    const rel = f.slice(REPO.length + 5);
    const from = top(rel);
    assert.ok(from in LAYERS, `bee/${from} has no layer in tests/structure_test.ts`);
    const dir = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
    for (const m of Deno.readTextFileSync(f).matchAll(/from\s+"(\.\.?\/[^"]+)"/g)) {
      const to = top(norm(`${dir}/${m[1]}`.replace(/^\//, "")));
      if (to === from) continue;
      assert.ok(to in LAYERS, `bee/${rel} imports outside bee/: ${m[1]}`);
      if (LAYERS[to]! > LAYERS[from]!) {
        bad.push(`bee/${rel} (${from}) imports ${m[1]} (${to}, a higher layer)`);
      }
      if (LAYERS[to]! === LAYERS[from]!) bad.push(`bee/${rel} (${from}) imports its sibling layer ${to}`);
    }
  }
  assert.deepEqual(bad, []);
});

/** Functions and methods of a deno-fmt'ed file with their length in lines (top level and class members). */
export function functionLengths(text: string): { name: string; line: number; lines: number }[] {
  const lines = text.split("\n");
  const out: { name: string; line: number; lines: number }[] = [];
  const starts = [
    { re: /^(?:export )?(?:async )?function\*? (\w+)/, close: /^}/ },
    { re: /^(?:export )?const (\w+) = (?:async )?\([^)]*\)?.*=> \{$/, close: /^}/ },
    { re: /^(?:export )?const (\w+) = (?:async )?\($/, close: /^}/ },
    { re: /^ {2}(?:static |private |async |get |set |readonly )*(\w+)\(.*\{$/, close: /^ {2}}/ },
  ];
  for (let i = 0; i < lines.length; i++) {
    for (const s of starts) {
      const m = s.re.exec(lines[i]!);
      if (!m || m[1] === "if" || m[1] === "for" || m[1] === "while" || m[1] === "switch") continue;
      let j = i + 1;
      while (j < lines.length && !s.close.test(lines[j]!)) j++;
      out.push({ name: m[1]!, line: i + 1, lines: j - i + 1 });
      break;
    }
  }
  return out;
}

Deno.test("structure: no file in bee/ or tasks/ over 600 lines, no function over 100", () => {
  const long: string[] = [];
  const big: string[] = [];
  for (const f of [...tsFiles(`${REPO}/bee`), ...tsFiles(`${REPO}/tasks`)]) {
    const text = Deno.readTextFileSync(f);
    const rel = f.slice(REPO.length + 1);
    const n = text.split("\n").length;
    if (n > 600) big.push(`${rel}: ${n} lines`);
    for (const fn of functionLengths(text)) {
      if (fn.lines > 100) long.push(`${rel}:${fn.line} ${fn.name}: ${fn.lines} lines`);
    }
  }
  console.log([...big, ...long].join("\n") || "all within bounds");
  assert.deepEqual(big, []);
  assert.deepEqual(long, []);
});

Deno.test("structure: the function-length scanner finds what it should", () => {
  const text = [
    "export async function a(x: number) {",
    ...Array(3).fill("  x++;"),
    "}",
    "class K {",
    "  private m(y: string): void {",
    "    y;",
    "  }",
    "}",
    "export const f = (z: number) => {",
    "  return z;",
    "};",
  ].join("\n");
  assert.deepEqual(functionLengths(text).map((f) => [f.name, f.lines]), [["a", 5], ["m", 3], ["f", 3]]);
});

Deno.test("structure: tasks/ never imports the test suite (shared helpers live in testkit/)", () => {
  const bad: string[] = [];
  for (const f of tsFiles(`${REPO}/tasks`)) {
    for (const m of Deno.readTextFileSync(f).matchAll(/from\s+"([^"]+)"/g)) {
      if (/(^|\/)tests\//.test(m[1]!)) bad.push(`${f.slice(REPO.length + 1)} imports ${m[1]}`);
    }
  }
  assert.deepEqual(bad, []);
});

Deno.test("structure: the areas declare every order category once, and each hardware area its page section", async () => {
  const { AREAS } = await import("../bee/areas/index.ts");
  const { ORDER_CATEGORIES } = await import("../bee/model/expect.ts");
  const declared = AREAS.flatMap((a) => a.order ?? []);
  assert.deepEqual([...declared].sort(), [...ORDER_CATEGORIES].sort());
  assert.equal(new Set(AREAS.map((a) => a.name)).size, AREAS.length);
  for (const a of AREAS) {
    if (a.name !== "bmc" && a.name !== "infiniband") assert.ok(a.web, `${a.name} has a page section`);
  }
});
