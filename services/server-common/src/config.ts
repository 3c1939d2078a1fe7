import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "@servesim/core";
import {
  booleanSetting,
  byteSizeSetting,
  enumSetting,
  integerSetting,
  listSetting,
  nonEmptySetting,
  optionalSetting,
  resolveSettings,
  type SettingsSources,
  type SettingsValues,
  setting,
} from "./settings.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ["json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Default listening ports of the two services. */
export const DEFAULT_PORTS = { predictor: 50051, scheduler: 50052 } as const;

const MAX_MESSAGE_LIMIT = 2 ** 31 - 1;
export const DAY_MS = 24 * 3600 * 1000;

/**
 * The settings every servesim gRPC server shares. `port` is filled per service by serverSettings();
 * flags are keyed like commander keys them (--max-message-bytes → maxMessageBytes).
 */
export function serverSettings(defaultPort: number) {
  return {
    host: setting({
      env: "SERVESIM_HOST",
      flag: "host",
      arg: "<host>",
      description: "address to listen on (another than loopback needs authentication or --insecure)",
      schema: nonEmptySetting("host name or address"),
      default: "127.0.0.1",
    }),
    insecure: setting({
      env: "SERVESIM_INSECURE",
      flag: "insecure",
      arg: "[bool]",
      description: "allow listening on a non-loopback address without authentication (a trusted network only)",
      schema: booleanSetting(),
      default: false,
    }),
    reflection: setting({
      env: "SERVESIM_REFLECTION",
      flag: "reflection",
      arg: "<bool>",
      description: "serve gRPC server reflection (grpcurl, Postman); health is always served",
      schema: booleanSetting(),
      default: true,
    }),
    authTokenFile: optionalSetting({
      env: "SERVESIM_AUTH_TOKEN_FILE",
      flag: "auth-token-file",
      arg: "<path>",
      description: "bearer tokens, one '<tenant> <token>' per line ('#' comments): calls must carry 'authorization: Bearer <token>'",
      schema: nonEmptySetting("path"),
    }),
    authJwksFile: optionalSetting({
      env: "SERVESIM_AUTH_JWKS_FILE",
      flag: "auth-jwks-file",
      arg: "<path>",
      description: "JSON Web Key Set verifying bearer JWTs (needs --auth-jwt-issuer)",
      schema: nonEmptySetting("path"),
    }),
    authJwtIssuer: optionalSetting({
      env: "SERVESIM_AUTH_JWT_ISSUER",
      flag: "auth-jwt-issuer",
      arg: "<iss>",
      description: "the issuer (iss) a JWT must carry",
      schema: nonEmptySetting("issuer"),
    }),
    authJwtAudience: optionalSetting({
      env: "SERVESIM_AUTH_JWT_AUDIENCE",
      flag: "auth-jwt-audience",
      arg: "<aud>",
      description: "the audience (aud) a JWT must carry (unchecked when unset)",
      schema: nonEmptySetting("audience"),
    }),
    authJwtTenantClaim: setting({
      env: "SERVESIM_AUTH_JWT_TENANT_CLAIM",
      flag: "auth-jwt-tenant-claim",
      arg: "<claim>",
      description: "the JWT claim naming the caller's tenant",
      schema: nonEmptySetting("claim name"),
      default: "tenant",
    }),
    authMtls: setting({
      env: "SERVESIM_AUTH_MTLS",
      flag: "auth-mtls",
      arg: "[bool]",
      description: "authenticate callers by their client certificate (needs --tls-ca); the tenant is the certificate's CN",
      schema: booleanSetting(),
      default: false,
    }),
    dataRoots: setting({
      env: "SERVESIM_DATA_ROOT",
      flag: "data-root",
      arg: "<dirs>",
      description:
        "directories (comma-separated) inside which request fields may name server files (AIC systems, model configs); none = request fields never name server files",
      schema: listSetting(),
      default: [] as string[],
    }),
    maxDataFileBytes: setting({
      env: "SERVESIM_MAX_DATA_FILE_BYTES",
      flag: "max-data-file-bytes",
      arg: "<bytes>",
      description: "largest server file a request may name inside the data roots",
      schema: byteSizeSetting(1024, 2 ** 40),
      default: 16 * 1024 * 1024,
    }),
    port: setting({
      env: "SERVESIM_PORT",
      flag: "port",
      arg: "<port>",
      description: "TCP port (0 = any free port)",
      schema: integerSetting(0, 65535),
      default: defaultPort,
    }),
    logLevel: setting({
      env: "SERVESIM_LOG_LEVEL",
      flag: "log-level",
      arg: "<level>",
      description: `log level (${LOG_LEVELS.join(", ")})`,
      schema: enumSetting(LOG_LEVELS),
      default: "info" as LogLevel,
    }),
    logFormat: setting({
      env: "SERVESIM_LOG_FORMAT",
      flag: "log-format",
      arg: "<format>",
      description: "json (one JSON object per line) or pretty (for humans)",
      schema: enumSetting(LOG_FORMATS),
      default: "json" as LogFormat,
    }),
    maxMessageBytes: setting({
      env: "SERVESIM_MAX_MESSAGE_BYTES",
      flag: "max-message-bytes",
      arg: "<bytes>",
      description: "largest message received or sent (e.g. 67108864 or 64MiB)",
      schema: byteSizeSetting(1024, MAX_MESSAGE_LIMIT),
      default: 64 * 1024 * 1024,
    }),
    tlsCert: optionalSetting({
      env: "SERVESIM_TLS_CERT",
      flag: "tls-cert",
      arg: "<path>",
      description: "PEM server certificate chain (enables TLS; needs --tls-key)",
      schema: nonEmptySetting("path"),
    }),
    tlsKey: optionalSetting({
      env: "SERVESIM_TLS_KEY",
      flag: "tls-key",
      arg: "<path>",
      description: "PEM private key of the server certificate",
      schema: nonEmptySetting("path"),
    }),
    tlsCa: optionalSetting({
      env: "SERVESIM_TLS_CA",
      flag: "tls-ca",
      arg: "<path>",
      description: "PEM CA bundle; when set, clients must present a certificate it signed (mTLS)",
      schema: nonEmptySetting("path"),
    }),
    graceMs: setting({
      env: "SERVESIM_GRACE_MS",
      flag: "grace-ms",
      arg: "<ms>",
      description: "on SIGTERM/SIGINT, how long in-flight calls may drain before they are cut",
      schema: integerSetting(0, DAY_MS),
      default: 10_000,
    }),
    healthPort: optionalSetting({
      env: "SERVESIM_HEALTH_PORT",
      flag: "health-port",
      arg: "<port>",
      description:
        "also serve grpc.health.v1 (only) on this port, plaintext, from a thread of its own: a busy service answers its probes at once (0: any free port)",
      schema: integerSetting(0, 65535),
    }),
    healthStallMs: setting({
      env: "SERVESIM_HEALTH_STALL_MS",
      flag: "health-stall-ms",
      arg: "<ms>",
      description: "the health port reports NOT_SERVING once the service's event loop has not turned for this long",
      schema: integerSetting(200, DAY_MS),
      default: 10_000,
    }),
    shutdownDelayMs: setting({
      env: "SERVESIM_SHUTDOWN_DELAY_MS",
      flag: "shutdown-delay-ms",
      arg: "<ms>",
      description: "on SIGTERM/SIGINT, how long to keep serving while health reports NOT_SERVING",
      schema: integerSetting(0, DAY_MS),
      default: 0,
    }),
    maxConnectionAgeMs: setting({
      env: "SERVESIM_MAX_CONNECTION_AGE_MS",
      flag: "max-connection-age-ms",
      arg: "<ms>",
      description: "close client connections after this age (GOAWAY) so clients rebalance onto new replicas",
      schema: integerSetting(1, DAY_MS),
      default: 300_000,
    }),
    maxConnectionAgeGraceMs: optionalSetting({
      env: "SERVESIM_MAX_CONNECTION_AGE_GRACE_MS",
      flag: "max-connection-age-grace-ms",
      arg: "<ms>",
      description: "how long calls on an aged connection may continue (default: until they end)",
      schema: integerSetting(0, DAY_MS),
    }),
    keepaliveTimeMs: setting({
      env: "SERVESIM_KEEPALIVE_TIME_MS",
      flag: "keepalive-time-ms",
      arg: "<ms>",
      description: "interval of server HTTP/2 keepalive pings",
      schema: integerSetting(1000, DAY_MS),
      default: 30_000,
    }),
    keepaliveTimeoutMs: setting({
      env: "SERVESIM_KEEPALIVE_TIMEOUT_MS",
      flag: "keepalive-timeout-ms",
      arg: "<ms>",
      description: "close the connection when a keepalive ping is not answered within this time",
      schema: integerSetting(1000, DAY_MS),
      default: 20_000,
    }),
    descriptorSet: optionalSetting({
      env: "SERVESIM_DESCRIPTOR_SET",
      flag: "descriptor-set",
      arg: "<path>",
      description: "protobuf descriptor set served by reflection (default: gen/servesim.binpb of the install)",
      schema: nonEmptySetting("path"),
    }),
  };
}

export type ServerSettings = ReturnType<typeof serverSettings>;

/** PEM material read from the configured paths. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** Set when client certificates are required. */
  ca?: Buffer;
}

export type ServerConfig = SettingsValues<ServerSettings> & { tls?: TlsMaterial };

/** True for the addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Whether the configuration authenticates callers (a token file, JWTs or client certificates). */
export function authEnabled(c: Pick<ServerConfig, "authTokenFile" | "authJwksFile" | "authMtls">): boolean {
  return c.authTokenFile !== undefined || c.authJwksFile !== undefined || c.authMtls;
}

/**
 * Resolves and validates a server configuration from flags and the environment (flags win) and reads
 * the TLS files. Errors name the flag or variable at fault. Listening beyond loopback without
 * authentication needs SERVESIM_INSECURE (--insecure).
 */
export function loadServerConfig(defaultPort: number, sources: SettingsSources): ServerConfig {
  const values = resolveSettings(serverSettings(defaultPort), sources);
  const config: ServerConfig = { ...values, tls: readTls(values) };
  if (config.authMtls && config.tls?.ca === undefined) {
    throw new InvalidArgumentError("SERVESIM_AUTH_MTLS (--auth-mtls)", "needs SERVESIM_TLS_CA (--tls-ca): client certificates are checked against it");
  }
  if ((config.authJwksFile === undefined) !== (config.authJwtIssuer === undefined)) {
    throw new InvalidArgumentError("SERVESIM_AUTH_JWKS_FILE (--auth-jwks-file)", "and SERVESIM_AUTH_JWT_ISSUER (--auth-jwt-issuer) go together");
  }
  if (!isLoopback(config.host) && !authEnabled(config) && !config.insecure) {
    throw new InvalidArgumentError(
      "SERVESIM_HOST (--host)",
      `${config.host} is reachable from other machines but no authentication is configured (--auth-token-file, --auth-jwks-file, --auth-mtls); pass --insecure (SERVESIM_INSECURE=true) on a trusted network`,
    );
  }
  return config;
}

function readTls(v: { tlsCert?: string; tlsKey?: string; tlsCa?: string }): TlsMaterial | undefined {
  if (v.tlsCert === undefined && v.tlsKey === undefined) {
    if (v.tlsCa !== undefined) throw new InvalidArgumentError("SERVESIM_TLS_CA (--tls-ca)", "requires SERVESIM_TLS_CERT and SERVESIM_TLS_KEY");
    return undefined;
  }
  if (v.tlsCert === undefined) throw new InvalidArgumentError("SERVESIM_TLS_CERT (--tls-cert)", "is required when SERVESIM_TLS_KEY is set");
  if (v.tlsKey === undefined) throw new InvalidArgumentError("SERVESIM_TLS_KEY (--tls-key)", "is required when SERVESIM_TLS_CERT is set");
  return {
    cert: readPem(v.tlsCert, "SERVESIM_TLS_CERT (--tls-cert)"),
    key: readPem(v.tlsKey, "SERVESIM_TLS_KEY (--tls-key)"),
    ca: v.tlsCa === undefined ? undefined : readPem(v.tlsCa, "SERVESIM_TLS_CA (--tls-ca)"),
  };
}

/** Reads a PEM file; a missing file or one without a PEM block is an InvalidArgumentError naming `field`. */
export function readPem(path: string, field: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    throw new InvalidArgumentError(field, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!data.toString("latin1").includes("-----BEGIN ")) throw new InvalidArgumentError(field, `${path} is not a PEM file`);
  return data;
}
