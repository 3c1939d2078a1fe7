import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { type BatchPredictor, CancelledError, InvalidArgumentError, type RequestRecord, type SimulationResult } from "@servesim/core";
import { planArrivals } from "../arrivals/registry.js";
import type { RequestDoneEvent } from "../loop/engineLoop.js";
import { doneEventRecord } from "../loop/results.js";
import { checkedTime, isThenable, type PartitionedRunOptions } from "../partitioned/driver.js";
import { DraftTokensPredictor } from "../speculative/draftTokens.js";
import type { EngineOptions, SimRequest } from "../types.js";
import { PipelineLoop } from "./pipelineLoop.js";

export interface PipelineLoopRunOptions extends PartitionedRunOptions {
  warmup?: readonly SimRequest[];
}

/**
 * Runs a pipeline-parallel job on one PipelineLoop and one clock: requests arrive at their times (Poisson, gamma,
 * a trace, all at once) or, under a concurrency limit, each when a request ends; every loop iteration admits the
 * requests that have arrived at its micro-batch boundary. Warm-up requests run first, all at once; the measured
 * run's clock starts when they are done. Used for arrivals in time and for PP with attention DP.
 */
export async function runPipelineLoop(
  options: EngineOptions,
  requests: readonly SimRequest[],
  predictor: BatchPredictor,
  opts: PipelineLoopRunOptions = {},
): Promise<SimulationResult> {
  const { arrivals, ...settings } = options;
  const plan = planArrivals(arrivals, requests.length);
  // Processes that react to request ends (arrivals/reactive.ts) are only fed by Simulation.
  if (plan.reactive) throw new InvalidArgumentError("options.arrivals.kind", `${arrivals.kind} is not simulated with pipeline parallelism`);
  const onIteration = opts.onIteration;
  const loop = new PipelineLoop({ ...settings, iterationStats: onIteration !== undefined });
  // An attention-DP slot's batch carries its drafts; a plain slot's batch gets them here.
  const drafts = options.speculative?.maxDraftLen ?? 0;
  const priced = drafts > 0 && (options.attentionDpRanks ?? 1) <= 1 ? new DraftTokensPredictor(predictor, drafts) : predictor;
  let lastYield = performance.now();
  let lastProgress = lastYield;

  /**
   * Runs `list` to the end from clock `t0`: the first `known` requests arrive at t0 + arrive[i]; in a closed loop
   * every request that ends submits the next one at its end. Returns the done events by list index.
   */
  const run = async (list: readonly SimRequest[], arrive: Float64Array, initiallyKnown: number, closed: boolean, t0: number, measured: boolean) => {
    const done: Array<RequestDoneEvent | undefined> = new Array(list.length);
    const indexOf: number[] = [];
    let known = initiallyKnown;
    let submitted = 0;
    let lastSubmit = t0;
    let finished = 0;
    let iterations = 0;
    let end = t0;
    let stalls = 0;
    const kinds = { prefill: 0, decode: 0, mixed: 0 };
    const submitKnown = (): void => {
      for (; submitted < known; submitted++) {
        lastSubmit = Math.max(lastSubmit, t0 + arrive[submitted]!);
        indexOf[loop.submit(list[submitted]!, lastSubmit)] = submitted;
      }
    };
    const absorb = (events: readonly RequestDoneEvent[]): void => {
      for (const e of events) {
        const i = indexOf[e.handle]!;
        done[i] = e;
        finished++;
        end = Math.max(end, e.endMs);
        if (closed && known < list.length) arrive[known++] = Math.max(e.endMs, lastSubmit) - t0;
      }
      if (closed) submitKnown();
    };
    submitKnown();
    while (finished < list.length) {
      const t = loop.nextEventTime();
      if (t === Number.POSITIVE_INFINITY) {
        absorb(loop.takeEnded());
        if (finished < list.length && loop.nextEventTime() === Number.POSITIVE_INFINITY) {
          throw new Error(`pipeline: ${list.length - finished} requests neither finished nor schedulable`);
        }
        continue;
      }
      const b = loop.schedule(t);
      absorb(loop.takeEnded());
      if (b === null) {
        // A slot's requests all failed on admission; anything else means the loop made no progress.
        if (++stalls > 4 * options.ppSize + 4) throw new Error(`pipeline: no micro-batch could be scheduled at ${t} ms`);
        continue;
      }
      stalls = 0;
      if (b.numContext > 0 && b.numGeneration > 0) kinds.mixed++;
      else if (b.numContext > 0) kinds.prefill++;
      else kinds.decode++;
      const v = priced.predict(b);
      const dt = checkedTime(isThenable(v) ? await v : v, priced);
      if (opts.signal?.aborted) throw new CancelledError("simulation cancelled");
      const ev = loop.commit(dt);
      end = Math.max(end, ev.endMs);
      absorb(ev.done);
      if (measured && onIteration && ev.iteration) onIteration({ ...ev.iteration, iter: iterations, simTimeMs: ev.iteration.simTimeMs - t0 });
      iterations++;
      const now = performance.now();
      if (measured && opts.onProgress && now - lastProgress >= (opts.progressEveryMs ?? 250)) {
        lastProgress = now;
        opts.onProgress({ iterations, requestsFinished: finished, requestsTotal: list.length, simTimeMs: ev.endMs - t0, warmingUp: false });
      }
      if (now - lastYield >= 20) {
        await yieldToEventLoop();
        lastYield = performance.now();
        if (opts.signal?.aborted) throw new CancelledError("simulation cancelled");
      }
    }
    return { done, end, iterations, kinds };
  };

  if (opts.signal?.aborted) throw new CancelledError("simulation cancelled");
  const warm = opts.warmup ?? [];
  let t0 = 0;
  if (warm.length > 0) t0 = (await run(warm, new Float64Array(warm.length), warm.length, false, 0, false)).end;
  const order = Array.from(plan.order);
  const closed = plan.concurrency > 0;
  const known = closed ? plan.initiallySubmitted : requests.length;
  const times = new Float64Array(requests.length);
  for (let i = 0; i < known; i++) times[i] = plan.submitMs[order[i]!]!;
  const list = order.map((i) => requests[i]!);
  const out = await run(list, times, known, closed, t0, true);
  const records: RequestRecord[] = new Array(requests.length);
  let failed = 0;
  let paused = 0;
  order.forEach((ri, li) => {
    const e = out.done[li]!;
    records[ri] = doneEventRecord(requests[ri]!, e, times[li]!, t0);
    if (e.error !== undefined) failed++;
    else paused += e.pausedCount;
  });
  const simulatedMs = out.end - t0;
  opts.onProgress?.({
    iterations: out.iterations,
    requestsFinished: requests.length,
    requestsTotal: requests.length,
    simTimeMs: simulatedMs,
    warmingUp: false,
  });
  return {
    requests: records,
    numIterations: out.iterations,
    numPrefillIterations: out.kinds.prefill,
    numDecodeIterations: out.kinds.decode,
    numMixedIterations: out.kinds.mixed,
    numPaused: paused,
    simulatedMs,
    numBlocks: loop.load().kvTotalBlocks,
    tokensPerBlock: options.tokensPerBlock,
    reusedBlocks: 0,
    missedBlocks: 0,
    numFailed: failed,
  };
}
