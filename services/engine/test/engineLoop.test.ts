import { type Case, caseArb, constant10x5, options, req } from "@servesim/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createEngineLoop,
  type EngineLoopOptions,
  type IterationStats,
  type RequestDoneEvent,
  type SimBatch,
  type SimRequest,
  Simulation,
} from "../src/index.js";

/** The batch time of the property suites: it depends on the batch, so the clock moves unevenly. */
const price = (b: SimBatch): number => 1 + b.numContextTokens * 0.01 + b.numGeneration * 0.1;

interface LoopRun {
  done: Map<number, RequestDoneEvent>;
  firstTokenMs: Map<number, number>;
  iterations: IterationStats[];
}

/** Drives a loop the way a cluster would: submit, nextEventTime, schedule, price, commit. */
function driveLoop(opts: EngineLoopOptions, submissions: { req: SimRequest; tMs: number; kvReady?: boolean }[], pricer = price): LoopRun {
  const loop = createEngineLoop({ ...opts, iterationStats: true });
  const handles = submissions.map((s) => loop.submit(s.req, s.tMs, s.kvReady ? { kvReady: true } : undefined));
  expect(handles).toEqual(submissions.map((_, i) => i));
  const done = new Map<number, RequestDoneEvent>();
  const firstTokenMs = new Map<number, number>();
  const iterations: IterationStats[] = [];
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
    const ev = loop.commit(pricer(batch));
    expect(ev.startMs).toBe(t);
    for (const f of ev.firstTokens) firstTokenMs.set(f.handle, f.timeMs);
    collect(ev.done);
    iterations.push(ev.iteration!);
  }
  collect(loop.takeEnded());
  expect(loop.load()).toEqual({ queued: 0, active: 0, kvUsedBlocks: 0, kvTotalBlocks: opts.numBlocks });
  return { done, firstTokenMs, iterations };
}

/** Submit times of a case's arrivals (all at once, Poisson or a trace), in submission order. */
function submissionsOf(c: Case): { req: SimRequest; tMs: number }[] {
  const a = c.opts.arrivals;
  const n = c.requests.length;
  let times: number[];
  if (a.kind === "trace") times = Array.from(a.submitMs);
  else if (a.kind === "all_at_once") times = new Array<number>(n).fill(0);
  else throw new Error(`no open-loop submit times for ${a.kind}`);
  const order = c.requests.map((_, i) => i).sort((x, y) => times[x]! - times[y]! || x - y);
  return order.map((i) => ({ req: c.requests[i]!, tMs: times[i]! }));
}

const openLoopCaseArb = caseArb().filter((c) => c.warmup === undefined && (c.opts.arrivals.kind === "trace" || c.opts.arrivals.kind === "all_at_once"));

function expectSameAsSimulation(c: Case): void {
  const simIterations: IterationStats[] = [];
  const sim = new Simulation(c.opts, c.requests, { onIteration: (s) => simIterations.push(s) });
  for (let b = sim.nextBatch(); b !== null; b = sim.nextBatch()) sim.commit(price(b));
  const result = sim.result();
  const subs = submissionsOf(c);
  const { arrivals: _, ...settings } = c.opts;
  const loop = driveLoop(settings, subs);
  expect(loop.iterations).toEqual(simIterations);
  subs.forEach((s, h) => {
    const rec = result.requests[c.requests.indexOf(s.req)]!;
    const e = loop.done.get(h)!;
    expect(e.request).toBe(s.req);
    expect(e.submitMs).toBe(s.tMs);
    expect(e.error).toBe(rec.error);
    expect(Array.from(e.tokenTimesMs)).toEqual(Array.from(rec.tokenTimesMs));
    expect(e.pausedCount).toBe(rec.pausedCount);
    expect(e.reusedTokens).toBe(rec.reusedTokens);
    if (rec.error === undefined) {
      expect(e.submitMs).toBe(rec.startMs);
      expect(loop.firstTokenMs.get(h)).toBe(rec.firstTokenMs);
      if (c.opts.overlap !== true) expect(e.endMs).toBe(rec.endMs);
      else expect(e.endMs).toBeGreaterThanOrEqual(rec.endMs);
    }
  });
}

describe("SingleEngineLoop (the EngineLoop interface on a caller's clock)", () => {
  it("gives Simulation's token times, failures and iteration records for open-loop arrivals (non-overlap)", () => {
    fc.assert(
      fc.property(openLoopCaseArb, (c) => expectSameAsSimulation(c)),
      { numRuns: 150 },
    );
  });

  it("gives Simulation's token times, failures and iteration records with the overlap strategy", () => {
    fc.assert(
      fc.property(openLoopCaseArb, (c) => expectSameAsSimulation({ ...c, opts: { ...c.opts, overlap: true } })),
      { numRuns: 150 },
    );
  });

  it("idles until a request arrives and reports nothing to do when empty", () => {
    const loop = createEngineLoop(options());
    expect(loop.nextEventTime()).toBe(Infinity);
    loop.submit(req(0, 100, 2), 50);
    expect(loop.nextEventTime()).toBe(50);
    expect(loop.schedule(40 > loop.nextEventTime() ? 40 : 0)).toBeNull();
    const b = loop.schedule(50)!;
    expect([b.numContext, b.numGeneration, b.numContextTokens]).toEqual([1, 0, 100]);
    const e1 = loop.commit(10);
    expect([e1.startMs, e1.endMs, e1.firstTokens]).toEqual([50, 60, [{ handle: 0, timeMs: 60 }]]);
    expect(loop.nextEventTime()).toBe(60);
    loop.schedule(60);
    const e2 = loop.commit(5);
    expect(e2.done.map((d) => [d.handle, d.endMs, Array.from(d.tokenTimesMs)])).toEqual([[0, 65, [60, 65]]]);
    expect(loop.nextEventTime()).toBe(Infinity);
  });

  it("a caller holding an iteration back (another rank is slower) starts it later", () => {
    const loop = createEngineLoop(options());
    loop.submit(req(0, 10, 3), 0);
    loop.schedule(0);
    loop.commit(10);
    loop.schedule(25);
    expect(loop.commit(5).endMs).toBe(30);
  });

  it("kvReady: the request gets its prompt's KV blocks and decodes at once; its first token is not counted again", () => {
    // 100-token prompt at 32 tokens per block: 4 blocks on admission, then decode steps at KV 100, 101, ...
    const seen: number[][] = [];
    const run = driveLoop(options({ tokensPerBlock: 32, numBlocks: 10 }), [{ req: req(7, 100, 4), tMs: 3, kvReady: true }], (b) => {
      seen.push([b.numContext, b.numGeneration, b.pastKvLength[0]!]);
      return 5;
    });
    expect(seen).toEqual([
      [0, 1, 100],
      [0, 1, 101],
      [0, 1, 102],
    ]);
    const done = run.done.get(0)!;
    expect(Array.from(done.tokenTimesMs)).toEqual([8, 13, 18]);
    expect(run.firstTokenMs.size).toBe(0);
    // The last record is taken after the finished request freed its blocks.
    expect(run.iterations.map((s) => s.kvCacheStats.usedNumBlocks)).toEqual([4, 4, 0]);
  });

  it("kvReady requests wait for KV like any other under GUARANTEED_NO_EVICT (admission by blocks to completion)", () => {
    // Pool of 5 blocks of 4 tokens: each request needs ceil((8 + 4) / 4) = 3 blocks, so the second waits.
    const seen: number[] = [];
    const run = driveLoop(
      options({ tokensPerBlock: 4, numBlocks: 5 }),
      [
        { req: req(0, 8, 4), tMs: 0, kvReady: true },
        { req: req(1, 8, 4), tMs: 0, kvReady: true },
      ],
      (b) => {
        seen.push(b.numGeneration);
        return 5;
      },
    );
    expect(seen).toEqual([1, 1, 1, 1, 1, 1]);
    expect(Array.from(run.done.get(0)!.tokenTimesMs)).toEqual([5, 10, 15]);
    expect(Array.from(run.done.get(1)!.tokenTimesMs)).toEqual([20, 25, 30]);
  });

  it("rejects malformed submissions naming the field", () => {
    const loop = createEngineLoop(options());
    expect(() => loop.submit(req(0, 0, 2), 0)).toThrow(/request\.inputLength/);
    expect(() => loop.submit(req(0, 10, 2), Number.NaN)).toThrow(/tMs/);
    loop.submit(req(0, 10, 2), 10);
    expect(() => loop.submit(req(1, 10, 2), 5)).toThrow(/must not decrease/);
    expect(() => loop.submit(req(1, 10, 1), 10, { kvReady: true })).toThrow(/outputTokens >= 2/);
    expect(() => createEngineLoop({ ...options(), capacityPolicy: "prefill_first" as never })).toThrow(/options\.capacityPolicy/);
    const { arrivals: _, ...settings } = options();
    const ok = createEngineLoop(settings);
    ok.submit(req(0, 10, 2), 0);
    const b = ok.schedule(0)!;
    expect(b.numContext).toBe(1);
    expect(() => ok.commit(Number.POSITIVE_INFINITY)).toThrow(/finite and > 0/);
  });

  it("reports requests that can never run as failed, with the reason", () => {
    const run = driveLoop(options({ maxNumTokens: 64 }), [{ req: req(0, 100, 2), tMs: 4 }], () => 5);
    expect(run.done.get(0)!.error).toMatch(/should not exceed max_num_tokens/);
    expect(run.done.get(0)!.endMs).toBe(4);
    expect(constant10x5().description).toMatch(/constant/);
  });
});
