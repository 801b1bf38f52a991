// `bee expect --from-audit AUDIT.json [--output FILE]`: a starting expected bill of materials (YAML) from a
// known-good machine's audit; `bee expect --check FILE` validates an order file against its schema.
import { Command } from "commander";
import type { Audit } from "../model/schema.ts";
import { ORDER_CATEGORIES } from "../model/expect.ts";
import { loadAudit } from "../model/load.ts";
import { expectFromAudit, expectYaml } from "../expect/from_audit.ts";
import { loadExpect } from "../expect/load.ts";
import { atomicWrite, notReplaceable } from "../lib/atomic_write.ts";
import { forTerminal } from "../lib/text.ts";
import { UserError } from "../lib/errors.ts";

/** The audit to start an order from, through the one audit reader (regular file, bounded, schema-checked). */
async function readAudit(path: string): Promise<Audit> {
  const l = await loadAudit(path);
  if (l.kind === "missing") throw new UserError(`cannot read audit ${path}: no such file`, 2);
  if (l.kind === "bad") {
    throw new UserError(`${path}: not a bee audit (${l.problem.replace(`${path} `, "")})`, 2);
  }
  return l.audit;
}

export function expectCommand(): Command {
  return new Command("expect")
    .description("make or check an expected bill of materials (the order bee audit --expect compares with)")
    .option(
      "--from-audit <audit.json>",
      "print a starting order file (YAML) from a known-good machine's audit",
    )
    .option("-o, --output <file>", "write it to this file instead of stdout")
    .option("--check <file>", "validate an order file and say what it lists")
    .action(async (opts: { fromAudit?: string; output?: string; check?: string }) => {
      if (opts.check) {
        const e = await loadExpect(opts.check);
        const n = ORDER_CATEGORIES
          .map((k) => `${k} ${e[k]?.reduce((s, l) => s + l.count, 0) ?? "-"}`).join(", ");
        console.log(forTerminal(`${opts.check}: valid${e.name ? ` (${e.name})` : ""}: ${n}`));
        return;
      }
      if (!opts.fromAudit) throw new UserError("say --from-audit AUDIT.json (or --check FILE)", 2);
      const audit = await readAudit(opts.fromAudit);
      const text = expectYaml(expectFromAudit(audit), opts.fromAudit);
      if (opts.output === "-" || opts.output === "/dev/stdout") opts.output = undefined;
      if (opts.output && notReplaceable(opts.output)) throw new UserError(notReplaceable(opts.output)!, 2);
      if (opts.output) {
        try {
          await atomicWrite(opts.output, text);
        } catch (e) {
          throw new UserError(`cannot write ${opts.output}: ${(e as Error).message}`);
        }
        console.error(`bee expect: order written to ${opts.output}`);
      } else await Deno.stdout.write(new TextEncoder().encode(text));
    });
}
