import { type ServiceError, status as Status } from "@grpc/grpc-js";

/**
 * A failed servesim call: the gRPC status as a number and a name, the server's details and, for
 * INVALID_ARGUMENT (details "<field>: <reason>"), the offending field.
 */
export class ServesimError extends Error {
  readonly code: number;
  readonly codeName: string;
  readonly details: string;
  readonly field?: string;
  /** INVALID_ARGUMENT: what is wrong with `field` (details without the field). */
  readonly reason?: string;

  constructor(code: number, details: string, options?: { cause?: unknown }) {
    const codeName = Status[code] ?? `UNKNOWN_CODE_${code}`;
    super(`${codeName}: ${details}`, options);
    this.name = "ServesimError";
    this.code = code;
    this.codeName = codeName;
    this.details = details;
    if (code === Status.INVALID_ARGUMENT) {
      const sep = details.indexOf(": ");
      if (sep > 0) {
        this.field = details.slice(0, sep);
        this.reason = details.slice(sep + 2);
      }
    }
  }
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === "number" && "details" in err;
}

/** Maps anything a grpc-js call can fail with to a ServesimError (the cause is kept). */
export function toServesimError(err: unknown): ServesimError {
  if (err instanceof ServesimError) return err;
  if (isServiceError(err)) return new ServesimError(err.code, err.details, { cause: err });
  if (err instanceof Error && err.name === "AbortError") return new ServesimError(Status.CANCELLED, err.message, { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new ServesimError(Status.UNKNOWN, message, { cause: err });
}

/** The error an aborted signal stands for (its reason's message when it has one). */
export function abortedError(signal: AbortSignal, what: string): ServesimError {
  const reason: unknown = signal.reason;
  const detail = reason instanceof Error ? reason.message : typeof reason === "string" ? reason : "";
  return new ServesimError(Status.CANCELLED, detail ? `${what} cancelled: ${detail}` : `${what} cancelled`);
}

/** Status codes worth another attempt: the server could not be reached or went away. */
export function isRetryable(err: ServesimError): boolean {
  return err.code === Status.UNAVAILABLE;
}
