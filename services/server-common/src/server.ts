import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { descriptorSetPath } from "@servesim/wire";
import type { Logger } from "pino";
import type { ServerConfig } from "./config.js";
import { HealthService } from "./health.js";
import { HealthPort } from "./healthPort.js";
import { addReflection } from "./reflection.js";

/** One gRPC service hosted by the server. */
export interface ServiceRegistration {
  /** Fully qualified name, e.g. "servesim.v1.PredictorService" (health status and reflection key). */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
  /**
   * Called once shutdown starts draining: finish the work already received on long-lived streams,
   * then end them. Unary calls drain by themselves.
   */
  drain?(): void;
  /** Called after the server has stopped (release caches, connections). */
  close?(): void | Promise<void>;
}

export interface StartServerOptions {
  config: ServerConfig;
  logger: Logger;
  services: ServiceRegistration[];
}

export interface ServerHandle {
  readonly server: Server;
  readonly host: string;
  /** The bound port (the real one when the configured port was 0). */
  readonly port: number;
  readonly health: HealthService;
  /**
   * Graceful stop: health NOT_SERVING, wait the shutdown delay, stop accepting calls, let in-flight
   * calls and streams drain, force after the grace period. Idempotent; resolves once stopped.
   */
  shutdown(reason?: string): Promise<void>;
  /** Cuts every call now. */
  forceShutdown(): void;
  /** Resolves once the server has stopped, however it was stopped. */
  readonly closed: Promise<void>;
}

/** gRPC channel options derived from the configuration. */
export function serverChannelOptions(config: ServerConfig): Record<string, number> {
  const options: Record<string, number> = {
    "grpc.max_receive_message_length": config.maxMessageBytes,
    "grpc.max_send_message_length": config.maxMessageBytes,
    "grpc.max_connection_age_ms": config.maxConnectionAgeMs,
    "grpc.keepalive_time_ms": config.keepaliveTimeMs,
    "grpc.keepalive_timeout_ms": config.keepaliveTimeoutMs,
  };
  if (config.maxConnectionAgeGraceMs !== undefined) options["grpc.max_connection_age_grace_ms"] = config.maxConnectionAgeGraceMs;
  return options;
}

function credentials(config: ServerConfig): ServerCredentials {
  const tls = config.tls;
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(tls.ca ?? null, [{ private_key: tls.key, cert_chain: tls.cert }], tls.ca !== undefined);
}

function bindAddress(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Starts a gRPC server hosting `services` plus grpc.health.v1 (overall "" and each service) and server
 * reflection, and returns a handle to stop it. Health turns SERVING once bound.
 */
export async function startGrpcServer(opts: StartServerOptions): Promise<ServerHandle> {
  const { config, logger, services } = opts;
  const server = new Server(serverChannelOptions(config));
  const names = services.map((s) => s.name);
  for (const s of services) server.addService(s.definition, s.implementation);

  const health = new HealthService(names);
  health.addToServer(server);

  const descriptorSet = config.descriptorSet ?? descriptorSetPath();
  if (config.reflection === false) {
    logger.info("server reflection off (SERVESIM_REFLECTION=false)");
  } else if (descriptorSet) {
    const undescribed = addReflection(server, descriptorSet, names);
    if (undescribed.length > 0) logger.warn({ descriptorSet, services: undescribed }, "reflection cannot describe these services (stale descriptor set?)");
  } else {
    logger.warn(
      "the descriptor set (services/wire/gen/servesim.binpb) was not found (run npm run gen or set SERVESIM_DESCRIPTOR_SET): server reflection disabled",
    );
  }

  const address = bindAddress(config.host, config.port);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentials(config), (err, bound) => (err ? reject(new Error(`cannot listen on ${address}: ${err.message}`)) : resolve(bound)));
  });
  let healthPort: HealthPort | undefined;
  if (config.healthPort !== undefined) {
    try {
      healthPort = await HealthPort.start({ host: config.host, port: config.healthPort, names: ["", ...names], stallMs: config.healthStallMs });
    } catch (err) {
      server.forceShutdown();
      throw err;
    }
    health.mirrorTo(healthPort);
  }
  health.setAll("SERVING");
  const auth = { tokens: config.authTokenFile !== undefined, jwt: config.authJwksFile !== undefined, mtls: config.authMtls ?? false };
  logger.info(
    {
      host: config.host,
      port,
      ...(healthPort ? { healthPort: healthPort.port } : {}),
      tls: config.tls !== undefined,
      mtls: config.tls?.ca !== undefined,
      auth,
      services: names,
    },
    "listening",
  );

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let stopping: Promise<void> | undefined;
  let stopped = false;
  let endDelay: (() => void) | undefined;

  const finish = async () => {
    if (stopped) return;
    stopped = true;
    await healthPort?.stop();
    for (const s of services) {
      try {
        await s.close?.();
      } catch (err) {
        logger.error({ err, service: s.name }, "service close failed");
      }
    }
    logger.info("stopped");
    resolveClosed();
  };

  const forceShutdown = () => {
    endDelay?.();
    health.setAll("NOT_SERVING");
    health.endWatches();
    server.forceShutdown();
    void finish();
  };

  const shutdown = (reason = "shutdown requested") => {
    stopping ??= (async () => {
      logger.info({ reason, graceMs: config.graceMs, shutdownDelayMs: config.shutdownDelayMs }, "shutting down");
      health.setAll("NOT_SERVING");
      if (config.shutdownDelayMs > 0 && !stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, config.shutdownDelayMs);
          endDelay = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      health.endWatches();
      for (const s of services) s.drain?.();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          logger.warn({ graceMs: config.graceMs }, "grace period over: cutting the calls still open");
          server.forceShutdown();
          resolve();
        }, config.graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await finish();
    })();
    return stopping;
  };

  return { server, host: config.host, port, health, shutdown, forceShutdown, closed };
}

/**
 * Stops the server gracefully on the first SIGTERM/SIGINT and forcibly on the second. Returns a
 * function that removes the handlers.
 */
export function handleShutdownSignals(
  handle: Pick<ServerHandle, "shutdown" | "forceShutdown">,
  logger: Logger,
  target: NodeJS.EventEmitter = process,
  signals: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"],
): () => void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received += 1;
    if (received === 1) {
      void handle.shutdown(`received ${signal}`);
    } else {
      logger.warn({ signal }, "second signal: forcing shutdown");
      handle.forceShutdown();
    }
  };
  for (const s of signals) target.on(s, onSignal);
  return () => {
    for (const s of signals) target.off(s, onSignal);
  };
}
