import type {
  handleBidiStreamingCall,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  Metadata,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { ANONYMOUS, type Authenticator } from "./auth.js";
import { type CallContext, createCallContext, type ServerCallLike } from "./callContext.js";
import { toServiceError } from "./grpcErrors.js";
import { requestErrorOf } from "./requestGuard.js";

/**
 * One step around every call of a service: it may look at or refuse the call (throw), enrich the
 * context, and must call next() to go on. The chain ends at the handler.
 */
export type Middleware = (ctx: CallContext, call: PipelineCall, next: () => Promise<void>) => Promise<void>;

/** What middleware sees of a call. */
export interface PipelineCall extends ServerCallLike {
  metadata: Metadata;
  /** Unary and server-streaming calls: the decoded request. */
  request?: unknown;
  getAuthContext?(): { sslPeerCertificate?: { subject?: { CN?: string | string[] } } } | undefined;
}

/** Answers a request the guarded decoder marked (requestGuard.ts) with its INVALID_ARGUMENT. */
export const rejectUndecodable: Middleware = async (_ctx, call, next) => {
  const error = requestErrorOf(call.request);
  if (error) throw error;
  await next();
};

/** Refuses calls past their deadline or already cancelled (before any work). */
export const checkDeadline: Middleware = async (ctx, _call, next) => {
  ctx.throwIfCancelled();
  await next();
};

/** Authenticates the call; the principal becomes ctx.principal (UNAUTHENTICATED otherwise). */
export function authenticate(authenticator: Authenticator): Middleware {
  return async (ctx, call, next) => {
    if (authenticator.enabled) {
      const cn = call.getAuthContext?.()?.sslPeerCertificate?.subject?.CN;
      ctx.principal = await authenticator.authenticate({
        metadata: call.metadata,
        ...(cn !== undefined ? { peerCommonName: Array.isArray(cn) ? cn[0]! : cn } : {}),
      });
    } else {
      ctx.principal = ANONYMOUS;
    }
    await next();
  };
}

/** One debug line per call (method, tenant, outcome, duration); failures are mapped by the pipeline. */
export const logCalls: Middleware = async (ctx, _call, next) => {
  const started = performance.now();
  try {
    await next();
    if (ctx.logger.isLevelEnabled("debug")) ctx.logger.debug({ tenant: ctx.principal.tenant, ms: Math.round(performance.now() - started) }, "call ok");
  } catch (err) {
    if (ctx.logger.isLevelEnabled("debug")) {
      ctx.logger.debug({ tenant: ctx.principal.tenant, ms: Math.round(performance.now() - started), code: toServiceError(err).code }, "call failed");
    }
    throw err;
  }
};

export interface PipelineOptions {
  logger: Logger;
  /** Default: no authentication (every call ANONYMOUS). */
  authenticator?: Authenticator;
  /** Extra middleware, run after the defaults (logging, deadline, authentication) and before the handler. */
  middleware?: Middleware[];
}

/**
 * The handler adapters of a service: each builds the call's context, runs the middleware chain
 * (logging, deadline, authentication, then any extra), runs the handler, and maps a thrown error to a
 * status in one place (toServiceError: typed errors keep their code, anything else is INTERNAL and
 * logged). Answers to calls cancelled meanwhile are dropped.
 */
export class CallPipeline {
  readonly logger: Logger;
  private readonly chain: Middleware[];
  /** Long-lived streams log their own open and close lines. */
  private readonly streamChain: Middleware[];

  constructor(opts: PipelineOptions) {
    this.logger = opts.logger;
    const auth = opts.authenticator ?? { enabled: false, authenticate: async () => ANONYMOUS };
    this.streamChain = [checkDeadline, authenticate(auth), ...(opts.middleware ?? [])];
    this.chain = [logCalls, rejectUndecodable, ...this.streamChain];
  }

  /** Runs the chain, then `handler`. */
  private run(ctx: CallContext, call: PipelineCall, handler: () => Promise<void>, chain = this.chain): Promise<void> {
    const step = (i: number): Promise<void> => (i < chain.length ? chain[i]!(ctx, call, () => step(i + 1)) : handler());
    return step(0);
  }

  unary<Req, Res>(method: string, fn: (request: Req, ctx: CallContext) => Res | Promise<Res>): handleUnaryCall<Req, Res> {
    return (call: ServerUnaryCall<Req, Res>, callback) => {
      const ctx = createCallContext(call, method, this.logger);
      let response: Res;
      this.run(ctx, call, async () => {
        response = await fn(call.request, ctx);
      }).then(
        () => {
          if (!call.cancelled) callback(null, response);
        },
        (err: unknown) => {
          if (!call.cancelled) callback(toServiceError(err, ctx.logger));
        },
      );
    };
  }

  /** A server-streaming call: the handler writes; the call ends when it resolves. */
  serverStream<Req, Res>(method: string, fn: (call: ServerWritableStream<Req, Res>, ctx: CallContext) => Promise<void>): handleServerStreamingCall<Req, Res> {
    return (call) => {
      const ctx = createCallContext(call, method, this.logger);
      this.run(ctx, call, () => fn(call, ctx)).then(
        () => {
          if (!call.cancelled) call.end();
        },
        (err: unknown) => {
          if (!call.cancelled) call.emit("error", toServiceError(err, ctx.logger));
        },
      );
    };
  }

  clientStream<Req, Res>(method: string, fn: (call: ServerReadableStream<Req, Res>, ctx: CallContext) => Promise<Res>): handleClientStreamingCall<Req, Res> {
    return (call, callback) => {
      const ctx = createCallContext(call, method, this.logger);
      let response: Res;
      this.run(ctx, call, async () => {
        response = await fn(call, ctx);
      }).then(
        () => {
          if (!call.cancelled) callback(null, response);
        },
        (err: unknown) => {
          if (!call.cancelled) callback(toServiceError(err, ctx.logger));
        },
      );
    };
  }

  /**
   * A bidirectional stream: the chain runs first (nothing is read before it passed: the stream stays
   * paused until the handler attaches its listeners), then `start` takes over the call; a refusal ends
   * the call with its status.
   */
  duplex<Req, Res>(method: string, start: (call: ServerDuplexStream<Req, Res>, ctx: CallContext) => void): handleBidiStreamingCall<Req, Res> {
    return this.takeover(method, start);
  }

  /** Like duplex, for any call a handler manages to its end itself (e.g. a server stream ended on an event). */
  takeover<C extends PipelineCall & { emit(event: "error", err: unknown): boolean }>(
    method: string,
    start: (call: C, ctx: CallContext) => void,
  ): (call: C) => void {
    return (call) => {
      const ctx = createCallContext(call, method, this.logger);
      this.run(ctx, call, async () => start(call, ctx), this.streamChain).catch((err: unknown) => {
        if (!call.cancelled) call.emit("error", toServiceError(err, ctx.logger));
      });
    };
  }
}
