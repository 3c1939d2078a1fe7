import type { BatchPredictor, SimulationResult } from "@servesim/core";
import { arrivalProcess } from "../arrivals/registry.js";
import { runOnLoop } from "../loop/openLoop.js";
import { type PartitionedRunOptions, runPartitioned } from "../partitioned/driver.js";
import { partitionJob } from "../partitioned/partition.js";
import { DraftTokensPredictor } from "../speculative/draftTokens.js";
import type { EngineOptions, SimRequest } from "../types.js";
import { PipelineLoop } from "./pipelineLoop.js";
import { PipelineTiming } from "./pipelineTiming.js";

export interface PipelineRunOptions extends PartitionedRunOptions {
  warmup?: readonly SimRequest[];
  /** On the pipeline loop, let slots skip their schedulers through decode runs (default true; the results are the same). */
  decodeRuns?: boolean;
}

/**
 * Runs a job with pipeline parallelism (options.ppSize stages): pp micro-batch slots, each scheduling up
 * to max_batch_size requests (max_batch_size × pp in flight) with 1/pp of the KV pool (the pool of one GPU
 * holds its stage's layers for every micro-batch), through the stages as TensorRT-LLM's `_executor_loop_pp`
 * runs them. Arrivals in time, and attention DP inside every stage, run on one PipelineLoop and one clock
 * (runOnLoop: requests join the micro-batch scheduled next when they have arrived). Requests all at
 * once or under a concurrency limit without attention DP take the fast path: a Simulation per slot with its
 * share of the requests (partitionJob), timed through the stages by PipelineTiming.
 */
export async function runPipeline(
  options: EngineOptions,
  requests: readonly SimRequest[],
  predictor: BatchPredictor,
  opts: PipelineRunOptions = {},
): Promise<SimulationResult> {
  const pp = options.ppSize;
  if ((options.attentionDpRanks ?? 1) > 1 || !arrivalProcess(options.arrivals).clockFree) {
    const { arrivals: _a, ...loopSettings } = options;
    // An attention-DP slot's batch carries its drafts; a plain slot's batch gets them here.
    const drafts = options.speculative?.maxDraftLen ?? 0;
    const priced = drafts > 0 && (options.attentionDpRanks ?? 1) <= 1 ? new DraftTokensPredictor(predictor, drafts) : predictor;
    const setup = {
      what: "pipeline parallelism",
      stallLimit: 4 * pp + 4,
      createLoop: (iterationStats: boolean) => new PipelineLoop({ ...loopSettings, iterationStats, decodeRuns: opts.decodeRuns !== false }),
    };
    const { decodeRuns: _d, ...loopOpts } = opts;
    return runOnLoop(setup, options, requests, priced, loopOpts);
  }
  // TensorRT-LLM runs pipeline parallelism with its own loop (_executor_loop_pp), not the overlap loop.
  const { timing: _timing, ...settings } = options;
  const parts = partitionJob(
    { ...settings, overlap: false },
    requests,
    opts.warmup ?? [],
    pp,
    Math.max(1, Math.floor(options.numBlocks / pp)),
    "pipeline parallelism",
  );
  const { decodeRuns: _d, ...rest } = opts;
  return runPartitioned(parts, requests.length, predictor, new PipelineTiming(pp, pp, options.speculative?.maxDraftLen ?? 0), rest);
}
