// Writes the README's GPU reference table from the reference rows (bee/sat/nvidia/references.ts), between
// the `<!-- references:begin -->` and `<!-- references:end -->` markers. tests/gpu_figures_test.ts checks
// they agree.
import { referencesMarkdown } from "../bee/sat/nvidia/references.ts";

const path = new URL("../README.md", import.meta.url).pathname;
const text = Deno.readTextFileSync(path);
const begin = "<!-- references:begin -->", end = "<!-- references:end -->";
const a = text.indexOf(begin), b = text.indexOf(end);
if (a < 0 || b < a) {
  console.error(`gen_references: README.md has no ${begin} … ${end} block`);
  Deno.exit(1);
}
Deno.writeTextFileSync(
  path,
  `${text.slice(0, a + begin.length)}\n\n${referencesMarkdown()}\n\n${text.slice(b)}`,
);
console.log(`wrote the reference table into ${path}`);
