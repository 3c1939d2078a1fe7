import type { IterationStats, RequestRecord } from "@servesim/core";
import { computeDatasetMetadata } from "@servesim/workload";
import type { ReportInput } from "../src/reportInput.js";

function record(taskId: number, inputLength: number, startMs: number, times: number[]): RequestRecord {
  const tokenTimesMs = Float64Array.from(times);
  const n = tokenTimesMs.length;
  const firstTokenMs = tokenTimesMs[0]!;
  const endMs = tokenTimesMs[n - 1]!;
  return {
    taskId,
    inputLength,
    outputLength: n,
    startMs,
    firstTokenMs,
    endMs,
    ttftMs: firstTokenMs - startMs,
    tpotMs: n > 1 ? (endMs - firstTokenMs) / (n - 1) : 0,
    e2eMs: endMs - startMs,
    tokenTimesMs,
    pausedCount: 0,
    reusedTokens: 0,
  };
}

/** Worked example E2 (docs/engine.md, max_batch_size 2): R0 P=100 N=3, R1 P=200 N=2, R2 P=50 N=2, all submitted at 0. */
export const example112: RequestRecord[] = [record(0, 100, 0, [10, 15, 25]), record(1, 200, 0, [10, 15]), record(2, 50, 0, [25, 30])];

export const failedRecord: RequestRecord = {
  ...record(3, 9000, 0, [0]),
  outputLength: 4,
  firstTokenMs: 0,
  endMs: 0,
  ttftMs: 0,
  e2eMs: 0,
  tokenTimesMs: new Float64Array(0),
  error: "prompt of 9000 tokens exceeds max_num_tokens 8192",
};

export const input112: ReportInput = {
  engine: { model: "meta-llama/Llama-3.1-8B", modelPath: null, dtype: "bfloat16", kvCacheDtype: null, quantization: null },
  world: { tp: 1, pp: 1, ep: null, maxBatchSize: 2, maxNumTokens: 8192, schedulingPolicy: "guaranteed_no_evict", kvCacheFraction: 0.9 },
  dataset: computeDatasetMetadata([100, 200, 50], [3, 2, 2], "/data/example.jsonl"),
  sim: {
    predictorDescription: "constant (prefill 10 ms, decode 5 ms)",
    system: "h100_sxm",
    backend: "trtllm",
    backendVersion: "1.0.0",
    databasePath: null,
    numBlocks: 1000,
    tokensPerBlock: 32,
    numIterations: 4,
    numPrefillIterations: 1,
    numDecodeIterations: 2,
    numMixedIterations: 1,
    numPaused: 0,
    simulatedMs: 30,
    wallMs: 1.25,
  },
};

export function iterationStats(overrides: Partial<IterationStats> = {}): IterationStats {
  return {
    iter: 3,
    iterLatencyMS: 10,
    simTimeMs: 25,
    numActiveRequests: 2,
    numQueuedRequests: 0,
    numCompletedRequests: 1,
    numNewActiveRequests: 1,
    maxNumActiveRequests: 2,
    inflightBatchingStats: { numScheduledRequests: 2, numContextRequests: 1, numCtxTokens: 50, numGenRequests: 1, numPausedRequests: 0 },
    kvCacheStats: {
      maxNumBlocks: 100,
      freeNumBlocks: 90,
      usedNumBlocks: 10,
      tokensPerBlock: 32,
      allocTotalBlocks: 10,
      allocNewBlocks: 2,
      reusedBlocks: 0,
      missedBlocks: 2,
      cacheHitRate: 0,
    },
    ...overrides,
  };
}
