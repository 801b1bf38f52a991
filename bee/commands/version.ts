// `bee version`: prints bee's version and the git commit it was built from.
import { Command } from "commander";
import { BEE_VERSION, gitCommit } from "../version.ts";

/** Builds the `version` command. */
export function versionCommand(): Command {
  return new Command("version")
    .description("print bee's version and git commit")
    .action(() => {
      console.log(`bee ${BEE_VERSION} (commit ${gitCommit() ?? "unknown"})`);
    });
}
