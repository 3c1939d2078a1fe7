import { status as Status } from "@grpc/grpc-js";
import { CancelledError, FailedPreconditionError, InvalidArgumentError, NotFoundError, ResourceExhaustedError } from "@servesim/core";
import { ServesimError } from "@servesim/wire";
import type { CliIo } from "./io.js";

/** Exit codes: 1 the run failed, 2 invalid input (flags, files, INVALID_ARGUMENT), 130 interrupted. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/** A failure the user caused or can act on: printed as "error: <message>", no stack trace. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = EXIT_USAGE) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** The message and exit code a thrown value is reported with. */
export function describeFailure(err: unknown): { message: string; exitCode: number; stack?: string } {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (err instanceof InvalidArgumentError) return { message: `${err.field}: ${err.reason}`, exitCode: EXIT_USAGE };
  if (err instanceof CancelledError) return { message: err.message, exitCode: EXIT_INTERRUPTED };
  if (err instanceof NotFoundError || err instanceof FailedPreconditionError || err instanceof ResourceExhaustedError) {
    return { message: err.message, exitCode: EXIT_FAILURE };
  }
  if (err instanceof ServesimError) {
    const code = err.code === Status.INVALID_ARGUMENT ? EXIT_USAGE : err.code === Status.CANCELLED ? EXIT_INTERRUPTED : EXIT_FAILURE;
    return { message: `${err.codeName}: ${err.details}`, exitCode: code };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const fsCode = (e as NodeJS.ErrnoException).code;
  if (typeof fsCode === "string" && /^E[A-Z]+$/.test(fsCode)) return { message: e.message, exitCode: EXIT_FAILURE };
  return { message: `internal error: ${e.message}`, exitCode: EXIT_FAILURE, ...(e.stack ? { stack: e.stack } : {}) };
}

/** Runs a command body; failures are printed (stack only for internal errors with SERVESIM_DEBUG set) and set io.exitCode. */
export async function runAction(io: CliIo, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const f = describeFailure(err);
    io.stderr.write(`error: ${f.message}\n`);
    if (f.stack && process.env["SERVESIM_DEBUG"]) io.stderr.write(`${f.stack}\n`);
    io.exitCode = f.exitCode;
  }
}
