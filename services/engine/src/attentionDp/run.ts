import type { BatchPredictor, SimulationResult } from "@servesim/core";
import { arrivalProcess } from "../arrivals/registry.js";
import { runOnLoop } from "../loop/openLoop.js";
import { type PartitionedRunOptions, runPartitioned } from "../partitioned/driver.js";
import { partitionJob } from "../partitioned/partition.js";
import type { EngineOptions, SimRequest } from "../types.js";
import { AttentionDpLoop } from "./attentionDpLoop.js";
import { AdpBalance } from "./balance.js";
import { LockstepTiming } from "./lockstep.js";

export interface AttentionDpRunOptions extends PartitionedRunOptions {
  warmup?: readonly SimRequest[];
  /** Commit decode-only stretches as decode runs (default true; the results are the same). */
  decodeRuns?: boolean;
}

/**
 * Runs a job with attention data parallelism: options.attentionDpRanks ranks, each with max_batch_size,
 * max_num_tokens and a KV pool of options.numBlocks blocks of its own; requests routed as TensorRT-LLM's
 * request queue does; iterations in lockstep: an EngineLoop per rank with the router fed live loads
 * (an AttentionDpLoop driven by runOnLoop), or, for requests all alike arriving all at once or in a closed loop, a
 * Simulation per rank (partitionJob, LockstepTiming, with decode runs). The records come back in
 * dataset order; the iteration records sum the ranks' counts.
 */
export async function runAttentionDp(
  options: EngineOptions,
  requests: readonly SimRequest[],
  predictor: BatchPredictor,
  opts: AttentionDpRunOptions = {},
): Promise<SimulationResult> {
  const ranks = options.attentionDpRanks ?? 1;
  // The fast path (a Simulation per rank with its share of the requests and of the closed loop, decode
  // runs) routes requests as the router would only when they are alike: every request the same prompt and
  // output length, so requests end in the order they started. Otherwise, and with arrivals in time, the
  // ranks are EngineLoops and the router sees their live loads at every fetch.
  // (With the overlap loop a closed loop's next request joins the schedule made at the previous batch's
  // start, which the ranks' loops cannot replay: such runs take the fast path whatever the requests.)
  const overlap = options.overlap === true || options.timing === "overlap";
  if (!arrivalProcess(options.arrivals).clockFree || (!overlap && !uniform(requests, opts.warmup ?? []))) {
    const { decodeRuns: _d, ...rest } = opts;
    const { arrivals: _a, ...settings } = options;
    const setup = {
      what: "attention DP",
      stallLimit: 4,
      createLoop: (iterationStats: boolean) => new AttentionDpLoop({ ...settings, attentionDpRanks: ranks, iterationStats }),
    };
    return runOnLoop(setup, options, requests, predictor, rest);
  }
  const parts = partitionJob(options, requests, opts.warmup ?? [], ranks, options.numBlocks, "attention DP");
  const drafts = options.speculative?.maxDraftLen ?? 0;
  const balance = options.attentionDpBalance ? new AdpBalance(options.attentionDpBalance, options.maxBatchSize) : null;
  const timing = new LockstepTiming(ranks, options.maxBatchSize, opts.decodeRuns !== false && drafts === 0, drafts, balance);
  return runPartitioned(parts, requests.length, predictor, timing, opts);
}

/** Every request (measured and warm-up) has the same prompt and output length. */
function uniform(requests: readonly SimRequest[], warmup: readonly SimRequest[]): boolean {
  const first = requests[0] ?? warmup[0];
  if (!first) return true;
  const same = (q: SimRequest): boolean => q.inputLength === first.inputLength && q.outputTokens === first.outputTokens;
  return requests.every(same) && warmup.every(same);
}
