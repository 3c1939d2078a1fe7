import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runSimulation, runSimulationSync, Simulation, type BatchPredictor, type SimBatch } from "../src/index.js";
import type { Arrivals, CapacityPolicy, ChunkingPolicy, EngineOptions, IterationStats, SimRequest, SimulationResult } from "../src/types.js";
import { options, req } from "./helpers.js";

/** Property suite of the overlap scheduler (trtllm-scheduling.md §10): the engine invariants, and fast paths. */

interface Case {
  opts: EngineOptions;
  requests: SimRequest[];
  warmup?: SimRequest[];
}

const arrivalsArb = (n: number): fc.Arbitrary<Arrivals> =>
  fc.oneof(
    fc.constant({ kind: "all_at_once" as const }),
    fc.integer({ min: 1, max: 4 }).map((concurrency) => ({ kind: "concurrency" as const, concurrency })),
    fc.record({ rate: fc.integer({ min: 10, max: 500 }), seed: fc.integer() }).map((p) => ({ kind: "poisson" as const, ...p })),
    fc.array(fc.integer({ min: 0, max: 200 }), { minLength: n, maxLength: n }).map((submitMs) => ({ kind: "trace" as const, submitMs })),
  );

/** Small random workloads; token ids drawn from a few shared-prefix families so prefix reuse happens. */
const requestsArb = fc
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

const caseArb: fc.Arbitrary<Case> = requestsArb.chain((requests) =>
  fc
    .record({
      capacityPolicy: fc.constantFrom<CapacityPolicy>("guaranteed_no_evict", "max_utilization", "static_batch"),
      chunking: fc.constantFrom<ChunkingPolicy | null>(null, "first_come_first_served", "equal_progress"),
      tokensPerBlock: fc.constantFrom(1, 2, 4, 8, 16),
      poolScale: fc.double({ min: 0.8, max: 4, noNaN: true }),
      maxBatchSize: fc.integer({ min: 1, max: 6 }),
      maxNumTokens: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 16, max: 96 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 16 }) }),
      enableBlockReuse: fc.boolean(),
      maxSeqLen: fc.oneof({ weight: 6, arbitrary: fc.constant(1 << 20) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 80 }) }),
      arrivals: arrivalsArb(requests.length),
    })
    .map(({ poolScale, ...o }) => {
      const largest = Math.max(...requests.map((r) => r.inputLength + r.outputTokens));
      const numBlocks = Math.max(1, Math.ceil((largest * poolScale) / o.tokensPerBlock));
      return { opts: { ...o, ppSize: 1, numBlocks, overlap: true }, requests };
    }),
);

/** Memory pressure: tight pools, everything at once (pauses, re-prefills, deadlocks). */
const pressureArb: fc.Arbitrary<Case> = requestsArb.chain((requests) =>
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
      const largest = Math.max(...requests.map((r) => r.inputLength + r.outputTokens));
      const numBlocks = Math.ceil((largest * poolScale) / o.tokensPerBlock);
      return { opts: { ...o, ppSize: 1, numBlocks, maxSeqLen: 1 << 20, arrivals: { kind: "all_at_once" as const }, overlap: true }, requests };
    }),
);

/** Batch time depends on the batch so the clock moves unevenly. */
const price = (b: SimBatch): number => 1 + b.numContextTokens * 0.01 + b.numGeneration * 0.1;

/** KV blocks still held once the run is over (test-only look at the engine's pool). */
const blocksHeld = (sim: Simulation): number => (sim as unknown as { kv: { pool: { usedBlocks: number } } }).kv.pool.usedBlocks;

function run(c: Case, check = true): { result: SimulationResult; iterations: IterationStats[] } {
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
    sim.commit(price(b));
  }
  if (check) expect(blocksHeld(sim)).toBe(0);
  return { result: sim.result(), iterations };
}

const plain = (r: SimulationResult) => ({ ...r, requests: r.requests.map((q) => ({ ...q, tokenTimesMs: Array.from(q.tokenTimesMs) })) });

function checkRun(c: Case): void {
  const { result, iterations } = run(c);
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

describe("overlap scheduler properties over random workloads and configurations", () => {
  it("every request finishes with exactly its output tokens or fails alone; budgets, KV capacity, no leaks, clock monotone", () => {
    fc.assert(
      fc.property(caseArb, (c) => checkRun(c)),
      { numRuns: 300 },
    );
  });

  it("the same holds under KV memory pressure (pauses, re-prefills, prefix sharing)", () => {
    fc.assert(
      fc.property(pressureArb, (c) => checkRun(c)),
      { numRuns: 200 },
    );
  });

  it("a run is deterministic", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        expect(plain(run(c, false).result)).toEqual(plain(run(c, false).result));
      }),
      { numRuns: 60 },
    );
  });

  it("with max_batch_size 1 nothing can overlap: the request records equal the non-overlap loop's", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const one = { ...c.opts, maxBatchSize: 1 };
        const on = plain(run({ ...c, opts: one }, false).result);
        const off = plain(run({ ...c, opts: { ...one, overlap: false } }, false).result);
        expect(on.requests).toEqual(off.requests);
        expect([on.numIterations, on.simulatedMs, on.numPaused, on.reusedBlocks]).toEqual([off.numIterations, off.simulatedMs, off.numPaused, off.reusedBlocks]);
      }),
      { numRuns: 150 },
    );
  });
});

/** A price that depends on every entry and its position, so a wrong decode-run step changes the times. */
function exactPrice(b: SimBatch): number {
  let t = 1 + 0.37 * b.numContext + 0.0013 * b.numContextTokens + 0.11 * b.numGeneration;
  const n = b.numContext + b.numGeneration;
  for (let i = 0; i < n; i++) t += 1e-4 * b.pastKvLength[i]! * ((i % 7) + 1) + 1e-3 * b.inputLength[i]! * (i % 3);
  return t;
}

class ExactPredictor implements BatchPredictor {
  readonly description = "exact";
  runs = 0;
  predict(b: SimBatch): number {
    return exactPrice(b);
  }
  predictDecodeRun(pastKv: ArrayLike<number>, count: number, steps: number): number[] {
    this.runs++;
    const past = new Int32Array(count);
    const batch: SimBatch = { numContext: 0, numGeneration: count, inputLength: new Int32Array(count).fill(1), pastKvLength: past, numContextTokens: 0 };
    return Array.from({ length: steps }, (_, s) => {
      for (let j = 0; j < count; j++) past[j] = pastKv[j]! + s;
      return exactPrice(batch);
    });
  }
}

/** An asynchronous predictor like a remote one: answers later, some answers overtake others. */
function asyncPredictor(inner: ExactPredictor, maxInFlight: number): BatchPredictor {
  let calls = 0;
  const later = <T>(v: T): Promise<T> => new Promise<T>((resolve) => (++calls % 3 === 0 ? setImmediate(() => resolve(v)) : queueMicrotask(() => resolve(v))));
  return {
    description: "async exact",
    maxInFlight,
    predict: (b) => later(inner.predict(b)),
    predictDecodeRun: (pastKv, count, steps) => later(inner.predictDecodeRun(pastKv, count, steps)),
  };
}

function outcome(c: Case, drive: (sim: Simulation) => SimulationResult | Promise<SimulationResult>) {
  const iterations: IterationStats[] = [];
  const sim = new Simulation(c.opts, c.requests, { ...(c.warmup ? { warmup: c.warmup } : {}), onIteration: (s) => iterations.push(s) });
  return Promise.resolve(drive(sim)).then((r) => ({ result: plain(r), iterations }));
}

/** The plain loop, decode runs, and pipelined asynchronous pricing agree under overlap too. */
async function expectFastPathsExact(c: Case): Promise<number> {
  const base = await outcome(c, (sim) => runSimulationSync(sim, new ExactPredictor(), { decodeRuns: false }));
  const exact = new ExactPredictor();
  const fast = await outcome(c, (sim) => runSimulationSync(sim, exact));
  expect(fast).toEqual(base);
  const pipelined = await outcome(c, (sim) => runSimulation(sim, asyncPredictor(new ExactPredictor(), 16), { yieldEveryMs: 1e9 }));
  expect(pipelined).toEqual(base);
  const pingPong = await outcome(c, (sim) => runSimulation(sim, asyncPredictor(new ExactPredictor(), 1), { yieldEveryMs: 1e9 }));
  expect(pingPong).toEqual(base);
  return exact.runs;
}

function workload(n: number, seed: number, p: [number, number], out: [number, number], withIds: boolean): SimRequest[] {
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
    const shared = Math.floor(isl * 0.6);
    return req(i, isl, osl, Array.from({ length: isl }, (_, k) => (k < shared ? (i % 3) * 10_000 + k : 1_000_000 + i * 1000 + k)));
  });
}

describe("overlap scheduler: fast paths give the plain loop's results", () => {
  const ARRIVALS: Array<[string, Arrivals]> = [
    ["all at once", { kind: "all_at_once" }],
    ["concurrency 5", { kind: "concurrency", concurrency: 5 }],
    ["poisson 300/s", { kind: "poisson", rate: 300, seed: 7 }],
    ["trace", { kind: "trace", submitMs: Array.from({ length: 40 }, (_, i) => (i % 10) * 9.5) }],
  ];
  for (const [name, arrivals] of ARRIVALS) {
    it(`${name}, every policy, reuse on and off`, async () => {
      let runs = 0;
      for (const capacityPolicy of ["guaranteed_no_evict", "max_utilization", "static_batch"] as const) {
        for (const reuse of [false, true]) {
          runs += await expectFastPathsExact({
            opts: options({ arrivals, capacityPolicy, chunking: "first_come_first_served", enableBlockReuse: reuse, maxBatchSize: 6, maxNumTokens: 96, tokensPerBlock: 8, numBlocks: 70, overlap: true }),
            requests: workload(40, 11, [20, 150], [1, 60], reuse),
            warmup: workload(3, 99, [20, 60], [5, 20], reuse),
          });
        }
      }
      // Decode runs are still taken under overlap.
      expect(runs).toBeGreaterThan(0);
    });
  }

  it("contexts admitted but left out of a full token budget, with prefix reuse and eviction", async () => {
    // Decode-only batches with admitted contexts: beneficialToSkip reads the prefix cache, which the
    // processing of the batch in flight changes (stored prompts), so no decode run may start then.
    for (const [maxNumTokens, numBlocks, seed] of [[12, 40, 1], [13, 60, 2], [14, 45, 3], [12, 90, 4], [16, 70, 5], [20, 50, 6]] as const) {
      for (const capacityPolicy of ["guaranteed_no_evict", "max_utilization"] as const) {
        await expectFastPathsExact({
          opts: options({ maxBatchSize: 6, maxNumTokens, chunking: "first_come_first_served", tokensPerBlock: 8, numBlocks, enableBlockReuse: true, capacityPolicy, overlap: true }),
          requests: workload(50, seed, [24, 70], [10, 60], true),
        });
      }
    }
  });

  it("random workloads and configurations", async () => {
    const scenarioArb = fc
      .record({ n: fc.integer({ min: 1, max: 20 }), seed: fc.integer({ min: 1, max: 1 << 30 }), ids: fc.boolean(), maxOut: fc.integer({ min: 1, max: 60 }) })
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
            arrivals: arrivalsArb(n),
          })
          .map(({ poolScale, warmup, ...o }): Case => {
            const requests = workload(n, seed, [1, 64], [1, maxOut], ids);
            const largest = Math.max(...requests.map((r) => r.inputLength + r.outputTokens));
            const opts: EngineOptions = { ...options(o), numBlocks: Math.max(1, Math.ceil((largest * poolScale) / o.tokensPerBlock)), overlap: true };
            return warmup > 0 ? { opts, requests, warmup: workload(warmup, seed + 1, [1, 64], [1, maxOut], ids) } : { opts, requests };
          }),
      );
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (c) => {
        await expectFastPathsExact(c);
      }),
      { numRuns: 80 },
    );
  });
});
