import type { PromptBlocks } from "./blockKeys.js";

/** The records of a run: what goes into the engine and what comes out, shared by every layer. All times are simulated milliseconds (float64). */

export interface SimRequest {
  taskId: number;
  inputLength: number;
  outputTokens: number;
  /** Prompt token ids; only used for prefix-cache reuse. Requests without them (or `blocks`) never share blocks. */
  inputIds?: ArrayLike<number>;
  /**
   * The prompt's prefix-cache block keys, computed when the dataset was read (instead of keeping its ids).
   * Used when `inputIds` is absent; the block size must be the engine's tokens_per_block.
   */
  blocks?: PromptBlocks;
}

/**
 * Per-request outcome (the per-request statistics trtllm-bench reports,
 * tensorrt_llm/bench/dataclasses/statistics.py).
 */
export interface RequestRecord {
  taskId: number;
  inputLength: number;
  outputLength: number;
  startMs: number;
  firstTokenMs: number;
  endMs: number;
  ttftMs: number;
  /** (end − firstToken) / (outputLength − 1); 0 for one output token. */
  tpotMs: number;
  e2eMs: number;
  /**
   * Emission time of every output token (outputLength entries; empty for a failed request). Often a
   * read-only view on a buffer shared between requests: copy it before modifying it.
   */
  tokenTimesMs: Float64Array;
  pausedCount: number;
  /** Prompt tokens found in the prefix cache (summed over (re-)prefills). */
  reusedTokens: number;
  /** Set when the request could never run (docs/engine.md, "Requests that can never run"); its times are then 0. */
  error?: string;
}

/** One iteration, with TensorRT-LLM's iteration-stats names (`IterationStats`, cpp/include/tensorrt_llm/executor/types.h). */
export interface IterationStats {
  iter: number;
  /** Cluster jobs: the instance that ran the iteration ("prefill[0]", "decode[3]", "instance[1]"). */
  engine?: string;
  iterLatencyMS: number;
  /** Clock at the iteration's end. */
  simTimeMs: number;
  numActiveRequests: number;
  numQueuedRequests: number;
  numCompletedRequests: number;
  numNewActiveRequests: number;
  maxNumActiveRequests: number;
  inflightBatchingStats: {
    numScheduledRequests: number;
    numContextRequests: number;
    numCtxTokens: number;
    numGenRequests: number;
    numPausedRequests: number;
  };
  kvCacheStats: {
    maxNumBlocks: number;
    freeNumBlocks: number;
    usedNumBlocks: number;
    tokensPerBlock: number;
    allocTotalBlocks: number;
    allocNewBlocks: number;
    reusedBlocks: number;
    missedBlocks: number;
    cacheHitRate: number;
  };
}

/** Outcome of a whole run (the measured requests; warm-up excluded). */
export interface SimulationResult {
  /** One record per measured request, in dataset order. */
  requests: RequestRecord[];
  numIterations: number;
  /** Iterations whose batch had context requests only. */
  numPrefillIterations: number;
  /** Iterations whose batch had generation requests only. */
  numDecodeIterations: number;
  /** Iterations with both. */
  numMixedIterations: number;
  /** Pauses (MAX_UTILIZATION evictions) over the run. */
  numPaused: number;
  /** Simulated clock at the end of the run. */
  simulatedMs: number;
  numBlocks: number;
  tokensPerBlock: number;
  /** Prefix-cache totals over the run (0 with reuse off). */
  reusedBlocks: number;
  missedBlocks: number;
  /** Requests that could never run (RequestRecord.error set). */
  numFailed: number;
}

const NO_TOKEN_TIMES = new Float64Array(0);

/** The record of a request that failed (unservable, or refused): no tokens, every time 0, the reason. */
export function failedRequestRecord(q: Pick<SimRequest, "taskId" | "inputLength">, pausedCount: number, reusedTokens: number, error: string): RequestRecord {
  return {
    taskId: q.taskId,
    inputLength: q.inputLength,
    outputLength: 0,
    startMs: 0,
    firstTokenMs: 0,
    endMs: 0,
    ttftMs: 0,
    tpotMs: 0,
    e2eMs: 0,
    tokenTimesMs: NO_TOKEN_TIMES,
    pausedCount,
    reusedTokens,
    error,
  };
}
