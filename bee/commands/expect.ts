// `bee expect --from-audit AUDIT.json [--output FILE]`: a starting expected bill of materials (YAML) from a
// known-good machine's audit; `bee expect --check FILE` validates an order file against its schema.
import { Command } from "commander";
import { Audit } from "../audit/schema.ts";
import { expectFromAudit, expectYaml } from "../expect/from_audit.ts";
import { loadExpect } from "../expect/load.ts";
import { atomicWrite, notReplaceable } from "../lib/atomic_write.ts";
import { forTerminal } from "../lib/text.ts";
import { UserError } from "../lib/errors.ts";
import { readRegularText } from "../lib/machine.ts";

/** Largest audit file read (an 8-GPU server's audit is well under 1 MiB). */
const MAX_AUDIT = 64 * 1024 * 1024;

async function readAudit(path: string): Promise<Audit> {
  const st = await Deno.stat(path).catch(() => null);
  if (!st) throw new UserError(`cannot read audit ${path}: no such file`, 2);
  if (!st.isFile) throw new UserError(`cannot read audit ${path}: not a regular file`, 2);
  const text = await readRegularText(path, MAX_AUDIT);
  let data: unknown;
  try {
    data = JSON.parse(text ?? "");
  } catch {
    throw new UserError(`${path}: not JSON (an audit written by bee audit is expected)`, 2);
  }
  const r = Audit.safeParse(data);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new UserError(
      `${path}: not a bee audit (${i.path.join(".") || "top"}: ${i.message.slice(0, 120)})`,
      2,
    );
  }
  return r.data;
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
        const n = (["cpus", "memory", "disks", "gpus", "nics", "psus"] as const)
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
