import { Metadata, type ServiceError, status as Status } from "@grpc/grpc-js";
import { isStatusError, type StatusCodeName, truncateText } from "@servesim/core";
import type { Logger } from "pino";

/** The one table from a domain error's code to the gRPC status it is answered with. */
export const GRPC_STATUS: Readonly<Record<StatusCodeName, Status>> = {
  INVALID_ARGUMENT: Status.INVALID_ARGUMENT,
  NOT_FOUND: Status.NOT_FOUND,
  ALREADY_EXISTS: Status.ALREADY_EXISTS,
  FAILED_PRECONDITION: Status.FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED: Status.RESOURCE_EXHAUSTED,
  CANCELLED: Status.CANCELLED,
  DEADLINE_EXCEEDED: Status.DEADLINE_EXCEEDED,
  UNAVAILABLE: Status.UNAVAILABLE,
  UNAUTHENTICATED: Status.UNAUTHENTICATED,
  PERMISSION_DENIED: Status.PERMISSION_DENIED,
};

/** The status a handler failure is answered with. */
export interface GrpcStatus {
  code: Status;
  details: string;
}

/** What every internal failure is answered with (the cause is in the server log). */
export const INTERNAL_DETAILS = "internal error";

/**
 * Maps a thrown value to the status sent to the client: a StatusError keeps its (bounded) message
 * under the code GRPC_STATUS gives; anything else is INTERNAL with INTERNAL_DETAILS and is logged
 * here with its stack, never sent.
 */
export function toGrpcStatus(err: unknown, logger?: Logger, context?: Record<string, unknown>): GrpcStatus {
  if (isStatusError(err)) return { code: GRPC_STATUS[err.code], details: truncateText(err.message) };
  logger?.error({ ...context, err }, "internal error");
  return { code: Status.INTERNAL, details: INTERNAL_DETAILS };
}

/** The same status as a grpc-js ServiceError (what handler callbacks and `call.emit("error")` take). */
export function toServiceError(err: unknown, logger?: Logger, context?: Record<string, unknown>): ServiceError {
  const s = toGrpcStatus(err, logger, context);
  return Object.assign(new Error(s.details), { code: s.code, details: s.details, metadata: new Metadata() });
}
