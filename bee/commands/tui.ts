// `bee tui`: the operator menu on tty1 (or any terminal).
import { Command, InvalidArgumentError } from "commander";
import { PATHS } from "../lib/paths.ts";
import { UserError } from "../lib/errors.ts";
import { runTui } from "../tui/app.ts";

/** Builds the `tui` command. */
export function tuiCommand(): Command {
  return new Command("tui")
    .description("the operator menu: hardware summary, audit, acceptance tests, SAT results, network, shell")
    .option(
      "--runtime <kind>",
      "livecd (tty1 of the live ISO: reboot and power off offered) or host",
      (v: string) => {
        if (v !== "livecd" && v !== "host") throw new InvalidArgumentError("expected livecd or host");
        return v;
      },
      "host",
    )
    .option("--audit <file>", "audit JSON", PATHS.audit)
    .option("--sat-dir <dir>", "SAT archive directory", PATHS.satDir)
    .option("--sat-lock <file>", "the lock that allows one SAT at a time", PATHS.satLock)
    .action(async (o: { runtime: "livecd" | "host"; audit: string; satDir: string; satLock: string }) => {
      if (!Deno.stdin.isTerminal()) throw new UserError("bee tui needs a terminal (stdin is not a tty)");
      // the launcher that started us (bin/bee exports it); a bundle has no ../../bin beside it
      const bee = Deno.env.get("BEE_LAUNCHER") || new URL("../../bin/bee", import.meta.url).pathname;
      await runTui({ runtime: o.runtime, audit: o.audit, satDir: o.satDir, satLock: o.satLock, bee });
    });
}
