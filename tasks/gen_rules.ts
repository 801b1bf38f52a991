// Writes the README's verdict rule table from the rule rows (bee/audit/verdict.ts), between the
// `<!-- rules:begin -->` and `<!-- rules:end -->` markers. tests/verdict_test.ts checks they agree.
import { rulesMarkdown } from "../bee/audit/verdict.ts";

const path = new URL("../README.md", import.meta.url).pathname;
const text = Deno.readTextFileSync(path);
const begin = "<!-- rules:begin -->", end = "<!-- rules:end -->";
const a = text.indexOf(begin), b = text.indexOf(end);
if (a < 0 || b < a) {
  console.error(`gen_rules: README.md has no ${begin} … ${end} block`);
  Deno.exit(1);
}
Deno.writeTextFileSync(path, `${text.slice(0, a + begin.length)}\n\n${rulesMarkdown()}\n\n${text.slice(b)}`);
console.log(`wrote the rule table into ${path} (run deno fmt README.md to align it)`);
