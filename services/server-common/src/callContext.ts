import type { handleUnaryCall } from "@grpc/grpc-js";
import { CancelledError, DeadlineExceededError } from "@servesim/core";
import type { Logger } from "pino";
import { ANONYMOUS, type Principal } from "./auth.js";
import { CallPipeline } from "./pipeline.js";

/** What a handler knows about its call besides the request. */
export interface CallContext {
  /** Aborted when the client cancels, the deadline passes or the server cuts the call. */
  readonly signal: AbortSignal;
  /** Absolute deadline in epoch milliseconds (Infinity when the client set none). */
  readonly deadline: number;
  readonly peer: string;
  /** Child logger carrying the method and peer. */
  readonly logger: Logger;
  /** Who the call is from (ANONYMOUS until the pipeline authenticated it, and when authentication is off). */
  principal: Principal;
  /** Throws CancelledError once the call is cancelled, DeadlineExceededError once past its deadline; call between units of work. */
  throwIfCancelled(): void;
}

/** The parts of a grpc-js server call a CallContext is built from (every call type has them). */
export interface ServerCallLike {
  cancelled: boolean;
  getDeadline(): Date | number;
  getPeer(): string;
  on(event: "cancelled", listener: () => void): unknown;
}

export function deadlineMs(call: Pick<ServerCallLike, "getDeadline">): number {
  const d = call.getDeadline();
  return d instanceof Date ? d.getTime() : d;
}

/** Builds the cancellation-aware context of one call. */
export function createCallContext(call: ServerCallLike, method: string, logger: Logger): CallContext {
  const controller = new AbortController();
  const deadline = deadlineMs(call);
  let peer = "unknown";
  try {
    peer = call.getPeer();
  } catch {
    // getPeer throws once the underlying stream is gone; keep "unknown".
  }
  call.on("cancelled", () => controller.abort(new CancelledError(`${method} cancelled by the client or its deadline`)));
  if (call.cancelled) controller.abort(new CancelledError(`${method} cancelled`));
  let child: Logger | undefined;
  return {
    signal: controller.signal,
    deadline,
    peer,
    principal: ANONYMOUS,
    // Created on first use: most calls never log.
    get logger() {
      return (child ??= logger.child({ method, peer }));
    },
    throwIfCancelled() {
      if (controller.signal.aborted || call.cancelled) throw new CancelledError(`${method} cancelled`);
      if (Date.now() > deadline) throw new DeadlineExceededError(`${method} deadline exceeded`);
    },
  };
}

/**
 * Adapts an async function to a grpc-js unary handler with the default pipeline (logging, deadline,
 * error mapping; no authentication): see CallPipeline.
 */
export function unaryHandler<Req, Res>(method: string, logger: Logger, fn: (request: Req, ctx: CallContext) => Res | Promise<Res>): handleUnaryCall<Req, Res> {
  return new CallPipeline({ logger }).unary(method, fn);
}
