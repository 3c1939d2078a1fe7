import { options, req, times, trace } from "@servesim/testkit";
import { describe, expect, it } from "vitest";

describe("capacity policies and budgets", () => {
  it("STATIC_BATCH starts new requests only when no generation is in flight", () => {
    const requests = [req(0, 10, 3), req(1, 10, 1), req(2, 10, 2)];
    const stat = trace(options({ maxBatchSize: 2, capacityPolicy: "static_batch" }), requests);
    // iter0 ctx R0,R1 @10 (R1 done); iter1-2 gen R0 @15,20; iter3 ctx R2 @30; iter4 gen R2 @35.
    expect(stat.result.requests.map(times)).toEqual([[10, 15, 20], [10], [30, 35]]);
    expect(stat.batches.map((b) => b.isContext)).toEqual([[true, true], [false], [false], [true], [false]]);
    const noEvict = trace(options({ maxBatchSize: 2 }), requests);
    // NO_EVICT mixes R2's prefill with R0's decode (a 10 ms mixed step).
    expect(noEvict.result.requests.map(times)).toEqual([[10, 20, 25], [10], [20, 25]]);
  });

  it("without chunking a context that overflows max_num_tokens stops the scan (head-of-line)", () => {
    const { result, batches } = trace(options({ maxNumTokens: 256 }), [req(0, 200, 2), req(1, 100, 2), req(2, 50, 2)]);
    // R1 (200+100 > 256) breaks the scan, so R2 (50 tokens, would fit) waits too.
    expect(batches[0]).toEqual({ isContext: [true], inputLength: [200], pastKvLength: [0], numContextTokens: 200 });
    expect(batches[1]).toEqual({ isContext: [true, true, false], inputLength: [100, 50, 1], pastKvLength: [0, 0, 200], numContextTokens: 150 });
    expect(result.requests.map(times)).toEqual([
      [10, 20],
      [20, 25],
      [20, 25],
    ]);
  });

  it("GUARANTEED_NO_EVICT admits FCFS without skipping ahead to a request that would fit", () => {
    // tpb 4, pool 6: R0 needs ceil(14/4)=4, R1 ceil(16/4)=4 > 2 left → break; R2 (2 blocks) waits behind R1.
    const { result } = trace(options({ tokensPerBlock: 4, numBlocks: 6 }), [req(0, 8, 6), req(1, 12, 4), req(2, 4, 1)]);
    expect(result.requests.map(times)).toEqual([[10, 15, 20, 25, 30, 35], [45, 50, 55, 60], [45]]);
  });

  it("max_batch_size caps the scheduled requests and max_num_tokens the decode tokens", () => {
    const { batches } = trace(options({ maxBatchSize: 3, maxNumTokens: 2, chunking: "first_come_first_served", tokensPerBlock: 1 }), [
      req(0, 1, 3),
      req(1, 1, 3),
      req(2, 1, 3),
    ]);
    for (const b of batches) {
      expect(b.isContext.length).toBeLessThanOrEqual(3);
      expect(b.numContextTokens + b.isContext.filter((c) => !c).length).toBeLessThanOrEqual(2);
    }
    // iter0: R0, R1 take the 2-token budget (R2 gets a 0-token chunk and is not scheduled).
    expect(batches[0]).toEqual({ isContext: [true, true], inputLength: [1, 1], pastKvLength: [0, 0], numContextTokens: 2 });
    // iter1: decode R0, R1 use the budget; R2 waits.
    expect(batches[1]).toEqual({ isContext: [false, false], inputLength: [1, 1], pastKvLength: [1, 1], numContextTokens: 0 });
  });

  it("MAX_UTILIZATION with reuse: the re-prefill after a pause hits the blocks the request just released", () => {
    const ids0 = [1, 2, 3, 4, 5, 6, 7, 8];
    const ids1 = [11, 12, 13, 14, 15, 16, 17, 18];
    const { result, batches } = trace(
      options({ maxBatchSize: 4, tokensPerBlock: 4, numBlocks: 6, capacityPolicy: "max_utilization", enableBlockReuse: true }),
      [req(0, 8, 6, ids0), req(1, 8, 6, ids1)],
    );
    // Paused at 30 ms with KV 12 = 2 prompt blocks + 1 generated block, all stored; R0's step takes the
    // oldest free block (the generated one, released first), so 2 blocks = 8 tokens are reused.
    expect(batches[6]).toEqual({ isContext: [true], inputLength: [5], pastKvLength: [8], numContextTokens: 5 });
    expect(times(result.requests[1]!)).toEqual([10, 15, 20, 25, 30, 45]);
    expect(result.requests[1]!.reusedTokens).toBe(8);
    expect(result.reusedBlocks).toBe(2);
    expect(result.missedBlocks).toBe(2 + 2 + 2);
  });

  it("MAX_UTILIZATION pauses a mid-chunk context: blocks freed, prefill restarts from position 0", () => {
    // tpb 4, pool 5, FCFS chunking, max_num_tokens 9. R0 P=4 N=3; R1 P=16 N=1.
    const { result, batches } = trace(
      options({ maxBatchSize: 4, maxNumTokens: 9, tokensPerBlock: 4, numBlocks: 5, capacityPolicy: "max_utilization", chunking: "first_come_first_served" }),
      [req(0, 4, 3), req(1, 16, 1)],
    );
    expect(batches).toEqual([
      // iter0: R0 whole (4), R1 floor(5/4)*4 = 4, not last → first (last chunks last). All 5 blocks now held.
      { isContext: [true, true], inputLength: [4, 4], pastKvLength: [0, 0], numContextTokens: 8 },
      // iter1: R0 needs a 2nd block, none free → R1 (last started) is paused, its 4 blocks freed.
      { isContext: [false], inputLength: [1], pastKvLength: [4], numContextTokens: 0 },
      // iter2: R1 needs 4 blocks at its (new) first chunk, 3 free, nobody to pause → waits.
      { isContext: [false], inputLength: [1], pastKvLength: [5], numContextTokens: 0 },
      { isContext: [true], inputLength: [8], pastKvLength: [0], numContextTokens: 8 },
      { isContext: [true], inputLength: [8], pastKvLength: [8], numContextTokens: 8 },
    ]);
    expect(times(result.requests[0]!)).toEqual([10, 15, 20]);
    expect(times(result.requests[1]!)).toEqual([40]);
    expect(result.requests[1]!.pausedCount).toBe(1);
    expect(result.numPaused).toBe(1);
  });

  it("MAX_UTILIZATION with a tiny cache never livelocks: the oldest request always progresses", () => {
    const requests = Array.from({ length: 10 }, (_, i) => req(i, 3 + (i % 4), 5 + (i % 3)));
    const { result } = trace(options({ maxBatchSize: 8, tokensPerBlock: 1, numBlocks: 12, capacityPolicy: "max_utilization" }), requests);
    expect(result.requests.every((r) => r.error === undefined && r.tokenTimesMs.length === r.outputLength)).toBe(true);
    expect(result.numPaused).toBeGreaterThan(0);
  });

  it("iteration records carry TensorRT-LLM's stats", () => {
    const { iterations } = trace(options({ maxBatchSize: 2, tokensPerBlock: 32, numBlocks: 100 }), [req(0, 100, 3), req(1, 200, 2), req(2, 50, 2)]);
    expect(iterations[0]).toEqual({
      iter: 0,
      iterLatencyMS: 10,
      simTimeMs: 10,
      numActiveRequests: 2,
      numQueuedRequests: 1,
      numCompletedRequests: 0,
      numNewActiveRequests: 2,
      maxNumActiveRequests: 2,
      inflightBatchingStats: { numScheduledRequests: 2, numContextRequests: 2, numCtxTokens: 300, numGenRequests: 0, numPausedRequests: 0 },
      kvCacheStats: {
        maxNumBlocks: 100,
        freeNumBlocks: 89,
        usedNumBlocks: 11,
        tokensPerBlock: 32,
        allocTotalBlocks: 11,
        allocNewBlocks: 11,
        reusedBlocks: 0,
        missedBlocks: 0,
        cacheHitRate: 0,
      },
    });
    // Iteration 1: R1 finished and freed its 7 blocks; R0's KV grew to 101 tokens, still 4 blocks.
    expect(iterations[1]!.kvCacheStats.usedNumBlocks).toBe(4);
  });
});
