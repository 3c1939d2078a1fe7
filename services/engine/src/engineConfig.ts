import type { BatchWaitSettings } from "./batchWaiting.js";
import type { CapacityPolicyDef } from "./capacity/capacityPolicy.js";
import { capacityPolicy } from "./capacity/registry.js";
import type { ChunkingPolicyDef } from "./chunking/chunkingPolicy.js";
import { chunkingPolicy } from "./chunking/registry.js";
import type { EngineProfile } from "./profiles/engineProfile.js";
import { DEFAULT_ENGINE_PROFILE, engineProfile } from "./profiles/registry.js";
import type { QueueOrderDef } from "./queue/queueOrder.js";
import { queueOrder } from "./queue/registry.js";
import { AcceptanceSampler } from "./speculative/acceptance.js";
import { timingStrategy } from "./timing/registry.js";
import type { TimingDef } from "./timing/timingStrategy.js";
import type { EngineSettings } from "./types.js";

/** Validated engine settings, resolved once: registry entries instead of names, numbers the hot loop uses. */
export interface EngineConfig {
  maxBatchSize: number;
  maxNumTokens: number;
  /** Attention window W and max_input_len for pause (= max_seq_len). */
  maxSeqLen: number;
  /** max_num_active_requests = max_batch_size × pp_size. */
  maxNumActive: number;
  profile: EngineProfile;
  capacity: CapacityPolicyDef;
  timing: TimingDef;
  queue: QueueOrderDef;
  /** null: chunked context disabled. */
  chunking: ChunkingPolicyDef | null;
  /** Chunk unit: tokens_per_block. */
  chunkUnit: number;
  tokensPerBlock: number;
  numBlocks: number;
  reuse: boolean;
  /** Tokens a generation request puts in the token budget: 1 + its draft tokens (speculative decoding). */
  genTokens: number;
  /** Speculative decoding: the accepted drafts of each generation step; null without. */
  speculation: AcceptanceSampler | null;
  /** Context batch waiting; undefined when off. */
  batchWait: BatchWaitSettings | undefined;
}

/** The timing strategy's name the settings select (`timing`, else `overlap`, else the profile's default). */
export function timingName(o: EngineSettings, profile: EngineProfile): string {
  return o.timing ?? (o.overlap === true ? "overlap" : profile.defaultTiming);
}

/** Resolves validated settings (validateSettings first). */
export function toEngineConfig(o: EngineSettings): EngineConfig {
  const profile = engineProfile(o.profile ?? DEFAULT_ENGINE_PROFILE);
  return {
    maxBatchSize: o.maxBatchSize,
    maxNumTokens: o.maxNumTokens,
    maxSeqLen: o.maxSeqLen,
    maxNumActive: o.maxBatchSize * o.ppSize,
    profile,
    capacity: capacityPolicy(o.capacityPolicy),
    timing: timingStrategy(timingName(o, profile)),
    queue: queueOrder(o.queueOrder ?? profile.defaultQueueOrder),
    chunking: chunkingPolicy(o.chunking),
    chunkUnit: o.tokensPerBlock,
    tokensPerBlock: o.tokensPerBlock,
    numBlocks: o.numBlocks,
    reuse: o.enableBlockReuse,
    genTokens: 1 + (o.speculative?.maxDraftLen ?? 0),
    speculation: o.speculative
      ? new AcceptanceSampler({ maxDraftLen: o.speculative.maxDraftLen, rates: o.speculative.acceptanceRates, seed: o.speculative.seed }, "options.speculative")
      : null,
    // TensorRT-LLM skips batch waiting under attention DP (it balances contexts across ranks instead).
    batchWait:
      o.batchWait && (o.batchWait.timeoutIters > 0 || o.batchWait.maxTokensRatio > 0) && (o.attentionDpRanks ?? 1) <= 1 ? { ...o.batchWait } : undefined,
  };
}

export const ceilDiv = (a: number, b: number): number => ((a + b - 1) / b) | 0;
