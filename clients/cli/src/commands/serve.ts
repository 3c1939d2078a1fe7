import { loadPredictorServerConfig, type PredictorServerConfig, predictorSettings, startPredictorServer } from "@servesim/predictor-service";
import type { SettingsSources, SettingsSpec } from "@servesim/server-common";
import { createLogger, DEFAULT_PORTS, handleShutdownSignals, type Logger, type ServerConfig, type ServerHandle, serverSettings } from "@servesim/server-common";
import { Command, Option } from "commander";
import { schedulerService } from "./serveScheduler.js";

/**
 * Adds one --flag per setting of a spec (e.g. --port, --log-level), described with its environment
 * variable and default. Commander keys the parsed flags like the spec (camelCase), which is what
 * resolveSettings reads.
 */
export function addSettingsOptions(cmd: Command, spec: SettingsSpec): Command {
  for (const s of Object.values(spec)) {
    const dflt = s.default === undefined ? "" : `, default ${String(s.default)}`;
    cmd.addOption(new Option(`--${s.flag} ${s.arg}`, `${s.description} (env ${s.env}${dflt})`));
  }
  return cmd;
}

/**
 * Runs a server until SIGTERM/SIGINT (graceful drain; a second signal forces), then exits 0. A start
 * failure (bad configuration, port in use) is printed and exits 1.
 */
export async function runServer(service: string, start: (logger: Logger) => Promise<ServerHandle>, logger: Logger): Promise<void> {
  let handle: ServerHandle;
  try {
    handle = await start(logger);
  } catch (err) {
    logger.fatal({ err }, `cannot start the ${service} service`);
    process.exit(1);
  }
  handleShutdownSignals(handle, logger);
  await handle.closed;
  process.exit(0);
}

/** Reports a configuration error the way commander reports a bad flag. */
function configOrExit<T>(cmd: Command, load: () => T): T {
  try {
    return load();
  } catch (err) {
    cmd.error(`error: ${(err as Error).message}`, { exitCode: 2, code: "servesim.config" });
  }
}

/** What `serve <service>` needs to know about one service. */
export interface ServedService<C extends ServerConfig> {
  /** Subcommand and logger name, e.g. "predictor". */
  name: string;
  description: string;
  /** Every setting the service reads (one flag each). */
  settings: SettingsSpec;
  load(sources: SettingsSources): C;
  start(config: C, logger: Logger): Promise<ServerHandle>;
}

/** `serve <name>`: flags from the settings, configuration errors exit 2, then runs until a signal. */
export function serverCommand<C extends ServerConfig>(service: ServedService<C>): Command {
  const cmd = new Command(service.name).description(service.description);
  addSettingsOptions(cmd, service.settings);
  cmd.action(async (flags: Record<string, unknown>) => {
    const config = configOrExit(cmd, () => service.load({ env: process.env, flags }));
    const logger = createLogger({ name: service.name, level: config.logLevel, format: config.logFormat });
    await runServer(service.name, (log) => service.start(config, log), logger);
  });
  return cmd;
}

const predictor: ServedService<PredictorServerConfig> = {
  name: "predictor",
  description: `run the predictor gRPC service (servesim.v1.PredictorService, health, reflection; default port ${DEFAULT_PORTS.predictor})`,
  settings: { ...serverSettings(DEFAULT_PORTS.predictor), ...predictorSettings },
  load: loadPredictorServerConfig,
  start: startPredictorServer,
};

/** `servesim serve <service>`: runs one of the gRPC services in the foreground. */
export function serveCommand(): Command {
  return new Command("serve").description("run a servesim gRPC service").addCommand(serverCommand(predictor)).addCommand(serverCommand(schedulerService));
}
