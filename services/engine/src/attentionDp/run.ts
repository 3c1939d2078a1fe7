import type { BatchPredictor, SimulationResult } from "@servesim/core";
import { arrivalProcess } from "../arrivals/registry.js";
import { type PartitionedRunOptions, runPartitioned } from "../partitioned/driver.js";
import { partitionJob } from "../partitioned/partition.js";
import type { EngineOptions, SimRequest } from "../types.js";
import { LockstepTiming } from "./lockstep.js";
import { runAttentionDpOpenLoop } from "./openLoop.js";

export interface AttentionDpRunOptions extends PartitionedRunOptions {
  warmup?: readonly SimRequest[];
  /** Commit decode-only stretches as decode runs (default true; the results are the same). */
  decodeRuns?: boolean;
}

/**
 * Runs a job with attention data parallelism: options.attentionDpRanks ranks, each with max_batch_size,
 * max_num_tokens and a KV pool of options.numBlocks blocks of its own; requests routed as TensorRT-LLM's
 * request queue does; iterations in lockstep. All at once and under a concurrency limit: a Simulation per
 * rank (partitionJob, LockstepTiming, with decode runs); arrivals in time: an EngineLoop per rank with the
 * router fed live loads (runAttentionDpOpenLoop). The records come back in
 * dataset order; the iteration records sum the ranks' counts.
 */
export async function runAttentionDp(
  options: EngineOptions,
  requests: readonly SimRequest[],
  predictor: BatchPredictor,
  opts: AttentionDpRunOptions = {},
): Promise<SimulationResult> {
  const ranks = options.attentionDpRanks ?? 1;
  // Arrivals in time need the ranks' live loads when each request arrives: one EngineLoop per rank.
  if (!arrivalProcess(options.arrivals).clockFree) {
    const { decodeRuns: _d, ...rest } = opts;
    return runAttentionDpOpenLoop(options, requests, predictor, rest);
  }
  const parts = partitionJob(options, requests, opts.warmup ?? [], ranks, options.numBlocks, "attention DP");
  const drafts = options.speculative?.maxDraftLen ?? 0;
  const timing = new LockstepTiming(ranks, options.maxBatchSize, opts.decodeRuns !== false && drafts === 0, drafts);
  return runPartitioned(parts, requests.length, predictor, timing, opts);
}
