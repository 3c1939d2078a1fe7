import type { BatchPredictor, SimBatch } from "@servesim/core";
import { caseArb } from "@servesim/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createPipelineLoop, type EngineOptions, type IterationStats, runPipeline, type SimRequest } from "../src/index.js";

/** Whole-model time of a micro-batch: 10 ms with a context request, else 4 ms (5 and 2 ms per stage at pp 2). */
class Fixed implements BatchPredictor {
  readonly description = "fixed";
  readonly batches: Array<[number, number, number[]]> = [];
  predict(b: SimBatch): number {
    const ranks: number[] = [];
    for (let i = 0; i < b.numContext + b.numGeneration; i++) ranks.push(b.attentionDpRank?.[i] ?? 0);
    this.batches.push([b.numContext, b.numGeneration, ranks]);
    return b.numContext > 0 ? 10 : 4;
  }
}

/** 2 ms of MoE communication plus the slowest attention-DP rank's 0.25 ms per token. */
class SlowestRank implements BatchPredictor {
  readonly description = "slowest rank";
  predict(b: SimBatch): number {
    const tokens = [0, 0];
    for (let i = 0; i < b.numContext + b.numGeneration; i++) tokens[b.attentionDpRank![i]!]! += b.inputLength[i]!;
    return 2 + Math.max(...tokens) * 0.25;
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

const req = (taskId: number, inputLength: number, outputTokens: number): SimRequest => ({ taskId, inputLength, outputTokens });
const reqs = (n: number, out: number): SimRequest[] => Array.from({ length: n }, (_, i) => req(i, 32, out));
const times = (r: { requests: Array<{ startMs: number; firstTokenMs: number; endMs: number; ttftMs: number; e2eMs: number; tpotMs: number }> }) =>
  r.requests.map((q) => [q.startMs, q.firstTokenMs, q.endMs, q.ttftMs, q.e2eMs, q.tpotMs]);

describe("pipeline parallelism with arrivals in time (_executor_loop_pp on the simulated clock)", () => {
  it("admits arrivals at micro-batch boundaries: pp 2, 3 requests at 0, 1 and 12 ms, worked by hand", async () => {
    // max_batch_size 2, 3 output tokens each; a stage takes 5 ms (context) or 2 ms (decode). H = loop iteration start.
    // k0 slot 0, H 0: A (ctx). Stage 0 [0,5], stage 1 [5,10]: A's 1st token at 10.
    // k1 slot 1, H 0: B arrives at 1, nothing to run (empty micro-batch); the loop waits for k0's tokens (10).
    // k2 slot 0, H 10: B joins slot 0 (it has room): B ctx + A gen. Stage 0 [10,15], stage 1 [15,20]: A 2nd, B 1st at 20.
    // k3 slot 1, H 10: C arrives at 12: nothing to run.
    // k4 slot 0, H 20: C has arrived but slot 0 is full (A, B): A gen + B gen. [20,22], [22,24]: A 3rd (done), B 2nd at 24.
    // k5 slot 1, H 20: C joins slot 1 (max_batch_size × pp in flight): C ctx. Stage 0 waits for k4: [22,27]; stage 1 [27,32].
    // k6 slot 0, H 24: B gen. Stage 0 waits for k5: [27,29]; stage 1 waits for k5: [32,34]: B 3rd (done) at 34.
    // k7 slot 1, H 32: C gen. [32,34], [34,36]. k8 slot 0, H 34: empty. k9 slot 1, H 36: C gen [36,38], [38,40]: C done.
    // A: TTFT 10, e2e 24, TPOT (24 − 10) / 2 = 7. B: start 1, TTFT 19, e2e 33, TPOT 7. C: start 12, TTFT 20, e2e 28, TPOT 4.
    const p = new Fixed();
    const iters: IterationStats[] = [];
    const r = await runPipeline(options({ maxBatchSize: 2, arrivals: { kind: "trace", submitMs: [0, 1, 12] } }), reqs(3, 3), p, {
      onIteration: (s) => iters.push(s),
    });
    expect(times(r)).toEqual([
      [0, 10, 24, 10, 24, 7],
      [1, 20, 34, 19, 33, 7],
      [12, 32, 40, 20, 28, 4],
    ]);
    expect(r.requests.map((q) => Array.from(q.tokenTimesMs))).toEqual([
      [10, 20, 24],
      [20, 24, 34],
      [32, 36, 40],
    ]);
    expect(p.batches.map(([c, g]) => [c, g])).toEqual([
      [1, 0],
      [1, 1],
      [0, 2],
      [1, 0],
      [0, 1],
      [0, 1],
      [0, 1],
    ]);
    expect([r.numIterations, r.numPrefillIterations, r.numMixedIterations, r.numDecodeIterations]).toEqual([7, 2, 1, 4]);
    expect(r.simulatedMs).toBe(40);
    expect(r.numBlocks).toBe(200);
    expect(iters.map((s) => [s.iter, s.simTimeMs, s.iterLatencyMS])).toEqual([
      [0, 10, 10],
      [1, 20, 10],
      [2, 24, 4],
      [3, 32, 12],
      [4, 34, 10],
      [5, 36, 4],
      [6, 40, 4],
    ]);
  });

  it("Poisson arrivals: deterministic, every request served, max_batch_size × pp in flight at most", async () => {
    const arrivals = { kind: "poisson" as const, rate: 400, seed: 7 };
    const run = async () => {
      const iters: IterationStats[] = [];
      const r = await runPipeline(options({ ppSize: 4, maxBatchSize: 3, arrivals }), reqs(60, 5), new Fixed(), { onIteration: (s) => iters.push(s) });
      return { r, iters };
    };
    const a = await run();
    const b = await run();
    expect(times(a.r)).toEqual(times(b.r));
    expect(a.r.numFailed).toBe(0);
    expect(a.r.requests.every((q) => q.outputLength === 5 && q.ttftMs > 0 && q.firstTokenMs >= q.startMs)).toBe(true);
    expect(Math.max(...a.iters.map((s) => s.inflightBatchingStats.numScheduledRequests))).toBeLessThanOrEqual(3);
    // Micro-batches leave the last stage in order.
    for (let i = 1; i < a.iters.length; i++) expect(a.iters[i]!.simTimeMs).toBeGreaterThanOrEqual(a.iters[i - 1]!.simTimeMs);
  });

  it("requests all at once on the loop: the fast path's times, slot by slot", async () => {
    const fast = await runPipeline(options({}), reqs(8, 3), new Fixed());
    const loop = await runPipeline(options({ arrivals: { kind: "trace", submitMs: new Array(8).fill(0) } }), reqs(8, 3), new Fixed());
    const sorted = (r: typeof fast) => times(r).sort((x, y) => x[1]! - y[1]! || x[2]! - y[2]!);
    expect(sorted(loop)).toEqual(sorted(fast));
    expect(loop.simulatedMs).toBe(fast.simulatedMs);
    expect(loop.numIterations).toBe(fast.numIterations);
  });

  it("with attention DP: each slot's ranks schedule their own micro-batch, priced once over every rank", async () => {
    // pp 2, 2 ranks, max_batch_size 1 per rank, 4 requests at 0 with 2 output tokens each.
    // k0 slot 0 H 0: R0 → rank 0, R1 → rank 1 (the router), ctx: [0,5], [5,10]. k1 slot 1 H 0: R2, R3: [5,10], [10,15].
    // k2 slot 0 H 10: gen [10,12], stage 1 waits for k1: [15,17]: R0, R1 done. k3 slot 1 H 15: gen [15,17], [17,19].
    const p = new Fixed();
    const r = await runPipeline(options({ maxBatchSize: 1, attentionDpRanks: 2 }), reqs(4, 2), p);
    expect(times(r)).toEqual([
      [0, 10, 17, 10, 17, 7],
      [0, 10, 17, 10, 17, 7],
      [0, 15, 19, 15, 19, 4],
      [0, 15, 19, 15, 19, 4],
    ]);
    expect(p.batches).toEqual([
      [2, 0, [0, 1]],
      [2, 0, [0, 1]],
      [0, 2, [0, 1]],
      [0, 2, [0, 1]],
    ]);
    // A slot's pool is 1/pp of each rank's: 2 slots × 2 ranks × 100 blocks.
    expect(r.numBlocks).toBe(400);
  });

  it("with attention DP under a concurrency limit: a request that ends submits the next at its end", async () => {
    // pp 2, 2 ranks, max_batch_size 1 per rank, concurrency 2, 3 requests of 2 output tokens.
    // k0 slot 0 H 0: R0 → rank 0, R1 → rank 1, ctx [0,5], [5,10]. k1 slot 1 H 0: nothing.
    // k2 slot 0 H 10: decode [10,12], [12,14]: R0, R1 done at 14; R2 submitted at 14. k3 slot 1 H 10: nothing yet.
    // k4 slot 0 H 14 (waits for k2's tokens): R2 ctx [14,19], [19,24]. k5 slot 1: nothing. k6 slot 0 H 24: [24,26], [26,28].
    const r = await runPipeline(options({ maxBatchSize: 1, attentionDpRanks: 2, arrivals: { kind: "concurrency", concurrency: 2 } }), reqs(3, 2), new Fixed());
    expect(times(r)).toEqual([
      [0, 10, 14, 10, 14, 4],
      [0, 10, 14, 10, 14, 4],
      [14, 24, 28, 10, 14, 4],
    ]);
    expect(r.numIterations).toBe(4);
  });

  it("with attention DP: a micro-batch lasts as long as the slowest rank plus the MoE communication", async () => {
    // R0 (32 tokens) → rank 0, R1 (16) → rank 1: 2 + 32 × 0.25 = 10 ms, 5 per stage: [0,5], [5,10]. Slot 1 has nothing.
    // k2 slot 0 H 10: one token per rank: 2.25 ms, 1.125 per stage: [10,11.125], [11.125,12.25].
    const r = await runPipeline(
      options({ maxBatchSize: 1, attentionDpRanks: 2, arrivals: { kind: "poisson", rate: 1e-6, seed: 1 } }),
      [req(0, 32, 2)],
      new SlowestRank(),
    );
    expect(times(r)).toEqual([[0, 10, 12.25, 10, 12.25, 2.25]]);
    const two = await runPipeline(options({ maxBatchSize: 1, attentionDpRanks: 2 }), [req(0, 32, 2), req(1, 16, 2)], new SlowestRank());
    expect(times(two)).toEqual([
      [0, 10, 12.25, 10, 12.25, 2.25],
      [0, 10, 12.25, 10, 12.25, 2.25],
    ]);
  });

  it("is an EngineLoop: a caller-owned clock, handles in submission order, bad input refused", () => {
    const loop = createPipelineLoop({ ...options({}), iterationStats: false });
    expect(loop.nextEventTime()).toBe(Infinity);
    expect(loop.submit(req(0, 32, 2), 5)).toBe(0);
    expect(loop.nextEventTime()).toBe(5);
    expect(() => loop.submit(req(1, 32, 2), 4)).toThrow(/must not decrease/);
    expect(() => createPipelineLoop({ ...options({ ppSize: 1 }) })).toThrow(/ppSize/);
    const b = loop.schedule(5)!;
    expect([b.numContext, b.numGeneration]).toEqual([1, 0]);
    const ev = loop.commit(10);
    expect([ev.startMs, ev.endMs, ev.firstTokens]).toEqual([5, 15, [{ handle: 0, timeMs: 15 }]]);
    expect(loop.nextEventTime()).toBe(15);
    // The 32-token prompt holds 2 blocks of 16 in slot 0's pool (100 blocks); the two slots have 200.
    expect(loop.load()).toEqual({ queued: 0, active: 1, kvUsedBlocks: 2, kvTotalBlocks: 200 });
  });

  it("random workloads, arrivals, policies, pp 2–3 and 1–2 attention-DP ranks: every request ends, deterministically", async () => {
    const price = (b: SimBatch): number => 1 + b.numContextTokens * 0.01 + b.numGeneration * 0.1;
    const pricer: BatchPredictor = { description: "linear", predict: price };
    await fc.assert(
      fc.asyncProperty(caseArb(), fc.integer({ min: 2, max: 3 }), fc.integer({ min: 1, max: 2 }), async (c, pp, ranks) => {
        // Each slot (and rank) keeps the pool the case sized for one scheduler.
        const o: EngineOptions = { ...c.opts, ppSize: pp, numBlocks: c.opts.numBlocks * pp, ...(ranks > 1 ? { attentionDpRanks: ranks } : {}) };
        if (o.arrivals.kind === "concurrency" && ranks === 1) o.arrivals = { kind: "trace", submitMs: c.requests.map((_, i) => i * 3) };
        const a = await runPipeline(o, c.requests, pricer, c.warmup ? { warmup: c.warmup } : {});
        const b = await runPipeline(o, c.requests, pricer, c.warmup ? { warmup: c.warmup } : {});
        expect(times(a)).toEqual(times(b));
        a.requests.forEach((r, i) => {
          if (r.error !== undefined) return;
          expect(r.outputLength).toBe(c.requests[i]!.outputTokens);
          expect(r.firstTokenMs).toBeGreaterThanOrEqual(r.startMs);
          for (let k = 1; k < r.tokenTimesMs.length; k++) expect(r.tokenTimesMs[k]!).toBeGreaterThanOrEqual(r.tokenTimesMs[k - 1]!);
        });
      }),
      { numRuns: 80, seed: 12 },
    );
  });

  it("decode runs (a slot skips its scheduler through a decode run) change nothing: every arrival mode, pp 2–3, 1–2 ranks", async () => {
    // Prices depend on every KV length, so a wrong batch in a run shows in the times.
    const pricer = (seen: string[]): BatchPredictor => ({
      description: "kv-dependent",
      predict: (b: SimBatch): number => {
        let kv = 0;
        for (let i = 0; i < b.numContext + b.numGeneration; i++) kv += b.pastKvLength[i]! * (1 + (b.attentionDpRank?.[i] ?? 0));
        seen.push(`${b.numContext}/${b.numGeneration}/${kv}`);
        return 1 + b.numContextTokens * 0.01 + b.numGeneration * 0.1 + kv * 1e-4;
      },
    });
    const key = (r: Awaited<ReturnType<typeof runPipeline>>) => [
      r.requests.map((q) => [q.taskId, q.error ?? null, q.startMs, Array.from(q.tokenTimesMs), q.pausedCount]),
      r.numIterations,
      r.numPrefillIterations,
      r.numDecodeIterations,
      r.numMixedIterations,
      r.simulatedMs,
      r.numFailed,
    ];
    await fc.assert(
      fc.asyncProperty(caseArb(), fc.integer({ min: 2, max: 3 }), fc.integer({ min: 1, max: 2 }), async (c, pp, ranks) => {
        const o: EngineOptions = { ...c.opts, ppSize: pp, numBlocks: c.opts.numBlocks * pp, ...(ranks > 1 ? { attentionDpRanks: ranks } : {}) };
        const warm = c.warmup ? { warmup: c.warmup } : {};
        const seenRuns: string[] = [];
        const seenPlain: string[] = [];
        const a = await runPipeline(o, c.requests, pricer(seenRuns), warm);
        const b = await runPipeline(o, c.requests, pricer(seenPlain), { ...warm, decodeRuns: false });
        expect(key(a)).toEqual(key(b));
        expect(seenRuns).toEqual(seenPlain);
      }),
      { numRuns: 150, seed: 5 },
    );
  });

  it("decode runs under a closed loop with attention DP: long decodes give the plain path's records", async () => {
    const o = options({ maxBatchSize: 4, attentionDpRanks: 2, ppSize: 3, numBlocks: 3000, arrivals: { kind: "concurrency", concurrency: 10 } });
    const rs = Array.from({ length: 30 }, (_, i) => req(i, 16 + (i % 5) * 8, 40 + (i % 7) * 13));
    const p: BatchPredictor = { description: "kv", predict: (b) => 1 + b.numContextTokens * 0.01 + b.numGeneration * 0.1 + b.pastKvLength[0]! * 1e-3 };
    const a = await runPipeline(o, rs, p);
    const b = await runPipeline(o, rs, p, { decodeRuns: false });
    expect(times(a)).toEqual(times(b));
    expect(a.requests.map((q) => Array.from(q.tokenTimesMs))).toEqual(b.requests.map((q) => Array.from(q.tokenTimesMs)));
    expect([a.numIterations, a.simulatedMs]).toEqual([b.numIterations, b.simulatedMs]);
  });

  it("stage times follow the predictor's per-stage times (uneven layer split): the slowest stage sets the period", async () => {
    // Stage 0 a quarter of every micro-batch, stage 1 three quarters (10 ms context: 2.5 + 7.5; 4 ms decode: 1 + 3).
    // pp 2, max_batch_size 1, R0 and R1 at 0 with 2 output tokens. k0 slot 0 H 0: R0 ctx [0,2.5], [2.5,10].
    // k1 slot 1 H 0: R1 ctx [2.5,5], stage 1 waits for k0: [10,17.5]. k2 slot 0 H 10: R0 gen [10,11], [17.5,20.5].
    // k3 slot 1 H 17.5: R1 gen [17.5,18.5], stage 1 waits for k2: [20.5,23.5]. (Equal shares: R0 at 17, R1 at 19.)
    const uneven = (): BatchPredictor => {
      const p = new Fixed();
      const predictStages = (b: SimBatch, out: Float64Array): number => {
        out.set([1, 3]);
        return p.predict(b);
      };
      return Object.assign(p, { pipelineStages: 2, predictStages });
    };
    const expected = [
      [10, 20.5],
      [17.5, 23.5],
    ];
    const tokens = (r: Awaited<ReturnType<typeof runPipeline>>) => r.requests.map((q) => Array.from(q.tokenTimesMs));
    const loop = await runPipeline(options({ maxBatchSize: 1, arrivals: { kind: "trace", submitMs: [0, 0] } }), reqs(2, 2), uneven());
    expect(tokens(loop)).toEqual(expected);
    const fast = await runPipeline(options({ maxBatchSize: 1 }), reqs(2, 2), uneven());
    expect(tokens(fast)).toEqual(expected);
    // A predictor that prices another number of stages (or none) leaves equal shares.
    const three = new Fixed();
    const other = Object.assign(three, { pipelineStages: 3, predictStages: (b: SimBatch, out: Float64Array) => (out.fill(1), three.predict(b)) });
    expect(tokens(await runPipeline(options({ maxBatchSize: 1 }), reqs(2, 2), other))).toEqual([
      [10, 17],
      [15, 19],
    ]);
  });
});
