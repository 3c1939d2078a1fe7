import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { type BatchPredictor, CancelledError, InvalidArgumentError, type RequestRecord, type SimulationResult } from "@servesim/core";
import { planArrivals } from "../arrivals/registry.js";
import { checkedTime, isThenable, type PartitionedRunOptions } from "../partitioned/driver.js";
import type { EngineOptions, SimRequest } from "../types.js";
import { type EngineLoop, priceOn, type RequestDoneEvent } from "./engineLoop.js";
import { doneEventRecord } from "./results.js";

export interface LoopRunOptions extends PartitionedRunOptions {
  warmup?: readonly SimRequest[];
}

/** What runOnLoop needs to know of the loop it drives. */
export interface LoopDriverSetup {
  /** Builds the loop; `iterationStats` is on when the caller wants iteration records. */
  createLoop(iterationStats: boolean): EngineLoop;
  /** Names the mechanism in errors ("pipeline parallelism", "attention DP"). */
  what: string;
  /** Consecutive schedule() calls that may return null before the run is declared stuck. */
  stallLimit: number;
}

/**
 * Runs a job on one composite EngineLoop (a PipelineLoop, an AttentionDpLoop) and one clock: requests arrive at
 * their times (Poisson, gamma, a trace, all at once) or, under a concurrency limit, each when a request ends; the
 * loop fetches the requests that have arrived when it schedules an iteration. Warm-up requests run first, all at
 * once; the measured run's clock starts when they are done. The predictor prices what schedule() returns.
 */
export async function runOnLoop(
  setup: LoopDriverSetup,
  options: EngineOptions,
  requests: readonly SimRequest[],
  priced: BatchPredictor,
  opts: LoopRunOptions = {},
): Promise<SimulationResult> {
  const plan = planArrivals(options.arrivals, requests.length);
  // Processes that react to request ends (arrivals/reactive.ts) are only fed by Simulation.
  if (plan.reactive) throw new InvalidArgumentError("options.arrivals.kind", `${options.arrivals.kind} is not simulated with ${setup.what}`);
  const onIteration = opts.onIteration;
  const loop = setup.createLoop(onIteration !== undefined);
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
          throw new Error(`${setup.what}: ${list.length - finished} requests neither finished nor schedulable`);
        }
        continue;
      }
      const b = loop.schedule(t);
      const before = finished;
      absorb(loop.takeEnded());
      if (b === null) {
        // Every request scheduled failed on admission (progress), or a composite loop passed over an inner loop
        // with nothing to run; repeated without either, the loop is stuck.
        stalls = finished > before ? 0 : stalls + 1;
        if (stalls > setup.stallLimit) throw new Error(`${setup.what}: no iteration could be scheduled at ${t} ms`);
        continue;
      }
      stalls = 0;
      if (b.numContext > 0 && b.numGeneration > 0) kinds.mixed++;
      else if (b.numContext > 0) kinds.prefill++;
      else kinds.decode++;
      const v = priceOn(loop, priced, b);
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
