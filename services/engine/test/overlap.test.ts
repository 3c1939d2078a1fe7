import { InvalidArgumentError } from "@servesim/core";
import { constant10x5, options, req, times, trace } from "@servesim/testkit";
import { describe, expect, it } from "vitest";
import { Simulation } from "../src/simulation.js";

/**
 * The overlap scheduler (`PyExecutor._executor_loop_overlap`), worked by hand with the examples' constant predictor
 * (10 ms with a context request, else 5 ms). Batch i is scheduled when batch i-1 starts on the GPU; a
 * request whose token from batch i finishes it is GENERATION_TO_COMPLETE (kept in active_requests and in
 * the capacity scheduler, left out of the micro-batch); batch i is processed (requests freed, next
 * requests submitted) after batch i+1 is launched. Tokens are stamped with the end of their batch.
 */
const overlap = (over: Parameters<typeof options>[0] = {}) => options({ ...over, overlap: true });

describe("overlap scheduler: worked examples", () => {
  it("E1 one request P=128, N=8: the same 8 iterations and token times as the non-overlap loop", () => {
    const { result, batches } = trace(overlap(), [req(0, 128, 8)], constant10x5());
    expect(result.numIterations).toBe(8);
    expect(times(result.requests[0]!)).toEqual([10, 15, 20, 25, 30, 35, 40, 45]);
    expect(result.requests[0]).toMatchObject({ ttftMs: 10, e2eMs: 45, tpotMs: 5 });
    // Decode inputs come from the batch in flight: no extra lag, same past KV lengths.
    expect(batches.map((b) => b.pastKvLength[0])).toEqual([0, 128, 129, 130, 131, 132, 133, 134]);
    expect(result.simulatedMs).toBe(45);
  });

  it("E2 max_batch_size 2: R1's slot is released one iteration late, so R2 is admitted one iteration later", () => {
    // Iter 0: ctx R0, R1 0→10. Iter 1 (scheduled while iter 0 runs): gen R0, R1 10→15; R1's token 2 finishes
    // it → GENERATION_TO_COMPLETE. Iter 2: R1 still holds a slot (active = 2), so R2 waits; gen R0 only
    // 15→20 (R0 → TO_COMPLETE); launching it processes iter 1 and frees R1. Iter 3: R2 activated; ctx R2
    // 20→30; iter 2 processed, R0 freed. Iter 4: gen R2 30→35. Then nothing to schedule: iter 4 is drained.
    const { result, batches, iterations } = trace(overlap({ maxBatchSize: 2 }), [req(0, 100, 3), req(1, 200, 2), req(2, 50, 2)]);
    expect(batches).toEqual([
      { isContext: [true, true], inputLength: [100, 200], pastKvLength: [0, 0], numContextTokens: 300 },
      { isContext: [false, false], inputLength: [1, 1], pastKvLength: [100, 200], numContextTokens: 0 },
      { isContext: [false], inputLength: [1], pastKvLength: [101], numContextTokens: 0 },
      { isContext: [true], inputLength: [50], pastKvLength: [0], numContextTokens: 50 },
      { isContext: [false], inputLength: [1], pastKvLength: [50], numContextTokens: 0 },
    ]);
    expect(iterations.map((s) => s.simTimeMs)).toEqual([10, 15, 20, 30, 35]);
    expect(iterations.map((s) => s.numActiveRequests)).toEqual([2, 2, 2, 2, 1]);
    expect(iterations.map((s) => s.numQueuedRequests)).toEqual([1, 1, 1, 0, 0]);
    expect(iterations.map((s) => s.numNewActiveRequests)).toEqual([2, 0, 0, 1, 0]);
    // Completions are counted in the iteration whose token finishes the request.
    expect(iterations.map((s) => s.numCompletedRequests)).toEqual([0, 1, 1, 0, 1]);
    const [r0, r1, r2] = result.requests;
    expect(times(r0!)).toEqual([10, 15, 20]);
    expect(times(r1!)).toEqual([10, 15]);
    expect(times(r2!)).toEqual([30, 35]);
    expect([r0!.ttftMs, r0!.e2eMs, r0!.tpotMs]).toEqual([10, 20, 5]);
    expect([r1!.ttftMs, r1!.e2eMs, r1!.tpotMs]).toEqual([10, 15, 5]);
    expect([r2!.startMs, r2!.ttftMs, r2!.e2eMs, r2!.tpotMs]).toEqual([0, 30, 35, 5]);
    expect([result.numPrefillIterations, result.numDecodeIterations, result.numMixedIterations]).toEqual([2, 3, 0]);
    expect(result.simulatedMs).toBe(35);
  });

  it("a one-token request is GENERATION_TO_COMPLETE right after its prompt and still holds its slot for one iteration", () => {
    // max_batch_size 2; R0 P=10 N=20, R1 and R2 P=10 N=1. Non-overlap: R1 is freed at 10 and R2 joins iter 1
    // (first token at 20). Overlap: iter 1 is scheduled while iter 0 runs: R1 (TO_COMPLETE) keeps its
    // slot; gen R0 10→15. R1 is freed when iter 1 is launched, R2 joins iter 2: ctx R2 + gen R0 15→25.
    const requests = [req(0, 10, 20), req(1, 10, 1), req(2, 10, 1)];
    const on = trace(overlap({ maxBatchSize: 2 }), requests);
    expect(on.batches.slice(0, 3).map((b) => [b.isContext, b.pastKvLength])).toEqual([
      [
        [true, true],
        [0, 0],
      ],
      [[false], [10]],
      [
        [true, false],
        [0, 11],
      ],
    ]);
    expect(times(on.result.requests[1]!)).toEqual([10]);
    expect(times(on.result.requests[2]!)).toEqual([25]);
    expect(times(on.result.requests[0]!).slice(0, 4)).toEqual([10, 15, 25, 30]);
    const off = trace(options({ maxBatchSize: 2 }), requests);
    expect(times(off.result.requests[2]!)).toEqual([20]);
  });

  it("closed loop (concurrency 2): a request submitted when another ends waits for the batch already launched", () => {
    // R0 P=100 N=2, R1 P=100 N=4, R2 P=100 N=2. Overlap: iter 1 (10→15) gives R0 its last token; iter 2
    // (gen R1, 15→20) is scheduled before that token is processed. Launching iter 2 processes iter 1: R0
    // ends at 15 and R2 is submitted then; it is scheduled into iter 3: ctx R2 + gen R1 20→30.
    const requests = [req(0, 100, 2), req(1, 100, 4), req(2, 100, 2)];
    const on = trace(overlap({ arrivals: { kind: "concurrency", concurrency: 2 } }), requests);
    expect(on.batches.map((b) => [b.isContext, b.pastKvLength])).toEqual([
      [
        [true, true],
        [0, 0],
      ],
      [
        [false, false],
        [100, 100],
      ],
      [[false], [101]],
      [
        [true, false],
        [0, 102],
      ],
      [[false], [100]],
    ]);
    const [r0, r1, r2] = on.result.requests;
    expect(times(r0!)).toEqual([10, 15]);
    expect(times(r1!)).toEqual([10, 15, 20, 30]);
    expect(times(r2!)).toEqual([30, 35]);
    expect([r2!.startMs, r2!.ttftMs, r2!.e2eMs]).toEqual([15, 15, 20]);
    // Non-overlap: R2 joins the iteration right after R0's last one (first token at 25, TTFT 10).
    const off = trace(options({ arrivals: { kind: "concurrency", concurrency: 2 } }), requests);
    expect(times(off.result.requests[2]!)).toEqual([25, 30]);
    expect(off.result.requests[2]!.ttftMs).toBe(10);
  });

  it("closed loop (concurrency 1): nothing is in flight when the next request arrives, so no extra lag", () => {
    // Iter 1 finishes R0; nothing else can be scheduled, so iter 1 is drained at 15 and R1 starts at once.
    const requests = [req(0, 100, 2), req(1, 100, 2)];
    const on = trace(overlap({ arrivals: { kind: "concurrency", concurrency: 1 } }), requests);
    const off = trace(options({ arrivals: { kind: "concurrency", concurrency: 1 } }), requests);
    expect(times(on.result.requests[1]!)).toEqual([25, 30]);
    expect(on.result.requests[1]).toMatchObject({ startMs: 15, ttftMs: 10 });
    expect(on.result.requests.map(times)).toEqual(off.result.requests.map(times));
  });

  it("arrivals in time: a request is seen by the schedule that runs when the batch in flight starts", () => {
    // R0 P=10 N=6 at 0, R1 P=10 N=2 at 12. Iter 2 is scheduled at iter 1's start (10): R1 is not there yet.
    // Iter 3 is scheduled at 15: ctx R1 + gen R0 20→30. Non-overlap: R1 joins at 15 (first token 25).
    const arrivals = { kind: "trace" as const, submitMs: [0, 12] };
    const requests = [req(0, 10, 6), req(1, 10, 2)];
    const on = trace(overlap({ arrivals }), requests);
    expect(on.batches.map((b) => [b.isContext, b.pastKvLength])).toEqual([
      [[true], [0]],
      [[false], [10]],
      [[false], [11]],
      [
        [true, false],
        [0, 12],
      ],
      [
        [false, false],
        [13, 10],
      ],
      [[false], [14]],
    ]);
    expect(times(on.result.requests[0]!)).toEqual([10, 15, 20, 30, 35, 40]);
    expect(times(on.result.requests[1]!)).toEqual([30, 35]);
    expect(on.result.requests[1]).toMatchObject({ startMs: 12, ttftMs: 18, e2eMs: 23 });
    const off = trace(options({ arrivals }), requests);
    expect(times(off.result.requests[1]!)).toEqual([25, 30]);
  });

  it("an idle gap: the last batch is drained, the clock jumps to the next submission", () => {
    const { result, iterations } = trace(overlap({ arrivals: { kind: "trace", submitMs: [0, 100] } }), [req(0, 10, 2), req(1, 10, 2)]);
    expect(result.requests.map(times)).toEqual([
      [10, 15],
      [110, 115],
    ]);
    expect(iterations.map((s) => s.simTimeMs)).toEqual([10, 15, 110, 115]);
  });

  it("E3 FCFS chunking: a prompt whose last chunk is in flight decodes in the next batch (no lag)", () => {
    const { result, batches } = trace(overlap({ maxBatchSize: 4, maxNumTokens: 64, chunking: "first_come_first_served" }), [req(0, 100, 2), req(1, 40, 2)]);
    expect(batches).toEqual([
      { isContext: [true], inputLength: [64], pastKvLength: [0], numContextTokens: 64 },
      { isContext: [true], inputLength: [36], pastKvLength: [64], numContextTokens: 36 },
      { isContext: [true, false], inputLength: [40, 1], pastKvLength: [0, 100], numContextTokens: 40 },
      { isContext: [false], inputLength: [1], pastKvLength: [40], numContextTokens: 0 },
    ]);
    expect(result.requests.map(times)).toEqual([
      [20, 30],
      [30, 35],
    ]);
  });

  it("E4 MAX_UTILIZATION: the pause while a batch is in flight, then a drain before the re-prefill", () => {
    // As without overlap: R1 is paused at the 6th schedule (P 8→13, N 6→1). The next schedule finds R0
    // GENERATION_TO_COMPLETE (holding 4 of 6 blocks) and R1 needing 4: nothing runs, the batch in flight is
    // drained at 35 (R0 freed) and R1 is re-prefilled 35→45.
    const { result, batches } = trace(overlap({ maxBatchSize: 4, tokensPerBlock: 4, numBlocks: 6, capacityPolicy: "max_utilization" }), [
      req(0, 8, 6),
      req(1, 8, 6),
    ]);
    expect(batches.at(-1)).toEqual({ isContext: [true], inputLength: [13], pastKvLength: [0], numContextTokens: 13 });
    expect(times(result.requests[0]!)).toEqual([10, 15, 20, 25, 30, 35]);
    expect(times(result.requests[1]!)).toEqual([10, 15, 20, 25, 30, 45]);
    expect(result.numPaused).toBe(1);
    expect(result.simulatedMs).toBe(45);
  });

  it("prefix reuse: a prompt's blocks are stored when its batch is processed, after the next schedule", () => {
    // tpb 4, reuse on, all at once; R0 and R1 share their first 8 tokens (2 blocks). Schedule 0: R1 is held
    // back (beneficialToSkip: R0 is computing the same first block). Non-overlap: R0's prompt is stored at
    // the end of iter 0, so iter 1 reuses 8 tokens (ctx R1 of 4 tokens). Overlap: iter 1 is scheduled while
    // iter 0 runs; R0's blocks are stored only when iter 0 is processed (update_resources, after iter 1 is
    // launched), so R1 recomputes its whole prompt.
    const ids = (tail: number) => [1, 2, 3, 4, 5, 6, 7, 8, tail, tail + 1, tail + 2, tail + 3];
    const requests = [req(0, 12, 4, ids(100)), req(1, 12, 2, ids(200))];
    const opts = options({ tokensPerBlock: 4, enableBlockReuse: true });
    const off = trace(opts, requests);
    expect(off.batches[1]).toEqual({ isContext: [true, false], inputLength: [4, 1], pastKvLength: [8, 12], numContextTokens: 4 });
    expect(off.result.requests[1]!.reusedTokens).toBe(8);
    const on = trace({ ...opts, overlap: true }, requests);
    expect(on.batches[0]).toEqual({ isContext: [true], inputLength: [12], pastKvLength: [0], numContextTokens: 12 });
    expect(on.batches[1]).toEqual({ isContext: [true, false], inputLength: [12, 1], pastKvLength: [0, 12], numContextTokens: 12 });
    expect(on.result.requests[1]!.reusedTokens).toBe(0);
    expect(on.result.reusedBlocks).toBe(0);
  });
});

describe("overlap option", () => {
  it("must be a boolean", () => {
    const bad = { ...options(), overlap: "yes" } as unknown as ReturnType<typeof options>;
    try {
      new Simulation(bad, [req(0, 8, 2)]);
      expect.unreachable("accepted a non-boolean overlap");
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect((e as InvalidArgumentError).field).toBe("options.overlap");
    }
  });
});
