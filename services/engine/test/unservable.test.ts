import { options, req, times, trace } from "@servesim/testkit";
import { describe, expect, it } from "vitest";

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("requests that can never run fail alone", () => {
  it("without chunking, a prompt longer than max_num_tokens is rejected with TensorRT-LLM's message", () => {
    const { result } = trace(options({ maxNumTokens: 256 }), [req(7, 300, 4), req(8, 100, 2)]);
    const [bad, ok] = result.requests;
    expect(bad!.error).toBe("The sum of prompt length (300), query length (0) should not exceed max_num_tokens (256)");
    expect(bad).toMatchObject({ taskId: 7, outputLength: 0, startMs: 0, ttftMs: 0, e2eMs: 0, tpotMs: 0 });
    expect(bad!.tokenTimesMs.length).toBe(0);
    expect(times(ok!)).toEqual([10, 15]);
    expect(result.numFailed).toBe(1);
    // With chunking the same prompt runs.
    const chunked = trace(options({ maxNumTokens: 256, chunking: "first_come_first_served" }), [req(7, 300, 4)]);
    expect(chunked.result.requests[0]!.error).toBeUndefined();
  });

  it("a request needing more blocks than the whole pool fails (P+N under NO_EVICT, P+N-1 under MAX_UTILIZATION)", () => {
    // tpb 4, 3 blocks: P=8, N=5 reserves ceil(13/4) = 4 blocks, but only ever writes 12 tokens = 3 blocks.
    const noEvict = trace(options({ tokensPerBlock: 4, numBlocks: 3 }), [req(0, 8, 5), req(1, 4, 2)]);
    expect(noEvict.result.requests[0]!.error).toBe("needs 4 KV blocks (8 prompt + 5 output tokens at 4 tokens per block) but the whole KV cache has 3 blocks");
    expect(times(noEvict.result.requests[1]!)).toEqual([10, 15]);
    const maxUtil = trace(options({ tokensPerBlock: 4, numBlocks: 3, capacityPolicy: "max_utilization" }), [req(0, 8, 5)]);
    expect(maxUtil.result.requests[0]!.error).toBeUndefined();
    expect(times(maxUtil.result.requests[0]!)).toEqual([10, 15, 20, 25, 30]);
  });

  it("a request longer than max_seq_len fails", () => {
    const { result } = trace(options({ maxSeqLen: 100 }), [req(0, 90, 20), req(1, 90, 10)]);
    expect(result.requests[0]!.error).toBe("prompt length (90) + output tokens (20) = 110 exceeds max_seq_len (100)");
    expect(result.requests[1]!.error).toBeUndefined();
  });

  it("with chunking, a prompt over max_num_tokens fails when the chunk unit exceeds max_num_tokens", () => {
    const { result } = trace(options({ maxNumTokens: 16, chunking: "equal_progress", tokensPerBlock: 32 }), [req(0, 40, 2), req(1, 16, 2)]);
    expect(result.requests[0]!.error).toMatch(/prompt length \(40\) exceeds max_num_tokens \(16\).*chunk unit \(32 tokens\)/);
    expect(times(result.requests[1]!)).toEqual([10, 15]);
  });

  it("MAX_UTILIZATION without chunking: a paused request whose folded prompt exceeds max_num_tokens fails", () => {
    // tpb 4, pool 6, max_num_tokens 8, R0 and R1: P=4, N=12. At 50 ms both hold 3 blocks (KV 12); R0's
    // 13th KV token needs a 4th block → R1 is paused after 9 tokens; folded prompt 4 + 9 = 13 > 8.
    const { result } = trace(options({ maxBatchSize: 4, maxNumTokens: 8, tokensPerBlock: 4, numBlocks: 6, capacityPolicy: "max_utilization" }), [
      req(0, 4, 12),
      req(1, 4, 12),
    ]);
    expect(times(result.requests[0]!)).toEqual([10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65]);
    expect(result.requests[1]!.error).toBe(
      "paused after 9 tokens; its folded prompt (13 tokens) exceeds max_num_tokens (8) and chunked context is disabled, so it can never be re-prefilled",
    );
    expect(result.requests[1]!.pausedCount).toBe(1);
    expect(result.numPaused).toBe(1);
    expect(result.simulatedMs).toBe(65);
  });

  it("the stall safety net rejects the request blocking a real NO_EVICT + chunking + reuse deadlock", () => {
    // X and A share a prompt; A is skipped (beneficialToSkip) while B starts chunking. Once X is done,
    // A (9 blocks) no longer fits beside B's 6, and head-of-line keeps B from finishing: deadlock.
    const { result, batches } = trace(
      options({ maxBatchSize: 4, maxNumTokens: 16, chunking: "first_come_first_served", tokensPerBlock: 4, numBlocks: 14, enableBlockReuse: true }),
      [req(0, 24, 1, range(1, 24)), req(1, 24, 12, range(1, 24)), req(2, 24, 1, range(101, 124))],
    );
    expect(batches).toEqual([
      { isContext: [true], inputLength: [16], pastKvLength: [0], numContextTokens: 16 },
      { isContext: [true, true], inputLength: [8, 8], pastKvLength: [0, 16], numContextTokens: 16 },
      { isContext: [true], inputLength: [16], pastKvLength: [8], numContextTokens: 16 },
    ]);
    const [x, a, b] = result.requests;
    expect(times(x!)).toEqual([20]);
    expect(a!.error).toBe("deadlock: the scheduler can make no progress; this request needs 9 more KV blocks and only 8 are available");
    expect(times(b!)).toEqual([30]);
  });
});
