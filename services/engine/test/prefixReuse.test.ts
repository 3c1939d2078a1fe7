import { options, req, times, trace } from "@servesim/testkit";
import { describe, expect, it } from "vitest";

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("KV block reuse (prefix caching: matching, storing, beneficialToSkip)", () => {
  it("a request shares the stored prompt blocks of one still running; stats count hits and misses", () => {
    const { result, batches, iterations } = trace(options({ tokensPerBlock: 4, enableBlockReuse: true, arrivals: { kind: "trace", submitMs: [0, 12] } }), [
      req(0, 10, 4, range(1, 10)),
      req(1, 10, 2, [...range(1, 8), 50, 51]),
    ]);
    // R1 is fetched at 15 ms: its first 9 tokens contain 2 full blocks, both cached by R0 → pre = 8.
    expect(batches[2]).toEqual({ isContext: [true, false], inputLength: [2, 1], pastKvLength: [8, 11], numContextTokens: 2 });
    const [r0, r1] = result.requests;
    expect(times(r0!)).toEqual([10, 15, 25, 30]);
    expect(times(r1!)).toEqual([25, 30]);
    expect([r1!.startMs, r1!.ttftMs, r1!.e2eMs, r1!.reusedTokens]).toEqual([12, 13, 18, 8]);
    const kv = iterations.map((s) => s.kvCacheStats);
    // Shared blocks are held once: R0 3 + R1's 1 fresh block.
    expect(kv[2]).toMatchObject({ usedNumBlocks: 4, allocTotalBlocks: 6, allocNewBlocks: 4, reusedBlocks: 2, missedBlocks: 4 });
    expect(kv[2]!.cacheHitRate).toBeCloseTo(2 / 6, 12);
    expect(kv[3]).toMatchObject({ usedNumBlocks: 0, freeNumBlocks: kv[3]!.maxNumBlocks, allocTotalBlocks: 7, allocNewBlocks: 5 });
    expect([result.reusedBlocks, result.missedBlocks]).toEqual([2, 4]);
  });

  it("matches only the first P-1 tokens: the last prompt token is always recomputed", () => {
    const { batches, result } = trace(options({ maxBatchSize: 1, tokensPerBlock: 4, enableBlockReuse: true }), [
      req(0, 8, 1, range(1, 8)),
      req(1, 8, 1, range(1, 8)),
      req(2, 9, 1, range(1, 9)),
    ]);
    // R1 = R0's prompt (2 full cached blocks) but only floor(7/4) = 1 block may match.
    expect(batches[1]).toEqual({ isContext: [true], inputLength: [4], pastKvLength: [4], numContextTokens: 4 });
    // R2 has one more token: floor(8/4) = 2 blocks match, 1 token computed.
    expect(batches[2]).toEqual({ isContext: [true], inputLength: [1], pastKvLength: [8], numContextTokens: 1 });
    expect(result.requests.map((r) => r.reusedTokens)).toEqual([0, 4, 8]);
  });

  it("with chunking the cached prefix moves the chunk; a chunk reaching the prompt end becomes the last one", () => {
    const { batches, result } = trace(
      options({ maxBatchSize: 1, maxNumTokens: 16, chunking: "first_come_first_served", tokensPerBlock: 4, enableBlockReuse: true }),
      [req(0, 12, 1, range(1, 12)), req(1, 20, 1, range(1, 20)), req(2, 52, 1, [...range(1, 12), ...range(100, 139)])],
    );
    // R1: scheduler chunk 16 of 20; 3 cached blocks → pre 12; 12 + 16 >= 20 → chunk = 20 - 12 = 8, last chunk.
    expect(batches[1]).toEqual({ isContext: [true], inputLength: [8], pastKvLength: [12], numContextTokens: 8 });
    // R2: pre 12, chunk 16 → ends at 28 (block boundary), then 16 and the last 8.
    expect(batches.slice(2)).toEqual([
      { isContext: [true], inputLength: [16], pastKvLength: [12], numContextTokens: 16 },
      { isContext: [true], inputLength: [16], pastKvLength: [28], numContextTokens: 16 },
      { isContext: [true], inputLength: [8], pastKvLength: [44], numContextTokens: 8 },
    ]);
    expect(result.requests.map(times)).toEqual([[10], [20], [50]]);
  });

  it("beneficialToSkip holds back a request whose first new block an earlier chunked prefill is computing", () => {
    const ids = range(1, 16);
    const { batches, result } = trace(
      options({ maxBatchSize: 4, maxNumTokens: 8, chunking: "first_come_first_served", tokensPerBlock: 4, enableBlockReuse: true }),
      [req(0, 16, 2, ids), req(1, 16, 2, ids)],
    );
    expect(batches).toEqual([
      { isContext: [true], inputLength: [8], pastKvLength: [0], numContextTokens: 8 },
      { isContext: [true], inputLength: [8], pastKvLength: [8], numContextTokens: 8 },
      // R1 was skipped twice; now 3 of its blocks are cached (P-1 = 15 tokens): chunk 4 after pre 12, last.
      { isContext: [true, false], inputLength: [4, 1], pastKvLength: [12, 16], numContextTokens: 4 },
      { isContext: [false], inputLength: [1], pastKvLength: [16], numContextTokens: 0 },
    ]);
    expect(result.requests.map(times)).toEqual([
      [20, 30],
      [30, 35],
    ]);
    expect(result.requests[1]!.reusedTokens).toBe(12);
    expect([result.reusedBlocks, result.missedBlocks]).toEqual([3, 5]);
  });

  it("cached blocks stay in the free queue and are evicted oldest-first when fresh blocks are needed", () => {
    const run = (numBlocks: number) =>
      trace(options({ maxBatchSize: 1, tokensPerBlock: 4, numBlocks, enableBlockReuse: true }), [
        req(0, 9, 1, range(1, 9)),
        req(1, 16, 1, range(101, 116)),
        req(2, 9, 1, range(1, 9)),
      ]);
    // Pool 5: R1's 4 fresh blocks take the 3 never-cached blocks, then evict R0's block 1 (released before block 0).
    expect(run(5).batches[2]).toEqual({ isContext: [true], inputLength: [5], pastKvLength: [4], numContextTokens: 5 });
    // Pool 6: R1 only takes never-cached blocks, both of R0's blocks survive.
    expect(run(6).batches[2]).toEqual({ isContext: [true], inputLength: [1], pastKvLength: [8], numContextTokens: 1 });
  });

  it("requests without token ids never share, and reuse off never matches", () => {
    const noIds = trace(options({ maxBatchSize: 1, tokensPerBlock: 4, enableBlockReuse: true }), [req(0, 8, 1), req(1, 8, 1)]);
    expect(noIds.batches[1]).toEqual({ isContext: [true], inputLength: [8], pastKvLength: [0], numContextTokens: 8 });
    expect([noIds.result.reusedBlocks, noIds.result.missedBlocks]).toEqual([0, 4]);
    const off = trace(options({ maxBatchSize: 1, tokensPerBlock: 4, enableBlockReuse: false }), [req(0, 8, 1, range(1, 8)), req(1, 8, 1, range(1, 8))]);
    expect(off.batches[1]!.pastKvLength).toEqual([0]);
    expect([off.result.reusedBlocks, off.result.missedBlocks]).toEqual([0, 0]);
  });
});
