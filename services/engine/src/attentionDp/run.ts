import type { BatchPredictor, SimulationResult } from "@servesim/core";
import { type PartitionedRunOptions, runPartitioned } from "../partitioned/driver.js";
import { partitionJob } from "../partitioned/partition.js";
import type { EngineOptions, SimRequest } from "../types.js";
import { LockstepTiming } from "./lockstep.js";

export interface AttentionDpRunOptions extends PartitionedRunOptions {
  warmup?: readonly SimRequest[];
  /** Commit decode-only stretches as decode runs (default true; the results are the same). */
  decodeRuns?: boolean;
}

/**
 * Runs a job with attention data parallelism: options.attentionDpRanks ranks, each with max_batch_size,
 * max_num_tokens and a KV pool of options.numBlocks blocks of its own; requests routed as TensorRT-LLM's
 * request queue does (partitionJob); iterations in lockstep (LockstepTiming). The records come back in
 * dataset order; the iteration records sum the ranks' counts.
 */
export async function runAttentionDp(
  options: EngineOptions,
  requests: readonly SimRequest[],
  predictor: BatchPredictor,
  opts: AttentionDpRunOptions = {},
): Promise<SimulationResult> {
  const ranks = options.attentionDpRanks ?? 1;
  const parts = partitionJob(options, requests, opts.warmup ?? [], ranks, options.numBlocks, "attention DP");
  const drafts = options.speculative?.maxDraftLen ?? 0;
  const timing = new LockstepTiming(ranks, options.maxBatchSize, opts.decodeRuns !== false && drafts === 0, drafts);
  return runPartitioned(parts, requests.length, predictor, timing, opts);
}
