import type { BatchPredictor, SimBatch } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { type EngineOptions, type IterationStats, runPipeline, type SimRequest } from "../src/index.js";

class Fixed implements BatchPredictor {
  readonly description = "fixed";
  readonly sizes: number[] = [];
  predict(b: SimBatch): number {
    this.sizes.push(b.numContext + b.numGeneration);
    return b.numContext > 0 ? 10 : 5;
  }
}

const options = (o: Partial<EngineOptions>): EngineOptions => ({
  maxBatchSize: 2,
  maxNumTokens: 1000,
  maxSeqLen: 1000,
  ppSize: 2,
  capacityPolicy: "guaranteed_no_evict",
  chunking: null,
  tokensPerBlock: 16,
  numBlocks: 200,
  enableBlockReuse: false,
  arrivals: { kind: "all_at_once" },
  ...o,
});

const reqs = (n: number, out: number): SimRequest[] => Array.from({ length: n }, (_, i) => ({ taskId: i, inputLength: 32, outputTokens: out }));

describe("pipeline parallelism: micro-batches through the stages", () => {
  it("two micro-batches of max_batch_size in flight; stages work one micro-batch at a time", async () => {
    const p = new Fixed();
    const iters: IterationStats[] = [];
    const r = await runPipeline(options({}), reqs(8, 3), p, { onIteration: (s) => iters.push(s) });
    expect(p.sizes).toEqual(Array(12).fill(2));
    // Requests alternate between the slots. Slot 0: context ends at 10 (5 per stage), its decode steps at 17.5 and 22.5 (2.5 per stage, waiting for slot 1 on stage 1).
    expect(r.requests.slice(0, 4).map((q) => [q.firstTokenMs, q.endMs])).toEqual([
      [10, 22.5],
      [15, 25],
      [10, 22.5],
      [15, 25],
    ]);
    expect(r.requests[0]!.tpotMs).toBe(6.25);
    expect(r.numIterations).toBe(12);
    expect(iters.map((s) => s.iter)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(r.numBlocks).toBe(200);
  });
});
