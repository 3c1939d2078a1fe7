import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import {
  type BatchPredictor,
  CancelledError,
  InvalidArgumentError,
  type IterationStats,
  type RequestRecord,
  type SimBatch,
  type SimulationResult,
} from "@servesim/core";
import { planArrivals } from "../arrivals/registry.js";
import type { RequestDoneEvent } from "../loop/engineLoop.js";
import { doneEventRecord } from "../loop/results.js";
import { createEngineLoop, type SingleEngineLoop } from "../loop/singleEngineLoop.js";
import { checkedTime, isThenable } from "../partitioned/driver.js";
import { mergeIterationStats } from "../partitioned/partition.js";
import type { EngineOptions, SimRequest, SimulationProgress } from "../types.js";
import { RankedBatch } from "./attentionDpLoop.js";
import { AdpBalance, balanceRanksAt } from "./balance.js";
import { type RankLoad, routeToRanks } from "./router.js";

export interface OpenLoopRunOptions {
  warmup?: readonly SimRequest[];
  signal?: AbortSignal;
  onProgress?: (p: SimulationProgress) => void;
  progressEveryMs?: number;
  onIteration?: (s: IterationStats) => void;
}

const NO_TIMES = new Float64Array(0);

/**
 * Attention DP with one EngineLoop per rank on one clock. At every iteration start the requests that have
 * arrived are routed to the ranks by TensorRT-LLM's router with the ranks' live loads (active requests
 * and their prompt tokens), as the executor does when it fetches new requests; then every rank schedules
 * its batch, the batches are priced together and every rank commits the same time. Under a concurrency
 * limit a request that ends submits the next one at its end; when no rank has work the clock jumps to the
 * next arrival. Warm-up requests run first (all at once); the measured run's clock starts when they are
 * done.
 */
export async function runAttentionDpLoops(
  options: EngineOptions,
  requests: readonly SimRequest[],
  predictor: BatchPredictor,
  opts: OpenLoopRunOptions = {},
): Promise<SimulationResult> {
  const ranks = options.attentionDpRanks ?? 1;
  const { arrivals, attentionDpRanks: _r, attentionDpBalance, ...settings } = options;
  const drafts = options.speculative?.maxDraftLen ?? 0;
  const loops: SingleEngineLoop[] = [];
  for (let k = 0; k < ranks; k++) loops.push(createEngineLoop({ ...settings, iterationStats: opts.onIteration !== undefined }));
  const batch = new RankedBatch(ranks * options.maxBatchSize, drafts);
  const loads: RankLoad[] = loops.map(() => ({ requests: 0, tokens: 0 }));
  const balance = attentionDpBalance ? new AdpBalance(attentionDpBalance, options.maxBatchSize) : null;
  const onIteration = opts.onIteration;
  let lastYield = performance.now();
  let lastProgress = lastYield;
  const cancelled = (): CancelledError => new CancelledError("simulation cancelled");

  /**
   * Runs `list` to the end from clock `t0`: request i arrives at t0 + arrive[i] for the first `known`
   * ones; in a closed loop (`closed`) every request that ends submits the next one at its end. Returns
   * the done events by list index.
   */
  const run = async (list: readonly SimRequest[], arrive: Float64Array, initiallyKnown: number, closed: boolean, t0: number, measured: boolean) => {
    const times = arrive;
    let known = initiallyKnown;
    const done: Array<RequestDoneEvent | undefined> = new Array(list.length);
    const handleOf = loops.map(() => new Map<number, number>());
    let next = 0;
    let t = t0;
    let iter = 0;
    let finished = 0;
    const kinds = { prefill: 0, decode: 0, mixed: 0 };
    const absorb = (k: number, events: RequestDoneEvent[]): void => {
      for (const e of events) {
        const i = handleOf[k]!.get(e.handle)!;
        done[i] = { ...e, tokenTimesMs: e.tokenTimesMs.length > 0 ? e.tokenTimesMs.slice() : NO_TIMES };
        loads[k]!.requests -= 1;
        loads[k]!.tokens -= list[i]!.inputLength;
        finished++;
        if (closed && known < list.length) times[known++] = Math.max(e.endMs, t) - t0;
      }
    };
    for (;;) {
      // Fetch: everything that has arrived by t, routed with the ranks' loads.
      if (next < known && t0 + times[next]! <= t) {
        let end = next;
        while (end < known && t0 + times[end]! <= t) end++;
        const lengths = new Int32Array(end - next);
        for (let i = next; i < end; i++) lengths[i - next] = list[i]!.inputLength;
        const to = routeToRanks(lengths, loads);
        for (let i = next; i < end; i++) {
          const k = to[i - next]!;
          handleOf[k]!.set(loops[k]!.submit(list[i]!, t), i);
        }
        next = end;
      }
      let start = Infinity;
      for (const l of loops) start = Math.min(start, l.nextEventTime());
      if (start === Infinity) {
        if (next >= known) break;
        t = Math.max(t, t0 + times[next]!);
        continue;
      }
      t = Math.max(t, start);
      // Every rank builds its batch at t; an idle rank runs none (the predictor prices a dummy request for it).
      const b = batch;
      if (balance) balanceRanksAt(loops, t, balance);
      const scheduled: Array<SimBatch | null> = loops.map((l) => (l.nextEventTime() <= t ? l.schedule(t) : null));
      for (let k = 0; k < ranks; k++) absorb(k, loops[k]!.takeEnded());
      const n = b.fill(scheduled);
      const nc = b.numContext;
      if (n === 0) {
        // Nothing could run at t (every scheduled request failed): wait for the next arrival, if any.
        if (next < known) {
          t = Math.max(t, t0 + times[next]!);
          continue;
        }
        let busy = false;
        for (const l of loops) busy ||= l.nextEventTime() !== Infinity;
        if (!busy) break;
        throw new Error("attention DP: ranks have work but none could schedule it");
      }
      if (nc > 0 && n > nc) kinds.mixed++;
      else if (nc > 0) kinds.prefill++;
      else kinds.decode++;
      const v = predictor.predict(b);
      const dt = checkedTime(isThenable(v) ? await v : v, predictor);
      if (opts.signal?.aborted) throw cancelled();
      const recs: IterationStats[] = [];
      let end = t;
      for (let k = 0; k < ranks; k++) {
        if (!scheduled[k]) continue;
        const ev = loops[k]!.commit(dt);
        end = Math.max(end, ev.endMs);
        absorb(k, ev.done);
        if (ev.iteration) recs.push(ev.iteration);
      }
      if (measured && onIteration && recs.length > 0) onIteration(mergeIterationStats(recs, iter));
      iter++;
      t = end;
      const now = performance.now();
      if (measured && opts.onProgress && now - lastProgress >= (opts.progressEveryMs ?? 250)) {
        lastProgress = now;
        opts.onProgress({ iterations: iter, requestsFinished: finished, requestsTotal: list.length, simTimeMs: t - t0, warmingUp: false });
      }
      if (now - lastYield >= 20) {
        await yieldToEventLoop();
        lastYield = performance.now();
        if (opts.signal?.aborted) throw cancelled();
      }
    }
    return { done, end: t, iterations: iter, kinds };
  };

  const warm = opts.warmup ?? [];
  let t0 = 0;
  if (warm.length > 0) t0 = (await run(warm, new Float64Array(warm.length), warm.length, false, 0, false)).end;
  const plan = planArrivals(arrivals, requests.length);
  // Processes that react to request ends (arrivals/reactive.ts) are only fed by Simulation.
  if (plan.reactive) throw new InvalidArgumentError("options.arrivals.kind", `${arrivals.kind} is not simulated with attention DP`);
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
  opts.onProgress?.({
    iterations: out.iterations,
    requestsFinished: requests.length,
    requestsTotal: requests.length,
    simTimeMs: out.end - t0,
    warmingUp: false,
  });
  let numBlocks = 0;
  for (const l of loops) numBlocks += l.load().kvTotalBlocks;
  return {
    requests: records,
    numIterations: out.iterations,
    numPrefillIterations: out.kinds.prefill,
    numDecodeIterations: out.kinds.decode,
    numMixedIterations: out.kinds.mixed,
    numPaused: paused,
    simulatedMs: out.end - t0,
    numBlocks,
    tokensPerBlock: options.tokensPerBlock,
    reusedBlocks: 0,
    missedBlocks: 0,
    numFailed: failed,
  };
}
