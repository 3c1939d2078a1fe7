import { AttentionDpLoop } from "../attentionDp/attentionDpLoop.js";
import type { DecodeRunLoop } from "../loop/engineLoop.js";
import { createEngineLoop, type EngineLoopOptions } from "../loop/singleEngineLoop.js";

/**
 * A pipeline micro-batch slot's scheduler. TensorRT-LLM runs pipeline parallelism with its own loop
 * (`_executor_loop_pp`), never the overlap loop, so a slot commits each micro-batch when its tokens are back.
 * Its KV pool is 1/pp of the GPU's (the pool of one GPU holds its stage's layers for every micro-batch).
 *
 * With attention DP (`enable_attention_dp` and PP, ranks = TP) every stage's attention is data-parallel: each
 * attention-DP rank runs its own PyExecutor with its own pipeline, so a slot is an AttentionDpLoop whose ranks
 * each schedule their own micro-batch of up to max_batch_size from the requests the attention-DP router gives
 * them (attentionDp/router.ts), each with its own share of its rank's pool. The micro-batch is priced once over
 * every rank's batch (SimBatch.attentionDpRank set): the slowest rank's attention plus the MoE layers over all
 * ranks' tokens, as the ranks wait for each other at every MoE layer of every stage.
 */
export function createSlotLoop(options: EngineLoopOptions): DecodeRunLoop {
  const { timing: _timing, attentionDpRanks, ...rest } = options;
  const settings: EngineLoopOptions = {
    ...rest,
    ppSize: 1,
    overlap: false,
    numBlocks: Math.max(1, Math.floor(options.numBlocks / options.ppSize)),
  };
  const ranks = attentionDpRanks ?? 1;
  return ranks > 1 ? new AttentionDpLoop({ ...settings, attentionDpRanks: ranks }) : createEngineLoop(settings);
}

/** Requests a slot schedules at most in one micro-batch: max_batch_size per attention-DP rank. */
export function slotCapacity(options: EngineLoopOptions): number {
  return options.maxBatchSize * (options.attentionDpRanks ?? 1);
}

/** Tokens a slot's micro-batch holds at most: max_num_tokens per attention-DP rank. */
export function slotTokenBudget(options: EngineLoopOptions): number {
  return options.maxNumTokens * (options.attentionDpRanks ?? 1);
}
