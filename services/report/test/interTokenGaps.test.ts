import type { BatchPredictor, SimBatch } from "@servesim/core";
import { PERCENTILE_KEYS, type PercentileStats, percentileStats } from "@servesim/core";
import type { EngineOptions, RequestRecord } from "@servesim/engine";
import { runSimulationSync, Simulation } from "@servesim/engine";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { interTokenGapStats } from "../src/interTokenGaps.js";
import { computeMetrics, type RunMetrics, requestMetrics } from "../src/metrics.js";

/** The straightforward definition: every gap materialised in series order, then percentileStats. */
function reference(series: readonly ArrayLike<number>[]): PercentileStats {
  const gaps: number[] = [];
  for (const t of series) for (let k = 1; k < t.length; k++) gaps.push(t[k]! - t[k - 1]!);
  return percentileStats(gaps);
}

/** Bit-exact equality of every field (Object.is: −0 ≠ +0, NaN = NaN). */
function expectIdentical(actual: PercentileStats, expected: PercentileStats): void {
  for (const k of PERCENTILE_KEYS) {
    if (!Object.is(actual[k], expected[k])) expect.fail(`${k}: ${actual[k]} ≠ ${expected[k]}`);
  }
}

/** Deterministic xorshift in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/**
 * Engine-like data: increasing iteration end times in one shared buffer (itself a view at an offset into
 * a larger one), many overlapping views on it, some copied ("irregular") series, some plain arrays.
 */
function engineLike(seed: number, coarse: boolean): ArrayLike<number>[] {
  const r = rng(seed);
  const iterations = 1 + Math.floor(r() * 400);
  const backing = new Float64Array(iterations + 7);
  const ends = backing.subarray(3, 3 + iterations);
  let clock = r() * 10;
  for (let i = 0; i < iterations; i++) {
    clock += coarse ? 1 + Math.floor(r() * 4) * 0.5 : 0.001 + r() * 50;
    ends[i] = clock;
  }
  const series: ArrayLike<number>[] = [];
  const numSeries = Math.floor(r() * 300);
  for (let s = 0; s < numSeries; s++) {
    const first = Math.floor(r() * iterations);
    const len = Math.floor(r() * (iterations - first + 1));
    const kind = r();
    if (kind < 0.8) series.push(ends.subarray(first, first + len));
    else if (kind < 0.9) {
      const own = new Float64Array(len);
      let it = first;
      for (let k = 0; k < len && it < iterations; k++, it += 1 + Math.floor(r() * 3)) own[k] = ends[it]!;
      series.push(own);
    } else series.push(Array.from(ends.subarray(first, first + len)));
  }
  return series;
}

describe("interTokenGapStats: identical to materialising and sorting every gap", () => {
  it("worked example E2 (docs/engine.md) and edge cases", () => {
    const cases: ArrayLike<number>[][] = [
      [],
      [Float64Array.of(5)],
      [Float64Array.of(10, 15, 25), Float64Array.of(10, 15), Float64Array.of(25, 30)],
      [[0, -0], [-0, 0], Float64Array.of(0, -0, 0, 0)],
      [Float64Array.of(3, 1, 1, 7, Number.NaN, 2)],
      [Float64Array.of(1, 1, 1, 1)],
    ];
    for (const c of cases) expectIdentical(interTokenGapStats(c), reference(c));
  });

  it("overlapping views on shared buffers, with zeros and ties", () => {
    const buf = Float64Array.of(0, 1, 1, -0, 0, 2.5, 2.5, 4, 8, 8);
    const other = Float64Array.of(8, 9, 8.5, 20);
    const series = [buf.subarray(0, 4), buf.subarray(2, 10), buf.subarray(3, 5), buf, other.subarray(1), other, other.subarray(0, 1)];
    expectIdentical(interTokenGapStats(series), reference(series));
  });

  it("200 random engine-like workloads (fine and coarse gaps)", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const series = engineLike(seed * 7919, seed % 2 === 0);
      expectIdentical(interTokenGapStats(series), reference(series));
    }
  });

  it("arbitrary doubles in shared and own buffers (fast-check)", () => {
    const value = fc.oneof(fc.double(), fc.constantFrom(0, -0, 1, 1.5, -2));
    fc.assert(
      fc.property(fc.array(value, { minLength: 0, maxLength: 60 }), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { maxLength: 40 }), (values, cuts) => {
        const buf = Float64Array.from(values);
        const series = cuts.map(([a, b, own]) => {
          const first = values.length === 0 ? 0 : a % values.length;
          const view = buf.subarray(first, first + (b % (values.length - first + 1)));
          return own ? view.slice() : view;
        });
        expectIdentical(interTokenGapStats(series), reference(series));
      }),
      { numRuns: 300 },
    );
  });
});

/** computeMetrics' aggregates the straightforward way: per-request objects, mapped arrays, every gap. */
function referenceAggregates(records: readonly RequestRecord[]): Partial<RunMetrics> {
  const done = records.filter((r) => r.error === undefined);
  const per = done.map(requestMetrics);
  let sumE2e = 0;
  for (const m of per) sumE2e += m.e2eMs;
  const minStart = Math.min(...per.map((m) => m.startMs));
  const totalLatencyMs = Math.max(...per.map((m) => m.endMs)) - minStart;
  return {
    requestLatencyMs: percentileStats(per.map((m) => m.e2eMs)),
    ttftMs: percentileStats(per.map((m) => m.ttftMs)),
    tpotMs: percentileStats(per.map((m) => m.tpotMs)),
    genTpsTokS: percentileStats(per.map((m) => m.generationTokenThroughputTokS)),
    outputThroughputPerUserTokS: percentileStats(per.map((m) => m.outputTokenThroughputTokS)).average,
    itlMs: reference(done.map((r) => r.tokenTimesMs)),
    totalLatencyMs,
    avgConcurrentRequests: sumE2e / totalLatencyMs,
    perRequest: per,
  };
}

describe("computeMetrics on real engine records", () => {
  /** Irregular batch times: many distinct gaps. */
  const predictor: BatchPredictor = {
    description: "test",
    predict(b: SimBatch): number {
      let kv = 0;
      for (let i = 0; i < b.numContext + b.numGeneration; i++) kv += b.pastKvLength[i]!;
      return 1 + b.numContextTokens * 0.0137 + kv * 0.00031 + b.numGeneration * 0.11;
    },
  };
  const engine = (over: Partial<EngineOptions>): EngineOptions => ({
    maxBatchSize: 16,
    maxNumTokens: 512,
    maxSeqLen: 1 << 20,
    ppSize: 1,
    capacityPolicy: "guaranteed_no_evict",
    chunking: "first_come_first_served",
    tokensPerBlock: 16,
    numBlocks: 100_000,
    enableBlockReuse: false,
    arrivals: { kind: "all_at_once" },
    ...over,
  });

  it.each([
    ["all at once, no evict", engine({}), false],
    ["Poisson arrivals", engine({ arrivals: { kind: "poisson", rate: 50, seed: 3 } }), false],
    ["max utilization with pauses (irregular token times)", engine({ capacityPolicy: "max_utilization", numBlocks: 40 }), true],
  ])("%s", (_name, opts, irregular) => {
    const r = rng(11);
    const requests = Array.from({ length: 80 }, (_, i) => ({
      taskId: i,
      inputLength: 1 + Math.floor(r() * 200),
      outputTokens: 1 + Math.floor(r() * 60),
    }));
    const result = runSimulationSync(new Simulation(opts, requests), predictor);
    const done = result.requests.filter((q) => q.error === undefined);
    expect(done.length).toBeGreaterThan(0);
    // Regular records are views on one buffer; a paused request's times are copied into its own.
    expect(new Set(done.map((q) => q.tokenTimesMs.buffer)).size > 1).toBe(irregular);
    const m = computeMetrics(result.requests);
    const ref = referenceAggregates(result.requests);
    for (const k of ["requestLatencyMs", "ttftMs", "tpotMs", "genTpsTokS", "itlMs"] as const) expectIdentical(m[k], ref[k]!);
    expect(Object.is(m.outputThroughputPerUserTokS, ref.outputThroughputPerUserTokS)).toBe(true);
    expect(Object.is(m.totalLatencyMs, ref.totalLatencyMs)).toBe(true);
    expect(Object.is(m.avgConcurrentRequests, ref.avgConcurrentRequests)).toBe(true);
    expect(m.perRequest).toEqual(ref.perRequest);
    expect(m.perRequest).toBe(m.perRequest); // built once
  });
});
