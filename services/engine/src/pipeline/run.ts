import type { BatchPredictor, SimulationResult } from "@servesim/core";
import { type PartitionedRunOptions, runPartitioned } from "../partitioned/driver.js";
import { partitionJob } from "../partitioned/partition.js";
import type { EngineOptions, SimRequest } from "../types.js";
import { PipelineTiming } from "./pipelineTiming.js";

export interface PipelineRunOptions extends PartitionedRunOptions {
  warmup?: readonly SimRequest[];
}

/**
 * Runs a job with pipeline parallelism (options.ppSize stages): pp micro-batch slots, each scheduling up
 * to max_batch_size requests (max_batch_size × pp in flight) from its share of the requests and of the
 * KV pool (options.numBlocks / pp blocks: the pool of one GPU holds its stage's layers for every
 * micro-batch), through the stages as PipelineTiming says.
 */
export async function runPipeline(
  options: EngineOptions,
  requests: readonly SimRequest[],
  predictor: BatchPredictor,
  opts: PipelineRunOptions = {},
): Promise<SimulationResult> {
  const pp = options.ppSize;
  // TensorRT-LLM runs pipeline parallelism with its own loop (_executor_loop_pp), not the overlap loop.
  const { timing: _timing, ...rest } = options;
  const parts = partitionJob(
    { ...rest, overlap: false },
    requests,
    opts.warmup ?? [],
    pp,
    Math.max(1, Math.floor(options.numBlocks / pp)),
    "pipeline parallelism",
  );
  return runPartitioned(parts, requests.length, predictor, new PipelineTiming(pp, pp, options.speculative?.maxDraftLen ?? 0), opts);
}
