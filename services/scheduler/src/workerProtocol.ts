import {
  AlreadyExistsError,
  CancelledError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  isStatusError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  type StatusCodeName,
  UnauthenticatedError,
  UnavailableError,
} from "@servesim/core";
import type { RunnerLimits } from "@servesim/runner";
import { type ClientOptions, ServesimError } from "@servesim/wire";
import type { JobRunOutput, RunProgress } from "./jobExecutor.js";

/** What a run worker is started with. */
export interface RunWorkerInit {
  spec: Uint8Array;
  limits: Partial<RunnerLimits>;
  predictor: ClientOptions;
  progressEveryMs: number;
}

export interface SerializedError {
  name: string;
  message: string;
  code?: string | number;
  field?: string;
  reason?: string;
  details?: string;
}

/** What a run worker says: progress, a reconnect to log, the output, or the error it stopped with. */
export type FromRunWorker =
  | { progress: RunProgress }
  | { reconnect: { attempt: number; delayMs: number; code: string; details: string } }
  | { output: JobRunOutput }
  | { error: SerializedError };

export function serializeError(err: unknown): SerializedError {
  if (err instanceof ServesimError) return { name: "ServesimError", message: err.message, code: err.code, details: err.details };
  if (err instanceof InvalidArgumentError) return { name: err.name, message: err.message, code: err.code, field: err.field, reason: err.reason };
  if (isStatusError(err)) return { name: err.name, message: err.message, code: err.code };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: "Error", message: String(err) };
}

const BY_CODE: Partial<Record<StatusCodeName, new (message: string) => Error>> = {
  NOT_FOUND: NotFoundError,
  ALREADY_EXISTS: AlreadyExistsError,
  FAILED_PRECONDITION: FailedPreconditionError,
  RESOURCE_EXHAUSTED: ResourceExhaustedError,
  CANCELLED: CancelledError,
  DEADLINE_EXCEEDED: DeadlineExceededError,
  UNAVAILABLE: UnavailableError,
  UNAUTHENTICATED: UnauthenticatedError,
  PERMISSION_DENIED: PermissionDeniedError,
};

/** The error a worker reported, as the scheduler's own kinds (an unexpected one stays a plain Error: internal). */
export function deserializeError(e: SerializedError): Error {
  if (e.name === "ServesimError" && typeof e.code === "number") return new ServesimError(e.code, e.details ?? e.message);
  if (e.name === "InvalidArgumentError" && e.field !== undefined) return new InvalidArgumentError(e.field, e.reason ?? e.message);
  const kind = typeof e.code === "string" ? BY_CODE[e.code as StatusCodeName] : undefined;
  return kind ? new kind(e.message) : new Error(e.message);
}
