import { failedRequestRecord } from "@servesim/core";
import type { IterationStats, RequestRecord, SimRequest, SimulationResult } from "../types.js";
import type { EngineCore } from "./engineCore.js";
import type { RequestDoneEvent } from "./engineLoop.js";

/**
 * Request `r`'s record once every time is known (submitted at `startMs`). `tokenClock` maps an iteration to
 * when its tokens reach the client (default: the iteration's end; a front end delays them).
 */
export function requestRecord(core: EngineCore, r: number, tokenClock?: Float64Array): RequestRecord {
  const t = core.table;
  const q = t.requests[r]!;
  const error = t.errors.get(r);
  if (error !== undefined) {
    return failedRequestRecord(q, t.pausedCount[r]!, t.reusedTokens[r]!, error);
  }
  const iterEnd = core.ledger.iterEnd;
  const n = t.outputTokens[r]!;
  const times = t.tokenTimes(r, tokenClock ?? iterEnd);
  const submitIter = t.submitIter[r]!;
  const start = submitIter >= 0 ? iterEnd[submitIter]! : t.submitMs[r]! - t.frontEndWaitMs[r]!;
  const first = times[0]!;
  const end = times[n - 1]!;
  return {
    taskId: q.taskId,
    inputLength: q.inputLength,
    outputLength: n,
    startMs: start,
    firstTokenMs: first,
    endMs: end,
    ttftMs: first - start,
    tpotMs: n > 1 ? (end - first) / (n - 1) : 0,
    e2eMs: end - start,
    tokenTimesMs: times,
    pausedCount: t.pausedCount[r]!,
    reusedTokens: t.reusedTokens[r]!,
  };
}

/** The outcome of a run whose measured requests are [0, numMeasured). */
export function simulationResult(core: EngineCore, numMeasured: number, tokenClock?: Float64Array): SimulationResult {
  const records: RequestRecord[] = new Array(numMeasured);
  for (let r = 0; r < numMeasured; r++) records[r] = requestRecord(core, r, tokenClock);
  const pool = core.kv.pool;
  return {
    requests: records,
    numIterations: core.ledger.iterations,
    numPrefillIterations: core.prefillIterations,
    numDecodeIterations: core.decodeIterations,
    numMixedIterations: core.mixedIterations,
    numPaused: core.failures.numPaused,
    simulatedMs: core.ledger.clock,
    numBlocks: core.cfg.numBlocks,
    tokensPerBlock: core.cfg.tokensPerBlock,
    reusedBlocks: pool.reusedBlocks,
    missedBlocks: pool.missedBlocks,
    numFailed: core.failures.failed,
  };
}

/**
 * Iteration `iter`'s record (TensorRT-LLM's iteration-stats names), built right after it was committed;
 * its latency and end time are NaN until the iteration's time is known.
 */
export function iterationRecord(core: EngineCore, iter: number, completed: number): IterationStats {
  const pool = core.kv.pool;
  const batch = core.batch;
  const nCtx = batch.numContext;
  const nGen = batch.numGeneration;
  const hits = pool.reusedBlocks + pool.missedBlocks;
  return {
    iter,
    iterLatencyMS: Number.NaN,
    simTimeMs: Number.NaN,
    numActiveRequests: core.activeAtFetch,
    numQueuedRequests: core.queuedAtFetch,
    numCompletedRequests: completed,
    numNewActiveRequests: core.admission.newActive,
    maxNumActiveRequests: core.cfg.maxNumActive,
    inflightBatchingStats: {
      numScheduledRequests: nCtx + nGen,
      numContextRequests: nCtx,
      numCtxTokens: batch.numContextTokens,
      numGenRequests: nGen,
      numPausedRequests: core.failures.pausedSinceRecord,
    },
    kvCacheStats: {
      maxNumBlocks: pool.numBlocks,
      freeNumBlocks: pool.freeBlocks,
      usedNumBlocks: pool.usedBlocks,
      tokensPerBlock: core.cfg.tokensPerBlock,
      allocTotalBlocks: pool.allocTotalBlocks,
      allocNewBlocks: pool.allocNewBlocks,
      reusedBlocks: pool.reusedBlocks,
      missedBlocks: pool.missedBlocks,
      cacheHitRate: hits > 0 ? pool.reusedBlocks / hits : 0,
    },
  };
}

/**
 * The record of a request that left an EngineLoop (`e`), submitted at `startMs` on the run's clock, whose
 * measured run started at `t0` on the loop's clock. Takes over `e.tokenTimesMs`.
 */
export function doneEventRecord(q: SimRequest, e: RequestDoneEvent, startMs: number, t0: number): RequestRecord {
  if (e.error !== undefined) return failedRequestRecord(q, e.pausedCount, e.reusedTokens, e.error);
  // The event's array is its own (RequestDoneEvent.tokenTimesMs is fresh): shifted in place, not copied.
  const tok = e.tokenTimesMs;
  const n = tok.length;
  if (t0 !== 0) for (let i = 0; i < n; i++) tok[i]! -= t0;
  const first = tok[0]!;
  const last = tok[n - 1]!;
  return {
    taskId: q.taskId,
    inputLength: q.inputLength,
    outputLength: n,
    startMs,
    firstTokenMs: first,
    endMs: last,
    ttftMs: first - startMs,
    tpotMs: n > 1 ? (last - first) / (n - 1) : 0,
    e2eMs: last - startMs,
    tokenTimesMs: tok,
    pausedCount: e.pausedCount,
    reusedTokens: e.reusedTokens,
  };
}
