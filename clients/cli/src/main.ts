#!/usr/bin/env node
/**
 * The servesim CLI. Each command lives in its own module under commands/ and is registered here. Only
 * the module of the command being run is loaded (start-up time is part of every run); help, --version
 * and unknown commands load them all.
 */
import { DEFAULT_EMULATED_VERSION } from "@servesim/report";
import { Command } from "commander";
import { normalizeArgv } from "./argv.js";
import { VERSION } from "./version.js";

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import("./commands/serve.js")).serveCommand(),
  throughput: async () => (await import("./commands/throughput.js")).throughputCommand(),
  latency: async () => (await import("./commands/latency.js")).latencyCommand(),
  "prepare-dataset": async () => (await import("./commands/prepareDataset.js")).prepareDatasetCommand(),
  health: async () => (await import("./commands/health.js")).healthCommand(),
  jobs: async () => (await import("./commands/jobs.js")).jobsCommand(),
  calibrate: async () => (await import("./commands/calibrate.js")).calibrateCommand(),
  validate: async () => (await import("./commands/validate.js")).validateCommand(),
  catalog: async () => (await import("./commands/catalog.js")).catalogCommand(),
  sweep: async () => (await import("./commands/sweep.js")).sweepCommand(),
  search: async () => (await import("./commands/search.js")).searchCommand(),
};

const argv = normalizeArgv(process.argv);
const program = new Command("servesim")
  .description("GPU-free simulator of LLM serving (TensorRT-LLM's PyExecutor loop on a simulated clock)")
  .version(`servesim ${VERSION} (emulates trtllm-bench of TensorRT-LLM ${DEFAULT_EMULATED_VERSION.replace(/ \(sim\)$/, "")})`, "--version")
  .showHelpAfterError()
  .enablePositionalOptions()
  // Client connection settings for the scheduler and predictor services (before the command).
  .option("--tls-ca <path>", "PEM CA of the services' certificate: connect with TLS (env SERVESIM_CLIENT_TLS_CA)")
  .option("--tls-cert <path>", "PEM client certificate for mTLS (env SERVESIM_CLIENT_TLS_CERT)")
  .option("--tls-key <path>", "PEM key of the client certificate (env SERVESIM_CLIENT_TLS_KEY)")
  .option("--token-file <path>", "file holding the bearer token sent to the services (env SERVESIM_TOKEN_FILE, or SERVESIM_TOKEN)")
  .hook("preAction", (root) => {
    const o = root.opts<{ tlsCa?: string; tlsCert?: string; tlsKey?: string; tokenFile?: string }>();
    if (o.tlsCa) process.env["SERVESIM_CLIENT_TLS_CA"] = o.tlsCa;
    if (o.tlsCert) process.env["SERVESIM_CLIENT_TLS_CERT"] = o.tlsCert;
    if (o.tlsKey) process.env["SERVESIM_CLIENT_TLS_KEY"] = o.tlsKey;
    if (o.tokenFile) process.env["SERVESIM_TOKEN_FILE"] = o.tokenFile;
  });

// The first argument that is no option names the command (trtllm-bench's global options come after it).
const named = argv.slice(2).find((a) => !a.startsWith("-"));
const wanted = named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);

// No top-level await: the bundle is CommonJS (scripts/bundle-cli.mjs), so that V8's code cache can serve it.
// A rejection is left unhandled, which prints it and exits 1 as an uncaught error at the top level did.
void (async () => {
  for (const name of wanted) program.addCommand(await COMMANDS[name]!());
  await program.parseAsync(argv);
})();
