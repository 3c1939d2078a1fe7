import { type Case, caseArb, options, req } from "@servesim/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createAttentionDpLoop,
  createEngineLoop,
  type EngineLoop,
  type EngineLoopOptions,
  type IterationStats,
  type RequestDoneEvent,
  type SimBatch,
  type SimRequest,
} from "../src/index.js";

const price = (b: SimBatch): number => 1 + b.numContextTokens * 0.01 + b.numGeneration * 0.1;

interface Submission {
  req: SimRequest;
  tMs: number;
  kvReady?: boolean;
}

interface LoopRun {
  done: Map<number, RequestDoneEvent>;
  firstTokenMs: Map<number, number>;
  iterations: IterationStats[];
  batches: number[][];
}

/** Drives a loop as a cluster does: submit, nextEventTime, schedule, price, commit. */
function drive(loop: EngineLoop, subs: Submission[], pricer = price): LoopRun {
  subs.forEach((s, i) => expect(loop.submit(s.req, s.tMs, s.kvReady ? { kvReady: true } : undefined)).toBe(i));
  const done = new Map<number, RequestDoneEvent>();
  const firstTokenMs = new Map<number, number>();
  const iterations: IterationStats[] = [];
  const batches: number[][] = [];
  const collect = (events: RequestDoneEvent[]) => {
    for (const e of events) done.set(e.handle, e);
  };
  for (let guard = 0; ; guard++) {
    if (guard > 20_000) throw new Error("livelock");
    const t = loop.nextEventTime();
    if (t === Infinity) break;
    const batch = loop.schedule(t);
    if (batch === null) {
      collect(loop.takeEnded());
      continue;
    }
    const n = batch.numContext + batch.numGeneration;
    const ranks: number[] = [];
    for (let i = 0; i < n; i++) ranks.push(batch.attentionDpRank?.[i] ?? 0);
    batches.push([t, batch.numContext, batch.numGeneration, ...ranks]);
    const ev = loop.commit(pricer(batch));
    expect(ev.startMs).toBe(t);
    for (const f of ev.firstTokens) firstTokenMs.set(f.handle, f.timeMs);
    collect(ev.done);
    if (ev.iteration) iterations.push(ev.iteration);
  }
  collect(loop.takeEnded());
  return { done, firstTokenMs, iterations, batches };
}

function submissionsOf(c: Case, kvReadyEvery: number): Submission[] {
  const a = c.opts.arrivals;
  const n = c.requests.length;
  const times = a.kind === "trace" ? Array.from(a.submitMs) : new Array<number>(n).fill(0);
  const order = c.requests.map((_, i) => i).sort((x, y) => times[x]! - times[y]! || x - y);
  return order.map((i, k) => {
    const q = c.requests[i]!;
    const kvReady = kvReadyEvery > 0 && k % kvReadyEvery === 0 && q.outputTokens >= 2;
    return { req: q, tMs: times[i]!, ...(kvReady ? { kvReady } : {}) };
  });
}

const openLoopCaseArb = caseArb().filter((c) => c.warmup === undefined && (c.opts.arrivals.kind === "trace" || c.opts.arrivals.kind === "all_at_once"));

function expectOneRankIsSingle(c: Case, kvReadyEvery: number): void {
  const subs = submissionsOf(c, kvReadyEvery);
  const { arrivals: _, ...settings } = c.opts;
  const opts: EngineLoopOptions = { ...settings, iterationStats: true };
  const single = drive(createEngineLoop(opts), subs);
  const composite = drive(createAttentionDpLoop({ ...opts, attentionDpRanks: 1 }), subs);
  expect(composite.iterations).toEqual(single.iterations);
  expect(composite.batches).toEqual(single.batches);
  expect(composite.firstTokenMs).toEqual(single.firstTokenMs);
  expect([...composite.done.keys()].sort((a, b) => a - b)).toEqual([...single.done.keys()].sort((a, b) => a - b));
  for (const [h, e] of single.done) {
    const x = composite.done.get(h)!;
    expect(x.request).toBe(e.request);
    expect(x.submitMs).toBe(e.submitMs);
    expect(x.error).toBe(e.error);
    expect(Array.from(x.tokenTimesMs)).toEqual(Array.from(e.tokenTimesMs));
    expect([x.endMs, x.pausedCount, x.reusedTokens]).toEqual([e.endMs, e.pausedCount, e.reusedTokens]);
  }
}

describe("AttentionDpLoop (an attention-DP instance behind the EngineLoop interface)", () => {
  it("with one rank gives SingleEngineLoop's events, batches and iteration records (non-overlap and overlap, kvReady submits)", () => {
    fc.assert(
      fc.property(openLoopCaseArb, fc.boolean(), fc.constantFrom(0, 2, 3), (c, overlap, kvReadyEvery) =>
        expectOneRankIsSingle({ ...c, opts: { ...c.opts, overlap } }, kvReadyEvery),
      ),
      { numRuns: 200 },
    );
  });

  it("routes with TensorRT-LLM's router, prices all ranks in one batch and commits the same time to every rank", () => {
    const loop = createAttentionDpLoop({ ...options({ maxBatchSize: 4 }), attentionDpRanks: 2, iterationStats: true });
    // Prompts 100, 300, 200 at t=0: longest first to the emptiest rank: 300 → rank 0, 200 → rank 1, 100 → rank 1.
    loop.submit(req(0, 100, 2), 0);
    loop.submit(req(1, 300, 2), 0);
    loop.submit(req(2, 200, 3), 0);
    expect(loop.load()).toEqual({ queued: 3, active: 0, kvUsedBlocks: 0, kvTotalBlocks: 2 * options().numBlocks });
    const run = drive(loop, [], (b) => 10 + b.numContextTokens / 100);
    expect(run.batches).toEqual([
      [0, 3, 0, 0, 1, 1],
      [16, 0, 3, 0, 1, 1],
      [26, 0, 1, 1],
    ]);
    expect([...run.done.values()].map((e) => [e.handle, Array.from(e.tokenTimesMs)]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [0, [16, 26]],
      [1, [16, 26]],
      [2, [16, 26, 36]],
    ]);
    expect(run.iterations.map((s) => s.numActiveRequests)).toEqual([3, 3, 1]);
    expect(loop.load()).toEqual({ queued: 0, active: 0, kvUsedBlocks: 0, kvTotalBlocks: 2 * options().numBlocks });
  });

  it("validates the rank count and submits", () => {
    expect(() => createAttentionDpLoop({ ...options(), attentionDpRanks: 0 })).toThrow(/options.attentionDpRanks/);
    const loop = createAttentionDpLoop({ ...options(), attentionDpRanks: 2 });
    loop.submit(req(0, 10, 2), 5);
    expect(() => loop.submit(req(1, 10, 2), 4)).toThrow(/submit times must not decrease/);
    expect(() => loop.submit(req(1, 10, 1), 6, { kvReady: true })).toThrow(/outputTokens/);
  });
});
