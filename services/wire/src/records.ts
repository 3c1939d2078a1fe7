/** Request and iteration records between engine form and wire form (servesim.v1 RequestRecord, IterationRecord). */
import type { IterationStats, RequestRecord } from "@servesim/core";
import type { IterationRecord as WireIterationRecord, RequestRecord as WireRequestRecord } from "../gen/ts/servesim/v1/scheduler.js";

/** The fields a request record has under the same name and type in both forms. */
type RequestTiming = Pick<
  RequestRecord & WireRequestRecord,
  "taskId" | "inputLength" | "outputLength" | "startMs" | "firstTokenMs" | "endMs" | "ttftMs" | "tpotMs" | "e2eMs"
>;

const requestTiming = (r: RequestTiming): RequestTiming => ({
  taskId: r.taskId,
  inputLength: r.inputLength,
  outputLength: r.outputLength,
  startMs: r.startMs,
  firstTokenMs: r.firstTokenMs,
  endMs: r.endMs,
  ttftMs: r.ttftMs,
  tpotMs: r.tpotMs,
  e2eMs: r.e2eMs,
});

/** An engine request record in wire form (token times copied out of the engine's shared buffer). */
export function requestToWire(r: RequestRecord): WireRequestRecord {
  return {
    ...requestTiming(r),
    pausedCount: r.pausedCount,
    reusedTokens: r.reusedTokens,
    tokenTimesMs: Array.from(r.tokenTimesMs),
    error: r.error ?? "",
  };
}

/** A wire request record in engine form (what the report writers take). */
export function requestFromWire(r: WireRequestRecord): RequestRecord {
  const rec: RequestRecord = {
    ...requestTiming(r),
    tokenTimesMs: Float64Array.from(r.tokenTimesMs),
    pausedCount: r.pausedCount,
    reusedTokens: r.reusedTokens,
  };
  if (r.error) rec.error = r.error;
  return rec;
}

/** An engine iteration record in wire form. */
export function iterationToWire(s: IterationStats): WireIterationRecord {
  return {
    iter: s.iter,
    iterLatencyMs: s.iterLatencyMS,
    simTimeMs: s.simTimeMs,
    numActiveRequests: s.numActiveRequests,
    numQueuedRequests: s.numQueuedRequests,
    numCompletedRequests: s.numCompletedRequests,
    numNewActiveRequests: s.numNewActiveRequests,
    maxNumActiveRequests: s.maxNumActiveRequests,
    inflightBatchingStats: { ...s.inflightBatchingStats },
    kvCacheStats: { ...s.kvCacheStats },
    engine: s.engine ?? "",
  };
}

/** A wire iteration record in engine form. */
export function iterationFromWire(r: WireIterationRecord): IterationStats {
  const b = r.inflightBatchingStats;
  const k = r.kvCacheStats;
  return {
    iter: r.iter,
    iterLatencyMS: r.iterLatencyMs,
    simTimeMs: r.simTimeMs,
    numActiveRequests: r.numActiveRequests,
    numQueuedRequests: r.numQueuedRequests,
    numCompletedRequests: r.numCompletedRequests,
    numNewActiveRequests: r.numNewActiveRequests,
    maxNumActiveRequests: r.maxNumActiveRequests,
    inflightBatchingStats: {
      numScheduledRequests: b?.numScheduledRequests ?? 0,
      numContextRequests: b?.numContextRequests ?? 0,
      numCtxTokens: b?.numCtxTokens ?? 0,
      numGenRequests: b?.numGenRequests ?? 0,
      numPausedRequests: b?.numPausedRequests ?? 0,
    },
    kvCacheStats: {
      maxNumBlocks: k?.maxNumBlocks ?? 0,
      freeNumBlocks: k?.freeNumBlocks ?? 0,
      usedNumBlocks: k?.usedNumBlocks ?? 0,
      tokensPerBlock: k?.tokensPerBlock ?? 0,
      allocTotalBlocks: k?.allocTotalBlocks ?? 0,
      allocNewBlocks: k?.allocNewBlocks ?? 0,
      reusedBlocks: k?.reusedBlocks ?? 0,
      missedBlocks: k?.missedBlocks ?? 0,
      cacheHitRate: k?.cacheHitRate ?? 0,
    },
    ...(r.engine ? { engine: r.engine } : {}),
  };
}
