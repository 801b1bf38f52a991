// The bee command-line program: wires the commands together, turns errors into one-line messages.
import { Command, CommanderError } from "commander";
import { auditCommand } from "./commands/audit.ts";
import { versionCommand } from "./commands/version.ts";
import { webCommand } from "./commands/web.ts";
import { satCommand } from "./commands/sat.ts";
import { tuiCommand } from "./commands/tui.ts";
import { expectCommand } from "./commands/expect.ts";
import { exportCommand } from "./commands/export.ts";
import { fleetCommand } from "./commands/fleet.ts";
import { ExitStatus, UserError } from "./lib/errors.ts";
import { BEE_VERSION } from "./version.ts";
import { forTerminal } from "./lib/text.ts";

function debugWanted(argv: string[]): boolean {
  if (argv.includes("--debug")) return true;
  try {
    return Deno.env.get("BEE_DEBUG") === "1";
  } catch {
    return false;
  }
}

/** Runs the CLI with `argv` (without the program name); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const debug = debugWanted(argv);
  const program = new Command("bee")
    .description("bee: offline hardware audit and burn-in for servers")
    .version(BEE_VERSION, "-V, --version-flag", "print the version")
    .option("--debug", "show stack traces on errors")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .addCommand(auditCommand())
    .addCommand(webCommand())
    .addCommand(satCommand())
    .addCommand(tuiCommand())
    .addCommand(expectCommand())
    .addCommand(exportCommand())
    .addCommand(fleetCommand())
    .addCommand(versionCommand());
  const override = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  program.commands.forEach(override);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof ExitStatus) return e.exitCode;
    if (e instanceof CommanderError) {
      // help and version exit 0; usage errors were already printed by commander
      return e.exitCode === 0 ? 0 : 2;
    }
    const msg = e instanceof Error ? e.message : String(e);
    console.error(forTerminal(`bee: ${msg.split("\n")[0]}`.slice(0, 1000)));
    if (debug && e instanceof Error && e.stack) console.error(e.stack);
    return e instanceof UserError ? e.exitCode : 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
