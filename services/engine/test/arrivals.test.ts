import { options, req, times, trace } from "@servesim/testkit";
import { describe, expect, it } from "vitest";
import { SeededRandom } from "../src/random.js";

describe("arrivals", () => {
  it("concurrency 1: the next request starts (start = admission) when one ends", () => {
    const { result } = trace(options({ arrivals: { kind: "concurrency", concurrency: 1 } }), [req(0, 10, 2), req(1, 10, 1), req(2, 10, 2)]);
    const [r0, r1, r2] = result.requests;
    expect(times(r0!)).toEqual([10, 15]);
    expect([r1!.startMs, ...times(r1!), r1!.ttftMs, r1!.e2eMs]).toEqual([15, 25, 10, 10]);
    expect([r2!.startMs, ...times(r2!), r2!.ttftMs, r2!.e2eMs]).toEqual([25, 35, 40, 10, 15]);
  });

  it("concurrency 2: requests ending together release slots in completion order, then dataset order", () => {
    const { result, iterations } = trace(options({ arrivals: { kind: "concurrency", concurrency: 2 } }), [
      req(0, 10, 2),
      req(1, 10, 2),
      req(2, 10, 1),
      req(3, 10, 1),
      req(4, 10, 1),
    ]);
    expect(result.requests.map((r) => r.startMs)).toEqual([0, 0, 15, 15, 25]);
    expect(result.requests.map((r) => r.endMs)).toEqual([15, 15, 25, 25, 35]);
    expect(iterations.map((s) => s.numActiveRequests)).toEqual([2, 2, 2, 1]);
  });

  it("concurrency: a request rejected on release frees its slot at once", () => {
    const { result } = trace(options({ maxNumTokens: 64, arrivals: { kind: "concurrency", concurrency: 1 } }), [req(0, 100, 2), req(1, 10, 2)]);
    expect(result.requests[0]!.error).toMatch(/should not exceed max_num_tokens/);
    expect([result.requests[1]!.startMs, ...times(result.requests[1]!)]).toEqual([0, 10, 15]);
  });

  it("trace: submit times in any order, FCFS by time, idle gaps jump the clock", () => {
    const { result } = trace(options({ maxBatchSize: 1, arrivals: { kind: "trace", submitMs: [5, 0, 5, 100] } }), [
      req(0, 10, 1),
      req(1, 10, 1),
      req(2, 10, 1),
      req(3, 10, 2),
    ]);
    // R1 at 0 → 10; R0 (5) → 20; R2 (5) → 30; idle until 100; R3 → 110, 115.
    expect(result.requests.map(times)).toEqual([[20], [10], [30], [110, 115]]);
    expect(result.requests.map((r) => r.ttftMs)).toEqual([15, 10, 25, 10]);
    expect(result.simulatedMs).toBe(115);
  });

  it("poisson: first request at 0, exponential gaps, deterministic for a seed", () => {
    const requests = Array.from({ length: 2000 }, (_, i) => req(i, 4, 1));
    const run = (seed: number) =>
      trace(options({ maxBatchSize: 64, arrivals: { kind: "poisson", rate: 100, seed } }), requests).result.requests.map((r) => r.startMs);
    const a = run(42);
    expect(run(42)).toEqual(a);
    expect(run(43)).not.toEqual(a);
    expect(a[0]).toBe(0);
    for (let i = 1; i < a.length; i++) expect(a[i]!).toBeGreaterThanOrEqual(a[i - 1]!);
    // Mean gap 1000/rate = 10 ms (2000 samples: within 5 %).
    const meanGap = a[a.length - 1]! / (a.length - 1);
    expect(meanGap).toBeGreaterThan(9.5);
    expect(meanGap).toBeLessThan(10.5);
    // The gaps are the generator's exponential draws.
    const rng = new SeededRandom(42);
    expect(a[1]).toBeCloseTo(rng.nextExponential(10), 12);
  });

  it("warm-up runs first from an empty engine, then clock, iterations and stats restart with the prefix cache kept", () => {
    const ids = Array.from({ length: 64 }, (_, i) => 1000 + i);
    const seen: number[] = [];
    const { result, iterations, batches } = trace(options({ tokensPerBlock: 16, enableBlockReuse: true }), [req(0, 64, 3, ids)], undefined, {
      warmup: [req(99, 64, 5, ids), req(98, 32, 2)],
    });
    for (const s of iterations) seen.push(s.iter);
    expect(seen).toEqual([0, 1, 2]);
    expect(result.numIterations).toBe(3);
    expect(result.requests.length).toBe(1);
    // 3 of 4 blocks cached by the warm-up (P-1 = 63 tokens): 16 tokens computed.
    expect(batches.at(-3)).toEqual({ isContext: [true], inputLength: [16], pastKvLength: [48], numContextTokens: 16 });
    const r = result.requests[0]!;
    expect(times(r)).toEqual([10, 15, 20]);
    expect(r.reusedTokens).toBe(48);
    expect([result.reusedBlocks, result.missedBlocks]).toEqual([3, 1]);
    expect(iterations[0]!.kvCacheStats).toMatchObject({ reusedBlocks: 3, missedBlocks: 1, allocNewBlocks: 1, allocTotalBlocks: 4 });
    expect(result.simulatedMs).toBe(20);
  });
});
