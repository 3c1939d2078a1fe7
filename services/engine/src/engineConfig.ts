import type { EngineOptions } from "./types.js";

export const POLICY_NO_EVICT = 0;
export const POLICY_MAX_UTILIZATION = 1;
export const POLICY_STATIC_BATCH = 2;

export const CHUNK_NONE = 0;
export const CHUNK_FCFS = 1;
export const CHUNK_EQUAL_PROGRESS = 2;

/** Validated engine settings in the numeric form the hot loop uses. */
export interface EngineConfig {
  maxBatchSize: number;
  maxNumTokens: number;
  /** Attention window W and max_input_len for pause (= max_seq_len). */
  maxSeqLen: number;
  /** max_num_active_requests = max_batch_size × pp_size. */
  maxNumActive: number;
  policy: number;
  chunking: number;
  /** Chunk unit: tokens_per_block. */
  chunkUnit: number;
  tokensPerBlock: number;
  numBlocks: number;
  reuse: boolean;
  /** The overlap scheduler's loop (§10) instead of the non-overlap one. */
  overlap: boolean;
}

export function toEngineConfig(o: EngineOptions): EngineConfig {
  return {
    maxBatchSize: o.maxBatchSize,
    maxNumTokens: o.maxNumTokens,
    maxSeqLen: o.maxSeqLen,
    maxNumActive: o.maxBatchSize * o.ppSize,
    policy: o.capacityPolicy === "max_utilization" ? POLICY_MAX_UTILIZATION : o.capacityPolicy === "static_batch" ? POLICY_STATIC_BATCH : POLICY_NO_EVICT,
    chunking: o.chunking === null ? CHUNK_NONE : o.chunking === "equal_progress" ? CHUNK_EQUAL_PROGRESS : CHUNK_FCFS,
    chunkUnit: o.tokensPerBlock,
    tokensPerBlock: o.tokensPerBlock,
    numBlocks: o.numBlocks,
    reuse: o.enableBlockReuse,
    overlap: o.overlap === true,
  };
}

export const ceilDiv = (a: number, b: number): number => ((a + b - 1) / b) | 0;
