/**
 * The batch the engine hands to a predictor every iteration (the `ScheduledRequests` of one PyExecutor
 * iteration, tensorrt_llm/_torch/pyexecutor/scheduler.py).
 *
 * Entries [0, numContext) are context requests, entries [numContext, numContext + numGeneration) are
 * generation requests, in micro-batch output order. The arrays may be longer than the batch and are
 * reused by the engine between iterations: a predictor that needs the batch after `predict` returns
 * (e.g. a remote one that sends it later) must copy what it needs synchronously.
 */
export interface SimBatch {
  numContext: number;
  numGeneration: number;
  /** Tokens processed this iteration: the context chunk (after prefix-cache adjustment), or 1. */
  inputLength: ArrayLike<number>;
  /** Tokens already in the KV cache before this iteration. */
  pastKvLength: ArrayLike<number>;
  /** Σ inputLength over the context entries. */
  numContextTokens: number;
  /**
   * Attention data parallelism: the rank (0 ≤ rank < TP) that runs each entry, when the batch holds every
   * rank's batch of one iteration. Unset: the batch is one rank's (or the whole batch without attention DP).
   */
  attentionDpRank?: ArrayLike<number>;
  /**
   * Speculative decoding: draft tokens of each entry this iteration (a generation entry verifies them and
   * drafts as many; a context entry's chunk feeds the draft chain). Unset: none.
   */
  draftTokens?: ArrayLike<number>;
}

/** One op's contribution to a batch time (the Predict response's breakdown). */
export interface OpTime {
  op: string;
  /** Where the time came from (services/perf OP_SOURCES, best first): constant | table | interp | empirical | sol | util-extrapolated | roofline-fallback. */
  source: string;
  ms: number;
  flops?: number;
  bytes?: number;
}

/**
 * What the engine needs from a performance model. Implementations: constant, roofline, aic,
 * calibrated (services/perf) and the remote gRPC client (services/scheduler). A local predictor
 * returns a number; a remote one a Promise.
 */
export interface BatchPredictor {
  /** One line for reports, e.g. "roofline (h100_sxm, Llama-3.1-8B, TP1, bf16)". */
  readonly description: string;
  /** Batch time in milliseconds: finite and > 0. */
  predict(batch: SimBatch): number | Promise<number>;
  /** Optional per-op breakdown of the same time. */
  breakdown?(batch: SimBatch): OpTime[] | Promise<OpTime[]>;
  /**
   * Optional: the times of `steps` consecutive decode-only iterations of `count` requests, step i
   * (0-based) having request j at past KV length `pastKv[j] + i` (proto DecodeRun). Element i must equal
   * predict() of that step's batch exactly: the engine uses it to skip through decode runs
   * (Simulation.decodeRunLength) and promises results identical to pricing each step. `pastKv` is the
   * engine's reusable array: copy it if it is needed after the call returns.
   */
  predictDecodeRun?(pastKv: ArrayLike<number>, count: number, steps: number): number[] | Float64Array | Promise<number[] | Float64Array>;
  /**
   * Optional: how many predict() / predictDecodeRun() calls may be outstanding at once (an asynchronous
   * predictor that pipelines them, answering in call order). Default 1: one at a time.
   */
  readonly maxInFlight?: number;
  /**
   * Optional, pipeline parallelism: prices the batch exactly as predict() does and, before it returns or
   * resolves, writes into `stageMs` (length `pipelineStages`) the kernel time of the batch on each stage (its
   * layers, the embedding on the first, the LM head on the last, the activation send on every stage but the
   * last). The engine splits the returned time over the stages in these proportions. The time and the stage
   * times come together so that an asynchronous predictor (the remote one) answers both in one message.
   */
  predictStages?(batch: SimBatch, stageMs: Float64Array): number | Promise<number>;
  /** Stages predictStages() prices (absent or 1: none). */
  readonly pipelineStages?: number;
  /** Releases connections or caches. */
  close?(): void | Promise<void>;
}

/** Copies the live part of a batch into plain arrays (for logs, tests and remote calls). */
export function snapshotBatch(batch: SimBatch): {
  isContext: boolean[];
  inputLength: number[];
  pastKvLength: number[];
  numContextTokens: number;
} {
  const n = batch.numContext + batch.numGeneration;
  const isContext: boolean[] = new Array(n);
  const inputLength: number[] = new Array(n);
  const pastKvLength: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    isContext[i] = i < batch.numContext;
    inputLength[i] = batch.inputLength[i]!;
    pastKvLength[i] = batch.pastKvLength[i]!;
  }
  return { isContext, inputLength, pastKvLength, numContextTokens: batch.numContextTokens };
}

/** Builds a SimBatch from entries (tests, the predictor service's decoding of a wire batch). */
export function makeBatch(entries: ReadonlyArray<{ context: boolean; inputLength: number; pastKvLength: number }>): SimBatch {
  const ctx = entries.filter((e) => e.context);
  const gen = entries.filter((e) => !e.context);
  const ordered = [...ctx, ...gen];
  return {
    numContext: ctx.length,
    numGeneration: gen.length,
    inputLength: ordered.map((e) => e.inputLength),
    pastKvLength: ordered.map((e) => e.pastKvLength),
    numContextTokens: ctx.reduce((s, e) => s + e.inputLength, 0),
  };
}
