import { InvalidArgumentError, type IterationStats, type RequestRecord, type SimulationResult } from "@servesim/core";
import { type RankLoad, routeToRanks } from "../attentionDp/router.js";
import type { EngineOptions, SimRequest } from "../types.js";

/** One scheduler's share of a job: an attention-DP rank, or a pipeline micro-batch slot. */
export interface Partition {
  requests: SimRequest[];
  warmup: SimRequest[];
  /** Dataset index of each of `requests`. */
  index: Int32Array;
  options: EngineOptions;
}

/**
 * Routes requests in waves of `wave` (the requests the executor fetches at once) with TensorRT-LLM's
 * attention-DP router: longest prompt first to the partition with the fewest tokens so far, no partition
 * beyond its even share of a wave. Only `eligible` partitions take requests.
 */
function route(requests: readonly SimRequest[], parts: number, wave: number, eligible: readonly number[]): Int32Array {
  const out = new Int32Array(requests.length);
  const tokens = new Float64Array(parts);
  for (let start = 0; start < requests.length; start += wave) {
    const end = Math.min(requests.length, start + wave);
    const loads: RankLoad[] = eligible.map((p) => ({ requests: 0, tokens: tokens[p]! }));
    const lengths = new Int32Array(end - start);
    for (let i = start; i < end; i++) lengths[i - start] = requests[i]!.inputLength;
    const ranks = routeToRanks(lengths, loads);
    for (let i = start; i < end; i++) {
      const p = eligible[ranks[i - start]!]!;
      out[i] = p;
      tokens[p]! += requests[i]!.inputLength;
    }
  }
  return out;
}

/**
 * Splits a job over `parts` schedulers that each run TensorRT-LLM's loop on their own requests, batch
 * (max_batch_size), token budget and KV pool (`numBlocks` each). Arrivals all at once are routed in
 * waves of max_batch_size × parts (what the executor can activate at once); under a concurrency limit the
 * first `concurrency` requests are routed as one fetch and each partition keeps the number it got as its
 * own closed-loop limit: request j (submitted when request j − concurrency ends) goes where that one ran,
 * which is where the router sends it when requests finish in the order they started (the rank that just
 * lost a request has the fewest). Arrivals in time need one clock for all partitions and are refused here.
 */
export function partitionJob(
  options: EngineOptions,
  requests: readonly SimRequest[],
  warmup: readonly SimRequest[],
  parts: number,
  numBlocks: number,
  what: string,
): Partition[] {
  const a = options.arrivals;
  if (a.kind !== "all_at_once" && a.kind !== "concurrency") {
    throw new InvalidArgumentError(
      "options.arrivals",
      `${what} runs requests all at once or under a concurrency limit (closed loop); ${a.kind} arrivals are not supported with it yet`,
    );
  }
  const all = Array.from({ length: parts }, (_, p) => p);
  let measured: Int32Array;
  let limits: number[] | null = null;
  if (a.kind === "concurrency") {
    const first = Math.min(a.concurrency, requests.length);
    const firstRanks = route(requests.slice(0, first), parts, first, all);
    limits = new Array<number>(parts).fill(0);
    for (const p of firstRanks) limits[p]!++;
    measured = new Int32Array(requests.length);
    measured.set(firstRanks, 0);
    // Request j takes the place of request j − concurrency, whose end submitted it.
    for (let j = first; j < requests.length; j++) measured[j] = measured[j - first]!;
  } else {
    measured = route(requests, parts, options.maxBatchSize * parts, all);
  }
  const warmRanks = route(warmup, parts, options.maxBatchSize * parts, all);
  const out: Partition[] = [];
  for (let p = 0; p < parts; p++) {
    const reqs: SimRequest[] = [];
    const idx: number[] = [];
    for (let i = 0; i < requests.length; i++) {
      if (measured[i] === p) {
        reqs.push(requests[i]!);
        idx.push(i);
      }
    }
    const warm: SimRequest[] = [];
    for (let i = 0; i < warmup.length; i++) if (warmRanks[i] === p) warm.push(warmup[i]!);
    const arrivals: EngineOptions["arrivals"] = limits ? { kind: "concurrency", concurrency: Math.max(1, limits[p]!) } : { kind: "all_at_once" };
    const { attentionDpRanks: _ranks, attentionDpBalance: _balance, ...rest } = options;
    out.push({ requests: reqs, warmup: warm, index: Int32Array.from(idx), options: { ...rest, ppSize: 1, numBlocks, arrivals } });
  }
  return out;
}

/** The records of every partition back in dataset order, and the run's totals. */
export function mergeResults(
  parts: ReadonlyArray<{ partition: Partition; result: SimulationResult | null }>,
  total: number,
  iterations: { all: number; prefill: number; decode: number; mixed: number },
  simulatedMs: number,
): SimulationResult {
  const records: RequestRecord[] = new Array(total);
  let paused = 0;
  let blocks = 0;
  let reused = 0;
  let missed = 0;
  let failed = 0;
  let tokensPerBlock = 0;
  for (const { partition, result } of parts) {
    blocks += partition.options.numBlocks;
    tokensPerBlock = partition.options.tokensPerBlock;
    if (!result) continue;
    result.requests.forEach((r, i) => {
      records[partition.index[i]!] = r;
    });
    paused += result.numPaused;
    reused += result.reusedBlocks;
    missed += result.missedBlocks;
    failed += result.numFailed;
  }
  return {
    requests: records,
    numIterations: iterations.all,
    numPrefillIterations: iterations.prefill,
    numDecodeIterations: iterations.decode,
    numMixedIterations: iterations.mixed,
    numPaused: paused,
    simulatedMs,
    numBlocks: blocks,
    tokensPerBlock,
    reusedBlocks: reused,
    missedBlocks: missed,
    numFailed: failed,
  };
}

/** One iteration's record over several partitions' records of it: counts and KV blocks add up. */
export function mergeIterationStats(recs: readonly IterationStats[], iter: number): IterationStats {
  const first = recs[0]!;
  const out: IterationStats = {
    iter,
    iterLatencyMS: first.iterLatencyMS,
    simTimeMs: first.simTimeMs,
    numActiveRequests: 0,
    numQueuedRequests: 0,
    numCompletedRequests: 0,
    numNewActiveRequests: 0,
    maxNumActiveRequests: 0,
    inflightBatchingStats: { numScheduledRequests: 0, numContextRequests: 0, numCtxTokens: 0, numGenRequests: 0, numPausedRequests: 0 },
    kvCacheStats: {
      maxNumBlocks: 0,
      freeNumBlocks: 0,
      usedNumBlocks: 0,
      tokensPerBlock: first.kvCacheStats.tokensPerBlock,
      allocTotalBlocks: 0,
      allocNewBlocks: 0,
      reusedBlocks: 0,
      missedBlocks: 0,
      cacheHitRate: 0,
    },
  };
  for (const r of recs) {
    out.numActiveRequests += r.numActiveRequests;
    out.numQueuedRequests += r.numQueuedRequests;
    out.numCompletedRequests += r.numCompletedRequests;
    out.numNewActiveRequests += r.numNewActiveRequests;
    out.maxNumActiveRequests += r.maxNumActiveRequests;
    const a = out.inflightBatchingStats;
    const b = r.inflightBatchingStats;
    a.numScheduledRequests += b.numScheduledRequests;
    a.numContextRequests += b.numContextRequests;
    a.numCtxTokens += b.numCtxTokens;
    a.numGenRequests += b.numGenRequests;
    a.numPausedRequests += b.numPausedRequests;
    const k = out.kvCacheStats;
    const l = r.kvCacheStats;
    k.maxNumBlocks += l.maxNumBlocks;
    k.freeNumBlocks += l.freeNumBlocks;
    k.usedNumBlocks += l.usedNumBlocks;
    k.allocTotalBlocks += l.allocTotalBlocks;
    k.allocNewBlocks += l.allocNewBlocks;
    k.reusedBlocks += l.reusedBlocks;
    k.missedBlocks += l.missedBlocks;
  }
  const hits = out.kvCacheStats.reusedBlocks + out.kvCacheStats.missedBlocks;
  out.kvCacheStats.cacheHitRate = hits > 0 ? out.kvCacheStats.reusedBlocks / hits : 0;
  return out;
}
