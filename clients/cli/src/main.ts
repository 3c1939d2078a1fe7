#!/usr/bin/env node
import { DEFAULT_EMULATED_VERSION } from "@servesim/report";
/**
 * The servesim CLI. Each command lives in its own module under commands/ and is registered here.
 */
import { Command } from "commander";
import { normalizeArgv } from "./argv.js";
import { calibrateCommand } from "./commands/calibrate.js";
import { catalogCommand } from "./commands/catalog.js";
import { healthCommand } from "./commands/health.js";
import { latencyCommand } from "./commands/latency.js";
import { prepareDatasetCommand } from "./commands/prepareDataset.js";
import { serveCommand } from "./commands/serve.js";
import { throughputCommand } from "./commands/throughput.js";
import { validateCommand } from "./commands/validate.js";
import { VERSION } from "./version.js";

const program = new Command("servesim")
  .description("GPU-free simulator of LLM serving (TensorRT-LLM's PyExecutor loop on a simulated clock)")
  .version(`servesim ${VERSION} (emulates trtllm-bench of TensorRT-LLM ${DEFAULT_EMULATED_VERSION.replace(/ \(sim\)$/, "")})`, "--version")
  .showHelpAfterError()
  .enablePositionalOptions();

for (const command of [
  serveCommand(),
  throughputCommand(),
  latencyCommand(),
  prepareDatasetCommand(),
  healthCommand(),
  calibrateCommand(),
  validateCommand(),
  catalogCommand(),
])
  program.addCommand(command);

await program.parseAsync(normalizeArgv(process.argv));
