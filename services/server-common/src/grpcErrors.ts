import { Metadata, type ServiceError, status as Status } from "@grpc/grpc-js";
import { CancelledError, DeadlineExceededError, FailedPreconditionError, InvalidArgumentError, NotFoundError, ResourceExhaustedError } from "@servesim/core";
import type { Logger } from "pino";

/**
 * An error that carries its gRPC status as is (the nice-grpc `ServerError` style): throw it from a
 * handler when the code is decided at the gRPC edge.
 */
export class ServerError extends Error {
  readonly code: Status;
  readonly details: string;
  constructor(code: Status, details: string) {
    super(`${Status[code]}: ${details}`);
    this.name = "ServerError";
    this.code = code;
    this.details = details;
  }
}

/** The status a handler failure is answered with. */
export interface GrpcStatus {
  code: Status;
  details: string;
}

/**
 * Maps a thrown value to the status sent to the client. Domain errors keep their message; anything
 * else is INTERNAL "internal error" and is logged here with its stack (never sent to the client).
 */
export function toGrpcStatus(err: unknown, logger?: Logger, context?: Record<string, unknown>): GrpcStatus {
  if (err instanceof ServerError) return { code: err.code, details: err.details };
  if (err instanceof InvalidArgumentError) return { code: Status.INVALID_ARGUMENT, details: `${err.field}: ${err.reason}` };
  if (err instanceof NotFoundError) return { code: Status.NOT_FOUND, details: err.message };
  if (err instanceof FailedPreconditionError) return { code: Status.FAILED_PRECONDITION, details: err.message };
  if (err instanceof ResourceExhaustedError) return { code: Status.RESOURCE_EXHAUSTED, details: err.message };
  if (err instanceof CancelledError) return { code: Status.CANCELLED, details: err.message };
  if (err instanceof DeadlineExceededError) return { code: Status.DEADLINE_EXCEEDED, details: err.message };
  logger?.error({ ...context, err }, "internal error");
  return { code: Status.INTERNAL, details: "internal error" };
}

/** The same status as a grpc-js ServiceError (what handler callbacks and `call.emit("error")` take). */
export function toServiceError(err: unknown, logger?: Logger, context?: Record<string, unknown>): ServiceError {
  const s = toGrpcStatus(err, logger, context);
  return Object.assign(new Error(s.details), { code: s.code, details: s.details, metadata: new Metadata() });
}
