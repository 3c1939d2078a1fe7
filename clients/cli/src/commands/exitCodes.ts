import type { Command, CommanderError } from "commander";
import { EXIT_USAGE } from "../cliError.js";

/**
 * Makes commander's own errors (unknown option, bad value, missing argument) exit with the usage code 2
 * instead of 1; help and version still exit 0. Applied to a command and its subcommands.
 */
export function usageExitCodes(cmd: Command): Command {
  cmd.exitOverride((err: CommanderError) => {
    const code = err.exitCode === 0 ? 0 : EXIT_USAGE;
    process.exit(code);
  });
  for (const sub of cmd.commands) usageExitCodes(sub);
  return cmd;
}
