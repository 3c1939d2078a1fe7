/**
 * Errors that carry a gRPC-style meaning without depending on gRPC. The services map them to status
 * codes at the edge (InvalidArgumentError → INVALID_ARGUMENT, ...); anything else becomes INTERNAL
 * without its message or stack.
 */
export class InvalidArgumentError extends Error {
  /** The offending field, as a dotted path (e.g. "batch.entries[3].input_length", "dataset line 12"). */
  readonly field: string;
  readonly reason: string;
  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.name = "InvalidArgumentError";
    this.field = field;
    this.reason = reason;
  }
}

export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
  }
}

export class FailedPreconditionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FailedPreconditionError";
  }
}

export class ResourceExhaustedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResourceExhaustedError";
  }
}

export class CancelledError extends Error {
  constructor(message = "cancelled") {
    super(message);
    this.name = "CancelledError";
  }
}

export class DeadlineExceededError extends Error {
  constructor(message = "deadline exceeded") {
    super(message);
    this.name = "DeadlineExceededError";
  }
}
