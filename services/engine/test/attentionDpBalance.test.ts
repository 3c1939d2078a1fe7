import type { BatchPredictor, SimBatch } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { ADP_BALANCE_DEFAULTS, AdpBalance, createAttentionDpLoop, type EngineOptions, runAttentionDp, type SimRequest } from "../src/index.js";
import { validateOptions } from "../src/validation.js";

/** 10 ms with a context entry, else 5 ms; records every batch's per-rank [context, generation] entries. */
class RankCounter implements BatchPredictor {
  readonly description = "rank counter";
  readonly perRank: Array<Array<[number, number]>> = [];
  constructor(private readonly ranks = 2) {}
  predict(b: SimBatch): number {
    const counts = Array.from({ length: this.ranks }, (): [number, number] => [0, 0]);
    for (let i = 0; i < b.numContext + b.numGeneration; i++) counts[b.attentionDpRank![i]!]![i < b.numContext ? 0 : 1]++;
    this.perRank.push(counts);
    return b.numContext > 0 ? 10 : 5;
  }
}

const options = (o: Partial<EngineOptions>): EngineOptions => ({
  maxBatchSize: 4,
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

const reqs = (outs: number[]): SimRequest[] => outs.map((out, i) => ({ taskId: i, inputLength: 32, outputTokens: out }));

describe("attention-DP balancing decision (PyExecutor._balance_adp_requests)", () => {
  it("every rank with a context and generation requests: contexts wait batching_wait_iters, then run", () => {
    const b = new AdpBalance({ timeoutIters: 50, batchingWaitIters: 2 }, 8);
    const all = [
      { context: 1, generation: 3 },
      { context: 2, generation: 1 },
    ];
    expect([b.admit(all), b.admit(all), b.admit(all), b.admit(all)]).toEqual([false, false, true, false]);
    expect(b.counters).toEqual([0, 1]);
  });

  it("every rank with a context but some without generation requests: contexts run at once", () => {
    const b = new AdpBalance({ timeoutIters: 50, batchingWaitIters: 10 }, 8);
    expect(
      b.admit([
        { context: 1, generation: 0 },
        { context: 1, generation: 2 },
      ]),
    ).toBe(true);
    expect(b.counters).toEqual([0, 0]);
  });

  it("a rank without a context: contexts wait timeout_iters iterations, unless a rank has no generation request", () => {
    const b = new AdpBalance({ timeoutIters: 3, batchingWaitIters: 10 }, 8);
    const one = [
      { context: 1, generation: 2 },
      { context: 0, generation: 2 },
    ];
    expect([b.admit(one), b.admit(one), b.admit(one), b.admit(one)]).toEqual([false, false, true, false]);
    expect(b.counters).toEqual([1, 0]);
    expect(
      b.admit([
        { context: 1, generation: 2 },
        { context: 0, generation: 0 },
      ]),
    ).toBe(true);
    expect(b.counters).toEqual([0, 0]);
  });

  it("a full rank (generation requests = max_batch_size) counts as one without a free slot", () => {
    const b = new AdpBalance({ timeoutIters: 2, batchingWaitIters: 0 }, 4);
    const full = [
      { context: 1, generation: 4 },
      { context: 1, generation: 1 },
    ];
    expect([b.admit(full), b.admit(full)]).toEqual([false, true]);
  });

  it("decode steps advance the waiting counter, wrapping at the timeout", () => {
    const b = new AdpBalance({ timeoutIters: 4, batchingWaitIters: 10 }, 8);
    b.decodeSteps(6);
    expect(b.counters).toEqual([2, 0]);
    const z = new AdpBalance({ timeoutIters: 0, batchingWaitIters: 0 }, 8);
    z.decodeSteps(3);
    expect(z.counters).toEqual([0, 0]);
    expect(ADP_BALANCE_DEFAULTS).toEqual({ timeoutIters: 50, batchingWaitIters: 10 });
  });
});

describe("attention-DP balancing in the engine", () => {
  // Requests 0 and 1 start on ranks 0 and 1 at t = 0; request 2 arrives at 12 ms and goes to rank 0 at
  // the 15 ms fetch, while both ranks decode. Without balancing it runs at once; with timeout_iters 3 the
  // counter already stands at 1 after the decode iteration at 10 ms, so rank 0 decodes alone at 15 ms
  // (2) and runs the context at 20 ms (3 reaches the timeout).
  const trace = (balance: boolean): EngineOptions =>
    options({
      arrivals: { kind: "trace", submitMs: [0, 0, 12] },
      ...(balance ? { attentionDpBalance: { timeoutIters: 3, batchingWaitIters: 0 } } : {}),
    });
  const requests = reqs([8, 8, 3]);

  it("arrivals in time (a loop per rank): a lone context waits for the timeout", async () => {
    const off = new RankCounter();
    const a = await runAttentionDp(trace(false), requests, off);
    expect(off.perRank.slice(0, 4)).toEqual([
      [
        [1, 0],
        [1, 0],
      ],
      [
        [0, 1],
        [0, 1],
      ],
      [
        [1, 1],
        [0, 1],
      ],
      [
        [0, 2],
        [0, 1],
      ],
    ]);
    expect(a.requests[2]!.ttftMs).toBe(13);
    const on = new RankCounter();
    const b = await runAttentionDp(trace(true), requests, on);
    expect(on.perRank.slice(0, 5)).toEqual([
      [
        [1, 0],
        [1, 0],
      ],
      [
        [0, 1],
        [0, 1],
      ],
      [
        [0, 1],
        [0, 1],
      ],
      [
        [1, 1],
        [0, 1],
      ],
      [
        [0, 2],
        [0, 1],
      ],
    ]);
    expect(b.requests[2]!.ttftMs).toBe(18);
    expect(b.requests.map((q) => q.endMs)).toEqual([50, 50, 40]);
  });

  it("one instance on a caller's clock (AttentionDpLoop) holds the same way", () => {
    const loop = createAttentionDpLoop({ ...trace(true), attentionDpRanks: 2 });
    requests.forEach((r, i) => loop.submit(r, [0, 0, 12][i]!));
    const p = new RankCounter();
    const ttft: number[] = [];
    for (let guard = 0; guard < 100; guard++) {
      const t = loop.nextEventTime();
      if (t === Number.POSITIVE_INFINITY) break;
      const b = loop.schedule(t);
      if (!b) continue;
      const ev = loop.commit(p.predict(b));
      for (const f of ev.firstTokens) ttft[f.handle] = f.timeMs - [0, 0, 12][f.handle]!;
    }
    expect(ttft).toEqual([10, 10, 18]);
  });

  it("all at once (the lockstep fast path, overlap loop): a context queued on rank 0 waits for the timeout", async () => {
    // Rank 0 holds requests 0, 2 and 4 (two slots), rank 1 requests 1 and 3. Request 4 is scheduled next
    // to request 2 once request 0 has left (iteration 5, the overlap loop frees its slot one iteration
    // late); rank 1 has no context, so with timeout_iters 3 it waits two iterations (the counter
    // restarted at the context-free iteration 4, which reached the timeout).
    const run = async (balance: boolean) => {
      const p = new RankCounter();
      const o = options({ maxBatchSize: 2, overlap: true, ...(balance ? { attentionDpBalance: { timeoutIters: 3, batchingWaitIters: 0 } } : {}) });
      const r = await runAttentionDp(o, reqs([3, 9, 9, 9, 9]), p);
      return { contextAt: p.perRank.findIndex((c, i) => i > 0 && c[0]![0] > 0), ttft: r.requests.map((q) => q.ttftMs) };
    };
    expect(await run(false)).toEqual({ contextAt: 4, ttft: [10, 10, 10, 10, 35] });
    expect(await run(true)).toEqual({ contextAt: 6, ttft: [10, 10, 10, 10, 45] });
  });

  it("settings are checked", () => {
    expect(() => validateOptions(options({ attentionDpBalance: { timeoutIters: -1, batchingWaitIters: 0 } }), 1)).toThrow(
      /options\.attentionDpBalance\.timeoutIters/,
    );
    expect(() => validateOptions(options({ attentionDpBalance: { timeoutIters: 1, batchingWaitIters: 0.5 } }), 1)).toThrow(
      /options\.attentionDpBalance\.batchingWaitIters/,
    );
  });
});
