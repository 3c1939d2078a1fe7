#!/usr/bin/env node
/**
 * The servesim CLI. Each command lives in its own module under commands/ and is registered here.
 */
import { Command } from "commander";
import { normalizeArgv } from "./argv.js";
import { calibrateCommand } from "./commands/calibrate.js";
import { catalogCommand } from "./commands/catalog.js";
import { healthCommand } from "./commands/health.js";
import { prepareDatasetCommand } from "./commands/prepareDataset.js";
import { serveCommand } from "./commands/serve.js";
import { throughputCommand } from "./commands/throughput.js";
import { validateCommand } from "./commands/validate.js";

const program = new Command("servesim")
  .description("GPU-free simulator of LLM serving (TensorRT-LLM's PyExecutor loop on a simulated clock)")
  .showHelpAfterError()
  .enablePositionalOptions();

for (const command of [serveCommand(), throughputCommand(), prepareDatasetCommand(), healthCommand(), calibrateCommand(), validateCommand(), catalogCommand()])
  program.addCommand(command);

await program.parseAsync(normalizeArgv(process.argv));
