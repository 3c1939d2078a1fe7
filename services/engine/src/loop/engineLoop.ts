import { type BatchPredictor, InvalidArgumentError, type IterationStats, type SimBatch, type SimRequest } from "@servesim/core";
import { validateRequest } from "../validation.js";

/**
 * One serving-engine instance on a simulated clock that the caller owns.
 *
 * The caller (a runner, a cluster of instances, the attention-DP ranks of one instance) keeps the
 * clock: it hands requests over with submit(), asks nextEventTime() when the loop next has work, builds
 * the iteration that starts then with schedule(), prices the batch with a predictor and completes the
 * iteration with commit(). Several loops can so share one simulated clock (one event heap), and a
 * request can enter a loop with its prompt's KV cache already filled (disaggregated decode).
 *
 * Iterations are strictly sequential per loop: schedule() → commit() → schedule() → ...
 */
export interface EngineLoop {
  /**
   * Hands a request over at simulated time `tMs` (>= the time of the last scheduled iteration's start,
   * and not earlier than the previous submit). It joins the waiting queue when the loop's clock reaches
   * `tMs`. Returns the request's handle in this loop (0, 1, 2, ... in submission order); events name
   * requests by it. Throws InvalidArgumentError for a malformed request or time.
   */
  submit(req: SimRequest, tMs: number, opts?: SubmitOptions): number;
  /**
   * Earliest simulated time at which the loop can start an iteration: the end of the last iteration
   * while requests are waiting or active, the next submit time when idle, Infinity when it has nothing.
   */
  nextEventTime(): number;
  /**
   * Builds the iteration that starts at `tMs` (>= nextEventTime(); a later time means the engine sat
   * idle until then): admission, capacity and micro-batch scheduling, KV allocation. Returns the batch
   * to price, or null when nothing can run by `tMs`. The batch's arrays are reused: valid until commit().
   */
  schedule(tMs: number): SimBatch | null;
  /**
   * Completes the scheduled iteration, which took `deviceMs` on the device (finite, > 0). The loop's
   * timing strategy turns device time into the iteration's wall time (non-overlap, overlap, ...).
   * Returns what happened, with simulated times; the object is reused by the next commit().
   */
  commit(deviceMs: number): LoopEvents;
  /**
   * Optional: prices the batch schedule() returned with `predictor`, for a loop that needs more of the predictor
   * than the batch's time (a pipeline: its stages' times, stageSplit.ts). Callers price through priceOn().
   */
  price?(predictor: BatchPredictor, batch: SimBatch): number | Promise<number>;
  /**
   * Requests that ended outside a commit() and were not reported yet: a schedule() that returned null may
   * fail requests on release or (overlap strategy) process the last batch in flight. Call it when
   * schedule() returns null and when the loop has nothing left to do.
   */
  takeEnded(): RequestDoneEvent[];
  /** Signals for routers and backpressure. */
  load(): LoopLoad;
}

/**
 * An EngineLoop that can commit a decode run in one step (SingleEngineLoop, AttentionDpLoop): after schedule(),
 * decodeRunLength() says how many iterations keep the same generation requests (every KV length + 1) if nothing is
 * submitted meanwhile, and commitRun() completes the first `steps` of them with each one's start and time, as
 * `steps` schedule()/commit() pairs would.
 */
export interface DecodeRunLoop extends EngineLoop {
  decodeRunLength(maxSteps: number): number;
  commitRun(startMs: ArrayLike<number>, iterMs: ArrayLike<number>, steps: number): LoopEvents;
}

export interface SubmitOptions {
  /**
   * The prompt's KV cache is already filled and its first token generated elsewhere (disaggregated
   * decode after a KV transfer): the request needs its KV blocks here and then only decode steps.
   */
  kvReady?: boolean;
}

export interface LoopLoad {
  /** Submitted (due or not) but not yet active. */
  queued: number;
  /** In max_num_active_requests: scheduled, waiting for KV, or decoding. */
  active: number;
  kvUsedBlocks: number;
  kvTotalBlocks: number;
}

/**
 * The checks every EngineLoop.submit makes (the request, a non-decreasing submit time, the kvReady flag);
 * returns the request's kvReady.
 */
export function checkSubmit(req: SimRequest, tMs: number, lastSubmitMs: number, tokensPerBlock: number, opts?: SubmitOptions): boolean {
  validateRequest(req, "request", tokensPerBlock);
  if (typeof tMs !== "number" || !Number.isFinite(tMs) || tMs < 0) {
    throw new InvalidArgumentError("tMs", `must be a finite time >= 0 ms (got ${String(tMs)})`);
  }
  if (tMs < lastSubmitMs) {
    throw new InvalidArgumentError("tMs", `submit times must not decrease (got ${tMs} after ${lastSubmitMs})`);
  }
  const kvReady = opts?.kvReady ?? false;
  if (typeof kvReady !== "boolean") throw new InvalidArgumentError("opts.kvReady", `must be a boolean (got ${String(kvReady)})`);
  if (kvReady && req.outputTokens < 2) {
    throw new InvalidArgumentError("request.outputTokens", "a kvReady request's first token is already generated: it needs outputTokens >= 2");
  }
  return kvReady;
}

/** The load of a loop made of inner loops (attention-DP ranks, pipeline slots): theirs summed, plus its own queue. */
export function sumLoads(inner: readonly EngineLoop[], ownQueued: number): LoopLoad {
  let queued = ownQueued;
  let active = 0;
  let kvUsedBlocks = 0;
  let kvTotalBlocks = 0;
  for (const loop of inner) {
    const l = loop.load();
    queued += l.queued;
    active += l.active;
    kvUsedBlocks += l.kvUsedBlocks;
    kvTotalBlocks += l.kvTotalBlocks;
  }
  return { queued, active, kvUsedBlocks, kvTotalBlocks };
}

/** One request that produced its first token in this loop. */
export interface FirstTokenEvent {
  handle: number;
  /** End of the iteration that computed it. */
  timeMs: number;
}

/** One request that left the loop: finished (all tokens) or failed (error set). */
export interface RequestDoneEvent {
  handle: number;
  request: SimRequest;
  submitMs: number;
  /**
   * When it left: the end of the iteration that completed it (with the overlap strategy, the iteration
   * whose processing freed it); for a failure, the end of the last iteration before it failed, or its
   * submit time when that is later.
   */
  endMs: number;
  /**
   * Emission times of the tokens this loop produced: every output token, or all but the first for a
   * kvReady request. Empty for a failed request. A fresh array.
   */
  tokenTimesMs: Float64Array;
  pausedCount: number;
  reusedTokens: number;
  error?: string;
}

/** What one commit() produced. Arrays are reused by the next commit(): copy what must outlive it. */
export interface LoopEvents {
  /** Start and end of the committed iteration (wall time). */
  startMs: number;
  endMs: number;
  firstTokens: FirstTokenEvent[];
  /**
   * Requests that ended since the previous commit(), in the order they left active_requests (with the
   * overlap strategy a request leaves one iteration after its last token; failures are reported by the
   * commit() after the schedule() that failed them).
   */
  done: RequestDoneEvent[];
  /** The iteration's record (TensorRT-LLM iteration-stats names) when the loop was built with `iterationStats`. */
  iteration: IterationStats | null;
}

/** The device time of the batch `loop` scheduled: the loop prices it when it has its own way (EngineLoop.price). */
export function priceOn(loop: EngineLoop, predictor: BatchPredictor, batch: SimBatch): number | Promise<number> {
  return loop.price ? loop.price(predictor, batch) : predictor.predict(batch);
}
