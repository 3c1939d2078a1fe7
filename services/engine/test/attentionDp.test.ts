import type { BatchPredictor, SimBatch } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { type EngineOptions, type IterationStats, runAttentionDp, type SimRequest } from "../src/index.js";

/** 10 ms with a context entry, else 5 ms; records every batch's per-rank entry counts. */
class RankCounter implements BatchPredictor {
  readonly description = "rank counter";
  readonly perRank: number[][] = [];
  predict(b: SimBatch): number {
    const counts = [0, 0];
    for (let i = 0; i < b.numContext + b.numGeneration; i++) counts[b.attentionDpRank![i]!]!++;
    this.perRank.push(counts);
    return b.numContext > 0 ? 10 : 5;
  }
}

const options = (o: Partial<EngineOptions>): EngineOptions => ({
  maxBatchSize: 2,
  maxNumTokens: 1000,
  maxSeqLen: 1000,
  ppSize: 1,
  capacityPolicy: "guaranteed_no_evict",
  chunking: null,
  tokensPerBlock: 16,
  numBlocks: 100,
  enableBlockReuse: false,
  arrivals: { kind: "all_at_once" },
  attentionDpRanks: 2,
  ...o,
});

const reqs = (n: number, out: number): SimRequest[] => Array.from({ length: n }, (_, i) => ({ taskId: i, inputLength: 32, outputTokens: out }));

describe("attention DP: ranks with their own batches, in lockstep", () => {
  it("each rank runs up to max_batch_size; every iteration is priced once with every rank's entries", async () => {
    const p = new RankCounter();
    const iters: IterationStats[] = [];
    const r = await runAttentionDp(options({}), reqs(8, 3), p, { onIteration: (s) => iters.push(s), decodeRuns: false });
    // Routed round-robin (equal prompts): 4 per rank, 2 at a time: [ctx, gen, gen] twice.
    expect(p.perRank).toEqual(Array.from({ length: 6 }, () => [2, 2]));
    expect(r.numIterations).toBe(6);
    expect(r.simulatedMs).toBe(40);
    expect(r.requests.map((q) => q.ttftMs)).toEqual([10, 10, 10, 10, 30, 30, 30, 30]);
    expect(r.requests.map((q) => q.endMs)).toEqual([20, 20, 20, 20, 40, 40, 40, 40]);
    expect(r.requests.map((q) => q.tpotMs)).toEqual(Array(8).fill(5));
    expect(iters.map((s) => s.inflightBatchingStats.numScheduledRequests)).toEqual([4, 4, 4, 4, 4, 4]);
    expect(iters.map((s) => s.maxNumActiveRequests)).toEqual(Array(6).fill(4));
    expect(r.numBlocks).toBe(200);
  });

  it("a concurrency limit is shared over the ranks; decode runs give the same records", async () => {
    const a = await runAttentionDp(options({ maxBatchSize: 8, arrivals: { kind: "concurrency", concurrency: 3 } }), reqs(9, 4), new RankCounter());
    const b = await runAttentionDp(options({ maxBatchSize: 8, arrivals: { kind: "concurrency", concurrency: 3 } }), reqs(9, 4), new RankCounter(), {
      decodeRuns: false,
    });
    expect(a.requests.map((q) => [q.startMs, q.endMs])).toEqual(b.requests.map((q) => [q.startMs, q.endMs]));
    // Ranks 0 and 1 hold 2 and 1 of the 3 in flight: three waves of 10 + 3 × 5 ms.
    expect(a.requests.map((q) => q.endMs)).toEqual([25, 25, 25, 50, 50, 50, 75, 75, 75]);
  });

  it("arrivals in time: requests routed at each iteration start with the ranks' live loads", async () => {
    const p = new RankCounter();
    const iters: IterationStats[] = [];
    const r = await runAttentionDp(options({ arrivals: { kind: "trace", submitMs: [0, 0, 1, 100] } }), reqs(4, 3), p, { onIteration: (s) => iters.push(s) });
    // t=0: requests 0 and 1 to ranks 0 and 1; t=10: request 2 (arrived at 1) to rank 0 (tie: lower rank);
    // request 3 arrives at 100, when every rank is idle.
    expect(p.perRank).toEqual([
      [1, 1],
      [2, 1],
      [2, 1],
      [1, 0],
      [1, 0],
      [1, 0],
      [1, 0],
    ]);
    expect(r.requests.map((q) => Array.from(q.tokenTimesMs))).toEqual([
      [10, 20, 25],
      [10, 20, 25],
      [20, 25, 30],
      [110, 115, 120],
    ]);
    expect(r.requests.map((q) => q.ttftMs)).toEqual([10, 10, 19, 10]);
    expect(r.numIterations).toBe(7);
    expect([r.numPrefillIterations, r.numMixedIterations, r.numDecodeIterations]).toEqual([2, 1, 4]);
    expect(iters.map((s) => s.inflightBatchingStats.numScheduledRequests)).toEqual([2, 3, 3, 1, 1, 1, 1]);
    expect(r.simulatedMs).toBe(120);
  });
});
