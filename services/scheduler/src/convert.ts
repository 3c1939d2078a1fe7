import type { IterationStats, RequestRecord as EngineRequestRecord, SimulationProgress } from "../../engine/src/types.js";
import type { IterationRecord, JobProgress, RequestRecord } from "../../../gen/ts/servesim/v1/scheduler.js";

/** An engine request record in wire form (token times copied out of the engine's shared buffer). */
export function toRequestRecord(r: EngineRequestRecord): RequestRecord {
  return {
    taskId: r.taskId,
    inputLength: r.inputLength,
    outputLength: r.outputLength,
    startMs: r.startMs,
    firstTokenMs: r.firstTokenMs,
    endMs: r.endMs,
    ttftMs: r.ttftMs,
    tpotMs: r.tpotMs,
    e2eMs: r.e2eMs,
    pausedCount: r.pausedCount,
    reusedTokens: r.reusedTokens,
    tokenTimesMs: Array.from(r.tokenTimesMs),
    error: r.error ?? "",
  };
}

/** An engine iteration record in wire form. */
export function toIterationRecord(s: IterationStats): IterationRecord {
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
  };
}

export function toJobProgress(p: SimulationProgress): JobProgress {
  return { iterations: p.iterations, requestsFinished: p.requestsFinished, requestsTotal: p.requestsTotal, simTimeMs: p.simTimeMs };
}

/** Upper bound of a request record's encoded size: ~80 bytes of scalars plus 8 per token time. */
export function requestRecordBytes(r: EngineRequestRecord): number {
  return 96 + 8 * r.tokenTimesMs.length + (r.error?.length ?? 0) * 3;
}

/** Upper bound of an iteration record's encoded size. */
export const ITERATION_RECORD_BYTES = 160;
