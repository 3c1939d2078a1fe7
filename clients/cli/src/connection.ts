import { readFileSync } from "node:fs";
import type { ClientOptions } from "@servesim/wire";
import { CliError } from "./cliError.js";

/** The connection settings of the servesim CLI as a client: TLS and a bearer token, from the environment (the root flags set it). */
export const CLIENT_ENV = {
  token: "SERVESIM_TOKEN",
  tokenFile: "SERVESIM_TOKEN_FILE",
  tlsCa: "SERVESIM_CLIENT_TLS_CA",
  tlsCert: "SERVESIM_CLIENT_TLS_CERT",
  tlsKey: "SERVESIM_CLIENT_TLS_KEY",
} as const;

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new CliError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * TLS (a CA, and a client certificate for mTLS) and the bearer token for the scheduler and predictor
 * services: --tls-ca / --tls-cert / --tls-key / --token-file before the command, or SERVESIM_CLIENT_TLS_CA,
 * SERVESIM_CLIENT_TLS_CERT, SERVESIM_CLIENT_TLS_KEY, SERVESIM_TOKEN (or SERVESIM_TOKEN_FILE).
 */
export function connectionOptions(env: NodeJS.ProcessEnv = process.env): Pick<ClientOptions, "tls" | "token"> {
  const out: Pick<ClientOptions, "tls" | "token"> = {};
  const tokenFile = env[CLIENT_ENV.tokenFile]?.trim();
  const token = env[CLIENT_ENV.token]?.trim() || (tokenFile ? read(tokenFile, "token file").toString("utf8").trim() : "");
  if (token) out.token = token;
  const [ca, cert, key] = [env[CLIENT_ENV.tlsCa], env[CLIENT_ENV.tlsCert], env[CLIENT_ENV.tlsKey]].map((v) => v?.trim() || undefined);
  if ((cert === undefined) !== (key === undefined)) throw new CliError("--tls-cert and --tls-key go together (a client certificate and its key)");
  if (ca !== undefined || cert !== undefined) {
    out.tls = {
      ...(ca !== undefined ? { ca: read(ca, "CA bundle") } : {}),
      ...(cert !== undefined ? { cert: read(cert, "client certificate") } : {}),
      ...(key !== undefined ? { key: read(key, "client key") } : {}),
    };
  }
  return out;
}
