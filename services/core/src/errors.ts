/**
 * Errors that carry a gRPC-style meaning without depending on gRPC. Every error a user may see is a
 * StatusError; the services map its `code` to a gRPC status in one table (server-common's
 * grpcErrors.ts). Anything else is an internal error: logged, never shown (no message, no stack).
 */
export type StatusCodeName =
  | "INVALID_ARGUMENT"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "FAILED_PRECONDITION"
  | "RESOURCE_EXHAUSTED"
  | "CANCELLED"
  | "DEADLINE_EXCEEDED"
  | "UNAVAILABLE"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED";

/** Longest message a StatusError carries to a client; longer ones are cut (they may echo client input). */
export const MAX_ERROR_MESSAGE = 1024;

/** Cuts `text` to `max` characters, saying how much was cut. */
export function truncateText(text: string, max = MAX_ERROR_MESSAGE): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** Shows a client-supplied value in an error: JSON-quoted and cut to `max` characters. */
export function quoteInput(value: unknown, max = 80): string {
  const s = typeof value === "string" ? value : String(value);
  return s.length > max ? `${JSON.stringify(s.slice(0, max))}… (${s.length} characters)` : JSON.stringify(s);
}

/** An error whose message is meant for the client, with the status it stands for. */
export abstract class StatusError extends Error {
  abstract readonly code: StatusCodeName;
  constructor(message: string) {
    super(truncateText(message));
  }
}

export function isStatusError(err: unknown): err is StatusError {
  return err instanceof StatusError;
}

export class InvalidArgumentError extends StatusError {
  readonly code = "INVALID_ARGUMENT";
  /** The offending field, as a dotted path (e.g. "batch.entries[3].input_length", "dataset line 12"). */
  readonly field: string;
  readonly reason: string;
  constructor(field: string, reason: string) {
    const f = truncateText(field, 256);
    const r = truncateText(reason, MAX_ERROR_MESSAGE - f.length);
    super(`${f}: ${r}`);
    this.name = "InvalidArgumentError";
    this.field = f;
    this.reason = r;
  }
}

export class NotFoundError extends StatusError {
  readonly code = "NOT_FOUND";
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
  }
}

export class AlreadyExistsError extends StatusError {
  readonly code = "ALREADY_EXISTS";
  constructor(message: string) {
    super(message);
    this.name = "AlreadyExistsError";
  }
}

export class FailedPreconditionError extends StatusError {
  readonly code = "FAILED_PRECONDITION";
  constructor(message: string) {
    super(message);
    this.name = "FailedPreconditionError";
  }
}

export class ResourceExhaustedError extends StatusError {
  readonly code = "RESOURCE_EXHAUSTED";
  constructor(message: string) {
    super(message);
    this.name = "ResourceExhaustedError";
  }
}

export class CancelledError extends StatusError {
  readonly code = "CANCELLED";
  constructor(message = "cancelled") {
    super(message);
    this.name = "CancelledError";
  }
}

export class DeadlineExceededError extends StatusError {
  readonly code = "DEADLINE_EXCEEDED";
  constructor(message = "deadline exceeded") {
    super(message);
    this.name = "DeadlineExceededError";
  }
}

/** The server cannot take the call now (shutting down, a dependency is down): retry, elsewhere. */
export class UnavailableError extends StatusError {
  readonly code = "UNAVAILABLE";
  constructor(message: string) {
    super(message);
    this.name = "UnavailableError";
  }
}

export class UnauthenticatedError extends StatusError {
  readonly code = "UNAUTHENTICATED";
  constructor(message: string) {
    super(message);
    this.name = "UnauthenticatedError";
  }
}

export class PermissionDeniedError extends StatusError {
  readonly code = "PERMISSION_DENIED";
  constructor(message: string) {
    super(message);
    this.name = "PermissionDeniedError";
  }
}
