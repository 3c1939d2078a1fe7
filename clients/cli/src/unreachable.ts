import { status as Status } from "@grpc/grpc-js";
import { ServesimError } from "@servesim/wire";
import { CliError, EXIT_FAILURE } from "./cliError.js";

/** The gist of grpc-js's "No connection established. Last error: ..." details. */
export function connectionProblem(details: string): string {
  if (/ECONNREFUSED/.test(details)) return "connection refused";
  if (/ENOTFOUND|EAI_AGAIN|Name resolution failed|DNS resolution failed|getaddrinfo/i.test(details)) return "host not found";
  if (/ETIMEDOUT|timed out|Deadline exceeded|deadline/i.test(details)) return "timed out";
  if (/ECONNRESET|socket hang up|closed|GOAWAY/i.test(details)) return "the connection was closed";
  if (/EHOSTUNREACH|ENETUNREACH/.test(details)) return "no route to the host";
  if (/certificate|SSL|TLS|handshake/i.test(details)) return "TLS handshake failed";
  const first = details
    .replace(/^(round_robin|pick_first): /, "")
    .split(/\.\s|\n/)[0]!
    .trim();
  return first.length > 80 ? `${first.slice(0, 80)}…` : first || "unavailable";
}

/**
 * Runs a call against a service; when the service cannot be reached (UNAVAILABLE, or a deadline while
 * connecting) the error becomes one line naming the service, its address and what went wrong.
 */
export async function reaching<T>(service: "scheduler" | "predictor", address: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (
      err instanceof ServesimError &&
      (err.code === Status.UNAVAILABLE || (err.code === Status.DEADLINE_EXCEEDED && /connect|No connection/i.test(err.details)))
    ) {
      throw new CliError(
        `cannot reach the ${service} at ${address} (${connectionProblem(err.details)}); is \`servesim serve ${service}\` running there?`,
        EXIT_FAILURE,
      );
    }
    throw err;
  }
}
