import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Simulation } from "../src/simulation.js";
import type { CapacityPolicy, ChunkingPolicy, EngineOptions, IterationStats, SimRequest, SimulationResult } from "../src/types.js";

interface Case {
  opts: EngineOptions;
  requests: SimRequest[];
}

const arrivalsArb = (n: number) =>
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
      // Pool size relative to the largest request (P + N tokens), so pools are often tight.
      poolScale: fc.double({ min: 0.8, max: 4, noNaN: true }),
      maxBatchSize: fc.integer({ min: 1, max: 6 }),
      maxNumTokens: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 16, max: 96 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 16 }) }),
      enableBlockReuse: fc.boolean(),
      maxSeqLen: fc.oneof({ weight: 6, arbitrary: fc.constant(1 << 20) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 80 }) }),
      arrivals: arrivalsArb(requests.length),
    })
    .map(({ poolScale, ...o }) => {
      const largest = Math.max(...requests.map((r) => r.inputLength + r.outputTokens));
      return { opts: { ...o, ppSize: 1, numBlocks: Math.max(1, Math.ceil((largest * poolScale) / o.tokensPerBlock)) }, requests };
    }),
);

/** Batch time depends on the batch so the clock moves unevenly. */
const price = (numContextTokens: number, numGeneration: number): number => 1 + numContextTokens * 0.01 + numGeneration * 0.1;

interface Run {
  result: SimulationResult;
  iterations: IterationStats[];
}

function run(c: Case, check = true): Run {
  const iterations: IterationStats[] = [];
  const sim = new Simulation(c.opts, c.requests, { onIteration: (s) => iterations.push(s) });
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
    sim.commit(price(b.numContextTokens, b.numGeneration));
  }
  return { result: sim.result(), iterations };
}

const plain = (r: SimulationResult) => ({ ...r, requests: r.requests.map((q) => ({ ...q, tokenTimesMs: Array.from(q.tokenTimesMs) })) });

/** The invariants every run must satisfy. */
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
    expect(r.firstTokenMs).toBe(r.tokenTimesMs[0]);
    expect(r.endMs).toBe(r.tokenTimesMs[q.outputTokens - 1]);
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
    expect(s.inflightBatchingStats.numScheduledRequests).toBeLessThanOrEqual(c.opts.maxBatchSize);
    expect(s.numActiveRequests).toBeLessThanOrEqual(c.opts.maxBatchSize);
  }
  // Everything is freed at the end.
  if (iterations.length > 0) expect(iterations.at(-1)!.kvCacheStats.usedNumBlocks).toBe(0);
  if (c.opts.capacityPolicy !== "max_utilization") expect(result.numPaused).toBe(0);
  expect(result.simulatedMs).toBeGreaterThanOrEqual(last);
}

/** Memory pressure: tight pools, everything at once, generous token budget (pauses and deadlocks). */
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
      return { opts: { ...o, ppSize: 1, numBlocks, maxSeqLen: 1 << 20, arrivals: { kind: "all_at_once" as const } }, requests };
    }),
);

describe("engine properties over random workloads and configurations", () => {
  it("every request finishes with exactly its output tokens or fails alone; budgets, KV capacity and clock hold", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        checkRun(c);
      }),
      { numRuns: 400 },
    );
  });

  it("the same holds under KV memory pressure (pauses, re-prefills, prefix sharing)", () => {
    fc.assert(
      fc.property(pressureArb, (c) => {
        checkRun(c);
      }),
      { numRuns: 300 },
    );
  });

  it("a run is deterministic for a seed and a configuration", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        expect(plain(run(c, false).result)).toEqual(plain(run(c, false).result));
      }),
      { numRuns: 100 },
    );
  });

  it("without token ids, block reuse changes nothing but the miss counter", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const requests = c.requests.map(({ taskId, inputLength, outputTokens }) => ({ taskId, inputLength, outputTokens }));
        const on = plain(run({ opts: { ...c.opts, enableBlockReuse: true }, requests }, false).result);
        const off = plain(run({ opts: { ...c.opts, enableBlockReuse: false }, requests }, false).result);
        expect({ ...on, missedBlocks: 0 }).toEqual(off);
      }),
      { numRuns: 100 },
    );
  });
});
