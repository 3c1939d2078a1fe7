import { constant10x5, options, req, times, trace } from "@servesim/testkit";
import { describe, expect, it } from "vitest";

/** The worked examples of docs/engine.md: constant predictor, 10 ms with any context request, else 5 ms. */
describe("worked examples (docs/engine.md E1-E4)", () => {
  it("E1 PR #12700's check: one request P=128, N=8 → 8 iterations, TTFT 10, e2e 45, TPOT 5", () => {
    const { result, batches } = trace(options(), [req(0, 128, 8)], constant10x5());
    expect(result.numIterations).toBe(8);
    expect(result.numPrefillIterations).toBe(1);
    expect(result.numDecodeIterations).toBe(7);
    expect(result.numMixedIterations).toBe(0);
    const r = result.requests[0]!;
    expect(times(r)).toEqual([10, 15, 20, 25, 30, 35, 40, 45]);
    expect(r).toMatchObject({ startMs: 0, firstTokenMs: 10, endMs: 45, ttftMs: 10, e2eMs: 45, tpotMs: 5, outputLength: 8 });
    expect(batches[0]).toEqual({ isContext: [true], inputLength: [128], pastKvLength: [0], numContextTokens: 128 });
    // Decode step k feeds token k: past_kv_length = P + k - 1.
    expect(batches.slice(1).map((b) => b.pastKvLength[0])).toEqual([128, 129, 130, 131, 132, 133, 134]);
    expect(result.simulatedMs).toBe(45);
  });

  it("E2 three requests, max_batch_size 2, no chunking", () => {
    const { result, batches, iterations } = trace(options({ maxBatchSize: 2 }), [req(0, 100, 3), req(1, 200, 2), req(2, 50, 2)]);
    expect(batches).toEqual([
      { isContext: [true, true], inputLength: [100, 200], pastKvLength: [0, 0], numContextTokens: 300 },
      { isContext: [false, false], inputLength: [1, 1], pastKvLength: [100, 200], numContextTokens: 0 },
      { isContext: [true, false], inputLength: [50, 1], pastKvLength: [0, 101], numContextTokens: 50 },
      { isContext: [false], inputLength: [1], pastKvLength: [50], numContextTokens: 0 },
    ]);
    expect(iterations.map((s) => s.simTimeMs)).toEqual([10, 15, 25, 30]);
    expect(iterations.map((s) => s.numNewActiveRequests)).toEqual([2, 0, 1, 0]);
    expect(iterations.map((s) => s.numCompletedRequests)).toEqual([0, 1, 1, 1]);
    const [r0, r1, r2] = result.requests;
    expect(times(r0!)).toEqual([10, 15, 25]);
    expect(times(r1!)).toEqual([10, 15]);
    expect(times(r2!)).toEqual([25, 30]);
    expect([r0!.ttftMs, r0!.e2eMs, r0!.tpotMs]).toEqual([10, 25, 7.5]);
    expect([r1!.ttftMs, r1!.e2eMs, r1!.tpotMs]).toEqual([10, 15, 5]);
    expect([r2!.startMs, r2!.ttftMs, r2!.e2eMs, r2!.tpotMs]).toEqual([0, 25, 30, 5]);
    expect(result.simulatedMs).toBe(30);
    expect([result.numPrefillIterations, result.numDecodeIterations, result.numMixedIterations]).toEqual([1, 2, 1]);
  });

  describe("E3 chunked prefill, max_num_tokens 64, unit = tpb = 32, max_batch_size 4", () => {
    const opts = (chunking: "first_come_first_served" | "equal_progress") => options({ maxBatchSize: 4, maxNumTokens: 64, chunking, tokensPerBlock: 32 });
    const requests = [req(0, 100, 2), req(1, 40, 2)];

    it("FIRST_COME_FIRST_SERVED", () => {
      const { result, batches } = trace(opts("first_come_first_served"), requests);
      expect(batches).toEqual([
        { isContext: [true], inputLength: [64], pastKvLength: [0], numContextTokens: 64 },
        { isContext: [true], inputLength: [36], pastKvLength: [64], numContextTokens: 36 },
        { isContext: [true, false], inputLength: [40, 1], pastKvLength: [0, 100], numContextTokens: 40 },
        { isContext: [false], inputLength: [1], pastKvLength: [40], numContextTokens: 0 },
      ]);
      const [r0, r1] = result.requests;
      expect(times(r0!)).toEqual([20, 30]);
      expect(times(r1!)).toEqual([30, 35]);
      expect([r0!.ttftMs, r0!.e2eMs, r1!.ttftMs, r1!.e2eMs]).toEqual([20, 30, 30, 35]);
    });

    it("EQUAL_PROGRESS", () => {
      const { result, batches } = trace(opts("equal_progress"), requests);
      expect(batches).toEqual([
        { isContext: [true, true], inputLength: [32, 32], pastKvLength: [0, 0], numContextTokens: 64 },
        // R0 (not last chunk) before R1 (last chunk): last chunks last.
        { isContext: [true, true], inputLength: [32, 8], pastKvLength: [32, 32], numContextTokens: 40 },
        { isContext: [true, false], inputLength: [36, 1], pastKvLength: [64, 40], numContextTokens: 36 },
        { isContext: [false], inputLength: [1], pastKvLength: [100], numContextTokens: 0 },
      ]);
      const [r0, r1] = result.requests;
      expect(times(r0!)).toEqual([30, 35]);
      expect(times(r1!)).toEqual([20, 30]);
      expect([r0!.ttftMs, r0!.e2eMs, r1!.ttftMs, r1!.e2eMs]).toEqual([30, 35, 20, 30]);
    });
  });

  describe("E4 tpb 4, pool 6 blocks, reuse off, no chunking, max_batch_size 4; R0, R1: P=8, N=6", () => {
    const opts = (capacityPolicy: "max_utilization" | "guaranteed_no_evict") => options({ maxBatchSize: 4, tokensPerBlock: 4, numBlocks: 6, capacityPolicy });
    const requests = [req(0, 8, 6), req(1, 8, 6)];

    it("MAX_UTILIZATION pauses R1 at 30 ms and re-prefills its folded 13-token prompt", () => {
      const { result, batches, iterations } = trace(opts("max_utilization"), requests);
      expect(iterations.map((s) => s.simTimeMs)).toEqual([10, 15, 20, 25, 30, 35, 45]);
      expect(iterations.map((s) => s.kvCacheStats.usedNumBlocks)).toEqual([4, 6, 6, 6, 6, 0, 0]);
      expect(iterations.map((s) => s.inflightBatchingStats.numPausedRequests)).toEqual([0, 0, 0, 0, 0, 1, 0]);
      expect(batches[5]).toEqual({ isContext: [false], inputLength: [1], pastKvLength: [12], numContextTokens: 0 });
      expect(batches[6]).toEqual({ isContext: [true], inputLength: [13], pastKvLength: [0], numContextTokens: 13 });
      const [r0, r1] = result.requests;
      expect(times(r0!)).toEqual([10, 15, 20, 25, 30, 35]);
      expect(times(r1!)).toEqual([10, 15, 20, 25, 30, 45]);
      expect([r0!.ttftMs, r0!.e2eMs, r0!.tpotMs]).toEqual([10, 35, 5]);
      expect([r1!.ttftMs, r1!.e2eMs, r1!.tpotMs, r1!.pausedCount]).toEqual([10, 45, 7, 1]);
      expect(result.numPaused).toBe(1);
      expect(result.simulatedMs).toBe(45);
    });

    it("GUARANTEED_NO_EVICT admits only R0 until it frees its blocks at 35 ms", () => {
      const { result, iterations } = trace(opts("guaranteed_no_evict"), requests);
      const [r0, r1] = result.requests;
      expect(times(r0!)).toEqual([10, 15, 20, 25, 30, 35]);
      expect(times(r1!)).toEqual([45, 50, 55, 60, 65, 70]);
      expect([r1!.ttftMs, r1!.e2eMs]).toEqual([45, 70]);
      expect(result.numPaused).toBe(0);
      expect(result.simulatedMs).toBe(70);
      // KV stats after each iteration: a request's 4th block (KV length 13) is taken by its last step,
      // which also frees everything.
      expect(iterations.map((s) => s.kvCacheStats.usedNumBlocks)).toEqual([2, 3, 3, 3, 3, 0, 2, 3, 3, 3, 3, 0]);
    });
  });
});
