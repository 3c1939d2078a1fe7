import { type ServerDuplexStream, status as Status } from "@grpc/grpc-js";
import type { BatchPredictor } from "@servesim/core";
import { CancelledError, DeadlineExceededError, FailedPreconditionError, InvalidArgumentError, UnavailableError } from "@servesim/core";
import { type CallContext, createCallContext, requestErrorOf, toServiceError } from "@servesim/server-common";
import { type DecodeRunLimits, type DecodeRunSpec, decodeDecodeRun, decodeRunBatches, decodeSimBatch } from "@servesim/wire";
import type { PredictStreamRequest, PredictStreamResponse } from "@servesim/wire/predictor";
import type { Logger } from "pino";
import { breakdownOf, priceBatch, priceDecodeRun, priceStaged } from "./pricing.js";
import { type PredictorDeps, predictorFor } from "./serviceDeps.js";

/** Messages read ahead of the one being priced before the stream is paused (HTTP/2 flow control then pushes back). */
const READ_AHEAD = 64;
/** Decode-run steps priced between two yields to the event loop (cancellation, other calls). */
const STEPS_PER_YIELD = 2048;

type Call = ServerDuplexStream<PredictStreamRequest, PredictStreamResponse>;

export interface PredictStreamDeps {
  deps: PredictorDeps;
  limits: DecodeRunLimits;
  logger: Logger;
}

/** Re-labels a domain error with the index of the stream message that caused it. */
function atMessage(err: unknown, index: number): unknown {
  if (err instanceof InvalidArgumentError) return new InvalidArgumentError(`message[${index}].${err.field}`, err.reason);
  if (err instanceof FailedPreconditionError) return new FailedPreconditionError(`message[${index}]: ${err.message}`);
  return err;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

const hasDecodeRuns = (p: BatchPredictor): p is BatchPredictor & Required<Pick<BatchPredictor, "predictDecodeRun">> => typeof p.predictDecodeRun === "function";

/**
 * One PredictStream: message 0 configures the predictor, every later message is a batch or a decode
 * run answered in order with its sequence echoed. Messages are priced one at a time; the first bad
 * message ends the stream with its status. drain() answers what was already received, then ends the
 * stream with UNAVAILABLE so the client resends the rest elsewhere.
 */
export class PredictStreamSession {
  private readonly ctx: CallContext;
  private readonly queue: Array<{ message: PredictStreamRequest; index: number }> = [];
  private nextIndex = 0;
  private predictor: BatchPredictor | undefined;
  private busy = false;
  private paused = false;
  private halfClosed = false;
  private draining = false;
  private done = false;
  private answered = 0;
  private readonly startedAt = Date.now();

  constructor(
    private readonly call: Call,
    private readonly deps: PredictStreamDeps,
    private readonly onDone: (session: PredictStreamSession) => void,
    ctx?: CallContext,
  ) {
    this.ctx = ctx ?? createCallContext(call, "PredictStream", deps.logger);
    this.ctx.logger.info("stream opened");
    call.on("data", (message: PredictStreamRequest) => this.receive(message));
    call.on("end", () => {
      this.halfClosed = true;
      void this.pump();
    });
    this.ctx.signal.addEventListener("abort", () => this.finish("cancelled", Status.CANCELLED, "cancelled by the client or its deadline"));
  }

  /** Stops reading; answers the messages already received, then ends the stream with UNAVAILABLE. */
  drain(): void {
    if (this.done || this.draining) return;
    this.draining = true;
    this.call.pause();
    void this.pump();
  }

  private receive(message: PredictStreamRequest): void {
    if (this.done || this.draining) return;
    this.queue.push({ message, index: this.nextIndex++ });
    if (this.queue.length >= READ_AHEAD && !this.paused) {
      this.paused = true;
      this.call.pause();
    }
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy || this.done) return;
    this.busy = true;
    try {
      for (let item = this.queue.shift(); item !== undefined && !this.done; item = this.queue.shift()) {
        if (this.paused && !this.draining && this.queue.length < READ_AHEAD / 2) {
          this.paused = false;
          this.call.resume();
        }
        let response: PredictStreamResponse | undefined;
        try {
          response = await this.handle(item.message, item.index);
        } catch (err) {
          if (err instanceof CancelledError || err instanceof DeadlineExceededError) {
            // The call is already over (or grpc-js is ending it at its deadline): nothing to send.
            this.finish("cancelled", Status.CANCELLED, err.message);
          } else {
            this.fail(atMessage(err, item.index));
          }
          return;
        }
        if (response !== undefined && !this.done) {
          await this.write(response);
          this.answered += 1;
        }
      }
      if (this.done || this.queue.length > 0) return;
      if (this.halfClosed) {
        this.finish("completed", Status.OK, "OK");
        this.call.end();
      } else if (this.draining) {
        this.finish("drained", Status.UNAVAILABLE, "server shutting down");
        this.call.emit("error", toServiceError(new UnavailableError("server shutting down; resend unanswered messages to another replica")));
      }
    } finally {
      this.busy = false;
    }
  }

  private async handle(message: PredictStreamRequest, index: number): Promise<PredictStreamResponse | undefined> {
    this.ctx.throwIfCancelled();
    const undecodable = requestErrorOf(message);
    if (undecodable) throw undecodable;
    const kinds = [message.config, message.batch, message.decodeRun].filter((m) => m !== undefined).length;
    if (kinds > 1) throw new InvalidArgumentError("message", "sets more than one of config, batch and decode_run");
    if (index === 0) {
      if (message.config === undefined) throw new InvalidArgumentError("config", "the first message of a stream must carry the predictor config");
      this.predictor = await predictorFor(this.deps.deps, message.config);
      return undefined;
    }
    const predictor = this.predictor!;
    if (message.config !== undefined) throw new InvalidArgumentError("config", "only the first message of a stream may carry a config");
    if (message.batch !== undefined) {
      const batch = decodeSimBatch(message.batch, this.deps.limits, "batch");
      const { timeMs, stageMs } = await priceStaged(predictor, batch);
      const breakdown = message.includeBreakdown ? await breakdownOf(predictor, batch) : [];
      return { sequence: message.sequence, timeMs, breakdown, stepTimesMs: [], stageMs };
    }
    if (message.decodeRun !== undefined) {
      const run = decodeDecodeRun(message.decodeRun, this.deps.limits, "decode_run");
      const stepTimesMs = hasDecodeRuns(predictor)
        ? await priceDecodeRun(predictor, run.pastKvLength, run.numSteps)
        : await this.priceStepByStep(predictor, run);
      let total = 0;
      for (let i = 0; i < stepTimesMs.length; i++) total += stepTimesMs[i]!;
      return { sequence: message.sequence, timeMs: total, breakdown: [], stepTimesMs, stageMs: [] };
    }
    throw new InvalidArgumentError("message", "carries neither batch nor decode_run");
  }

  /** A decode run priced one step at a time (a predictor without predictDecodeRun), yielding now and then. */
  private async priceStepByStep(predictor: BatchPredictor, run: DecodeRunSpec): Promise<number[]> {
    const stepTimesMs = new Array<number>(run.numSteps);
    let step = 0;
    for (const batch of decodeRunBatches(run)) {
      stepTimesMs[step++] = await priceBatch(predictor, batch);
      if (step % STEPS_PER_YIELD === 0) {
        await yieldToEventLoop();
        this.ctx.throwIfCancelled();
      }
    }
    return stepTimesMs;
  }

  private async write(response: PredictStreamResponse): Promise<void> {
    if (this.call.write(response)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.call.off("drain", done);
        this.ctx.signal.removeEventListener("abort", done);
        resolve();
      };
      this.call.on("drain", done);
      this.ctx.signal.addEventListener("abort", done);
    });
  }

  private fail(err: unknown): void {
    const error = toServiceError(err, this.ctx.logger);
    this.finish("failed", error.code, error.details);
    this.call.emit("error", error);
  }

  private finish(outcome: string, code: Status, details: string): void {
    if (this.done) return;
    this.done = true;
    this.queue.length = 0;
    this.ctx.logger.info(
      { outcome, code: Status[code], details, messages: this.nextIndex, answered: this.answered, durationMs: Date.now() - this.startedAt },
      "stream closed",
    );
    this.onDone(this);
  }
}

/** Hosts the PredictStream sessions of a server, so shutdown can drain them. */
export class PredictStreamRegistry {
  private readonly sessions = new Set<PredictStreamSession>();
  private draining = false;

  constructor(private readonly deps: PredictStreamDeps) {}

  get openCount(): number {
    return this.sessions.size;
  }

  /** Takes over a PredictStream call the pipeline let through (authenticated, within its deadline). */
  open(call: Call, ctx?: CallContext): void {
    const session = new PredictStreamSession(call, this.deps, (s) => this.sessions.delete(s), ctx);
    this.sessions.add(session);
    if (this.draining) session.drain();
  }

  readonly handler = (call: Call): void => this.open(call);

  drain(): void {
    this.draining = true;
    for (const s of this.sessions) s.drain();
  }
}
