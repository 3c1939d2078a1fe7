import type { Arrivals, CapacityPolicy, ChunkingPolicy, EngineOptions, IterationStats, SimRequest, SimulationResult } from "@servesim/engine";
import { Simulation } from "@servesim/engine";
import fc from "fast-check";
import { expect } from "vitest";
import { options, req } from "./engineHelpers.js";

/** Shared fast-check arbitraries and invariant checks of the engine property suites. */

export interface Case {
  opts: EngineOptions;
  requests: SimRequest[];
  warmup?: SimRequest[];
}

export const arrivalsArb = (n: number): fc.Arbitrary<Arrivals> =>
  fc.oneof(
    fc.constant({ kind: "all_at_once" as const }),
    fc.integer({ min: 1, max: 4 }).map((concurrency) => ({ kind: "concurrency" as const, concurrency })),
    fc.record({ rate: fc.integer({ min: 10, max: 500 }), seed: fc.integer() }).map((p) => ({ kind: "poisson" as const, ...p })),
    fc.array(fc.integer({ min: 0, max: 200 }), { minLength: n, maxLength: n }).map((submitMs) => ({ kind: "trace" as const, submitMs })),
  );

/** Small random workloads; token ids drawn from a few shared-prefix families so prefix reuse happens. */
export const requestsArb = fc
  .array(
    fc.record({
      p: fc.integer({ min: 1, max: 48 }),
      n: fc.integer({ min: 1, max: 12 }),
      ids: fc.boolean(),
      family: fc.integer({ min: 0, max: 2 }),
      shared: fc.oneof(fc.constant(48), fc.integer({ min: 0, max: 48 })),
    }),
    { minLength: 1, maxLength: 12 },
  )
  .map((rs) =>
    rs.map(
      (r, i): SimRequest => ({
        taskId: 100 + i,
        inputLength: r.p,
        outputTokens: r.n,
        ...(r.ids ? { inputIds: Array.from({ length: r.p }, (_, k) => (k < r.shared ? r.family * 1000 + k : 100_000 + i * 100 + k)) } : {}),
      }),
    ),
  );

const largestRequest = (requests: SimRequest[]): number => Math.max(...requests.map((r) => r.inputLength + r.outputTokens));

/** Random configurations over random workloads; `extra` options (e.g. overlap) are set on every case. */
export const caseArb = (extra: Partial<EngineOptions> = {}): fc.Arbitrary<Case> =>
  requestsArb.chain((requests) =>
    fc
      .record({
        capacityPolicy: fc.constantFrom<CapacityPolicy>("guaranteed_no_evict", "max_utilization", "static_batch"),
        chunking: fc.constantFrom<ChunkingPolicy | null>(null, "first_come_first_served", "equal_progress"),
        tokensPerBlock: fc.constantFrom(1, 2, 4, 8, 16),
        // Pool size relative to the largest request (P + N tokens), so pools are often tight.
        poolScale: fc.double({ min: 0.8, max: 4, noNaN: true }),
        maxBatchSize: fc.integer({ min: 1, max: 6 }),
        maxNumTokens: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 16, max: 96 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 16 }) }),
        enableBlockReuse: fc.boolean(),
        maxSeqLen: fc.oneof({ weight: 6, arbitrary: fc.constant(1 << 20) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 80 }) }),
        arrivals: arrivalsArb(requests.length),
      })
      .map(({ poolScale, ...o }) => {
        const numBlocks = Math.max(1, Math.ceil((largestRequest(requests) * poolScale) / o.tokensPerBlock));
        return { opts: { ...o, ppSize: 1, numBlocks, ...extra }, requests };
      }),
  );

/** Memory pressure: tight pools, everything at once, generous token budget (pauses, re-prefills, deadlocks). */
export const pressureArb = (extra: Partial<EngineOptions> = {}): fc.Arbitrary<Case> =>
  requestsArb.chain((requests) =>
    fc
      .record({
        capacityPolicy: fc.constantFrom<CapacityPolicy>("max_utilization", "guaranteed_no_evict"),
        chunking: fc.constantFrom<ChunkingPolicy | null>(null, "first_come_first_served", "equal_progress"),
        tokensPerBlock: fc.constantFrom(1, 2, 4, 8),
        poolScale: fc.double({ min: 1, max: 2.5, noNaN: true }),
        maxBatchSize: fc.integer({ min: 2, max: 8 }),
        maxNumTokens: fc.integer({ min: 24, max: 128 }),
        enableBlockReuse: fc.boolean(),
      })
      .map(({ poolScale, ...o }) => {
        const numBlocks = Math.ceil((largestRequest(requests) * poolScale) / o.tokensPerBlock);
        return { opts: { ...o, ppSize: 1, numBlocks, maxSeqLen: 1 << 20, arrivals: { kind: "all_at_once" as const }, ...extra }, requests };
      }),
  );

export interface ScenarioShape {
  maxRequests: number;
  maxOutputTokens: number;
  arrivals: (n: number) => fc.Arbitrary<Arrivals>;
  /** Options set on every scenario (e.g. overlap). */
  extra?: Partial<EngineOptions>;
}

/** Seeded `workload`s (with an optional warm-up) under random configurations, for fast-path comparisons. */
export const scenarioArb = (shape: ScenarioShape): fc.Arbitrary<Case> =>
  fc
    .record({
      n: fc.integer({ min: 1, max: shape.maxRequests }),
      seed: fc.integer({ min: 1, max: 1 << 30 }),
      ids: fc.boolean(),
      maxOut: fc.integer({ min: 1, max: shape.maxOutputTokens }),
    })
    .chain(({ n, seed, ids, maxOut }) =>
      fc
        .record({
          capacityPolicy: fc.constantFrom<CapacityPolicy>("guaranteed_no_evict", "max_utilization", "static_batch"),
          chunking: fc.constantFrom<ChunkingPolicy | null>(null, "first_come_first_served", "equal_progress"),
          tokensPerBlock: fc.constantFrom(1, 2, 4, 8, 16),
          poolScale: fc.double({ min: 0.8, max: 5, noNaN: true }),
          maxBatchSize: fc.integer({ min: 1, max: 8 }),
          maxNumTokens: fc.integer({ min: 8, max: 160 }),
          enableBlockReuse: fc.boolean(),
          warmup: fc.integer({ min: 0, max: 2 }),
          arrivals: shape.arrivals(n),
        })
        .map(({ poolScale, warmup, ...o }): Case => {
          const requests = workload(n, seed, [1, 64], [1, maxOut], ids);
          const numBlocks = Math.max(1, Math.ceil((largestRequest(requests) * poolScale) / o.tokensPerBlock));
          const opts: EngineOptions = { ...options(o), numBlocks, ...shape.extra };
          return warmup > 0 ? { opts, requests, warmup: workload(warmup, seed + 1, [1, 64], [1, maxOut], ids) } : { opts, requests };
        }),
    );

export interface Run {
  sim: Simulation;
  result: SimulationResult;
  iterations: IterationStats[];
}

/** Runs a case to the end, batch time depending on the batch so the clock moves unevenly; `check` asserts every batch keeps the budgets. */
export function run(c: Case, check = true): Run {
  const iterations: IterationStats[] = [];
  const sim = new Simulation(c.opts, c.requests, { ...(c.warmup ? { warmup: c.warmup } : {}), onIteration: (s) => iterations.push(s) });
  let guard = 0;
  for (let b = sim.nextBatch(); b !== null; b = sim.nextBatch()) {
    if (++guard > 20_000) throw new Error("livelock: more than 20000 iterations");
    if (check) {
      const n = b.numContext + b.numGeneration;
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThanOrEqual(c.opts.maxBatchSize);
      expect(b.numContextTokens + b.numGeneration).toBeLessThanOrEqual(c.opts.maxNumTokens);
      let ctx = 0;
      for (let i = 0; i < n; i++) {
        expect(b.inputLength[i]).toBeGreaterThanOrEqual(1);
        if (i < b.numContext) ctx += b.inputLength[i]!;
        else expect(b.inputLength[i]).toBe(1);
      }
      expect(ctx).toBe(b.numContextTokens);
    }
    sim.commit(1 + b.numContextTokens * 0.01 + b.numGeneration * 0.1);
  }
  return { sim, result: sim.result(), iterations };
}

/** A result with plain arrays for token times, for toEqual. */
export const plain = (r: SimulationResult) => ({ ...r, requests: r.requests.map((q) => ({ ...q, tokenTimesMs: Array.from(q.tokenTimesMs) })) });

/** The invariants every run must satisfy, in and out of overlap mode. */
export function expectRunInvariants(c: Case, result: SimulationResult, iterations: IterationStats[]): void {
  expect(result.requests.length).toBe(c.requests.length);
  let failed = 0;
  result.requests.forEach((r, i) => {
    const q = c.requests[i]!;
    expect(r.taskId).toBe(q.taskId);
    if (r.error !== undefined) {
      failed++;
      expect(r.tokenTimesMs.length).toBe(0);
      return;
    }
    expect(r.outputLength).toBe(q.outputTokens);
    expect(r.tokenTimesMs.length).toBe(q.outputTokens);
    for (let k = 1; k < r.tokenTimesMs.length; k++) expect(r.tokenTimesMs[k]!).toBeGreaterThan(r.tokenTimesMs[k - 1]!);
    expect(r.firstTokenMs).toBeGreaterThan(r.startMs);
    expect(r.ttftMs).toBe(r.firstTokenMs - r.startMs);
    expect(r.e2eMs).toBe(r.endMs - r.startMs);
    if (c.opts.capacityPolicy !== "max_utilization") expect(r.pausedCount).toBe(0);
  });
  expect(result.numFailed).toBe(failed);
  expect(result.numIterations).toBe(iterations.length);
  expect(result.numPrefillIterations + result.numDecodeIterations + result.numMixedIterations).toBe(iterations.length);
  let last = 0;
  for (const s of iterations) {
    expect(s.simTimeMs).toBeGreaterThan(last);
    last = s.simTimeMs;
    const kv = s.kvCacheStats;
    expect(kv.usedNumBlocks).toBeLessThanOrEqual(c.opts.numBlocks);
    expect(kv.usedNumBlocks + kv.freeNumBlocks).toBe(c.opts.numBlocks);
    expect(s.numActiveRequests).toBeLessThanOrEqual(c.opts.maxBatchSize);
  }
  if (c.opts.capacityPolicy !== "max_utilization") expect(result.numPaused).toBe(0);
  expect(result.simulatedMs).toBeGreaterThanOrEqual(last);
}

/** Deterministic workload (xorshift); with ids, requests of a family share their first 60% of tokens. */
export function workload(n: number, seed: number, p: [number, number], out: [number, number], withIds: boolean): SimRequest[] {
  let x = seed >>> 0 || 1;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  const between = ([lo, hi]: [number, number]) => lo + Math.floor(rnd() * (hi - lo + 1));
  return Array.from({ length: n }, (_, i) => {
    const isl = between(p);
    const osl = between(out);
    if (!withIds) return req(i, isl, osl);
    const family = i % 3;
    const shared = Math.floor(isl * 0.6);
    return req(
      i,
      isl,
      osl,
      Array.from({ length: isl }, (_, k) => (k < shared ? family * 10_000 + k : 1_000_000 + i * 1000 + k)),
    );
  });
}
