import { FailedPreconditionError } from "@servesim/core";
import type { Arrivals, CapacityPolicy, ChunkingPolicy, EngineOptions, IterationStats, SimRequest, SimulationResult } from "@servesim/engine";
import { type BatchPredictor, runSimulation, runSimulationSync, Simulation } from "@servesim/engine";
import { createPredictor } from "@servesim/perf";
import { scenarioArb as anyScenarioArb, asyncPredictor, ExactPredictor, options, req, rooflineLlama8bH100Fp8, workload } from "@servesim/testkit";
import { PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

interface Outcome {
  result: SimulationResult;
  records: unknown[];
  iterations: IterationStats[];
}

/** Everything a run produces, with token times as plain arrays. */
function outcome(result: SimulationResult, iterations: IterationStats[]): Outcome {
  const records = result.requests.map((r) => ({ ...r, tokenTimesMs: Array.from(r.tokenTimesMs) }));
  return { result: { ...result, requests: [] }, records, iterations };
}

interface Scenario {
  opts: EngineOptions;
  requests: SimRequest[];
  warmup?: SimRequest[];
}

function simulation(s: Scenario, iterations: IterationStats[]): Simulation {
  return new Simulation(s.opts, s.requests, {
    ...(s.warmup ? { warmup: s.warmup } : {}),
    onIteration: (x) => iterations.push(x),
  });
}

function plain(s: Scenario): Outcome {
  const iterations: IterationStats[] = [];
  return outcome(runSimulationSync(simulation(s, iterations), new ExactPredictor(), { decodeRuns: false }), iterations);
}

function fastSync(s: Scenario): Outcome & { predictor: ExactPredictor } {
  const iterations: IterationStats[] = [];
  const predictor = new ExactPredictor();
  return { ...outcome(runSimulationSync(simulation(s, iterations), predictor), iterations), predictor };
}

async function fastAsync(s: Scenario, maxInFlight: number, withRuns: boolean): Promise<Outcome & { maxOutstanding: number }> {
  const iterations: IterationStats[] = [];
  const predictor = asyncPredictor(new ExactPredictor(), maxInFlight, withRuns);
  const result = await runSimulation(simulation(s, iterations), predictor, { yieldEveryMs: 1_000_000 });
  return { ...outcome(result, iterations), maxOutstanding: predictor.maxOutstanding };
}

/** The plain loop, the synchronous fast path and the asynchronous ones (ping-pong and pipelined) agree. */
async function expectIdentical(s: Scenario): Promise<{ runs: number; runSteps: number; maxOutstanding: number }> {
  const base = plain(s);
  const fast = fastSync(s);
  expect(fast.records).toEqual(base.records);
  expect(fast.result).toEqual(base.result);
  expect(fast.iterations).toEqual(base.iterations);
  const pingPong = await fastAsync(s, 1, true);
  expect(pingPong.records).toEqual(base.records);
  expect(pingPong.result).toEqual(base.result);
  expect(pingPong.iterations).toEqual(base.iterations);
  expect(pingPong.maxOutstanding).toBeLessThanOrEqual(1);
  const pipelined = await fastAsync(s, 64, true);
  expect(pipelined.records).toEqual(base.records);
  expect(pipelined.result).toEqual(base.result);
  expect(pipelined.iterations).toEqual(base.iterations);
  const pipelinedBatches = await fastAsync(s, 8, false);
  expect(pipelinedBatches.records).toEqual(base.records);
  expect(pipelinedBatches.iterations).toEqual(base.iterations);
  return { runs: fast.predictor.runs, runSteps: fast.predictor.runSteps, maxOutstanding: pipelined.maxOutstanding };
}

const ARRIVALS: Array<[string, Arrivals]> = [
  ["all at once", { kind: "all_at_once" }],
  ["concurrency 5", { kind: "concurrency", concurrency: 5 }],
  ["poisson 300/s", { kind: "poisson", rate: 300, seed: 7 }],
  ["trace", { kind: "trace", submitMs: Array.from({ length: 40 }, (_, i) => (i % 10) * 9.5) }],
];
const POLICIES: CapacityPolicy[] = ["guaranteed_no_evict", "max_utilization", "static_batch"];
const CHUNKING: Array<ChunkingPolicy | null> = [null, "first_come_first_served", "equal_progress"];

describe("fast paths give the plain loop's results (records, counters, iteration log)", () => {
  for (const [name, arrivals] of ARRIVALS) {
    for (const policy of POLICIES) {
      for (const reuse of [false, true]) {
        it(`${name}, ${policy}, reuse ${reuse ? "on (shared prefixes)" : "off"}`, async () => {
          for (const chunking of CHUNKING) {
            const s: Scenario = {
              opts: options({
                arrivals,
                capacityPolicy: policy,
                chunking,
                enableBlockReuse: reuse,
                maxBatchSize: 6,
                maxNumTokens: chunking === null ? 160 : 96,
                tokensPerBlock: 8,
                numBlocks: 70,
              }),
              requests: workload(40, 11 + POLICIES.indexOf(policy), [20, 150], [1, 60], reuse),
              warmup: workload(3, 99, [20, 60], [5, 20], reuse),
            };
            const seen = await expectIdentical(s);
            // The fast path is actually taken: decode runs priced in one call.
            expect(seen.runs).toBeGreaterThan(0);
            expect(seen.runSteps).toBeGreaterThan(seen.runs);
            if (arrivals.kind === "all_at_once" || arrivals.kind === "concurrency") expect(seen.maxOutstanding).toBeGreaterThan(1);
            else expect(seen.maxOutstanding).toBeGreaterThanOrEqual(1);
          }
        });
      }
    }
  }

  it("a large all-at-once run (waiting contexts, block boundaries, many waves)", async () => {
    const s: Scenario = {
      opts: options({ maxBatchSize: 64, maxNumTokens: 2048, chunking: "first_come_first_served", tokensPerBlock: 16, numBlocks: 1200 }),
      requests: workload(600, 5, [100, 400], [50, 300], false),
    };
    const seen = await expectIdentical(s);
    expect(seen.runSteps).toBeGreaterThan(1000);
  });

  it("prefix reuse under eviction pressure with waiting contexts (beneficialToSkip)", async () => {
    for (const tokensPerBlock of [1, 4, 32]) {
      const s: Scenario = {
        opts: options({
          maxBatchSize: 12,
          maxNumTokens: 512,
          chunking: "equal_progress",
          tokensPerBlock,
          numBlocks: Math.ceil(1400 / tokensPerBlock),
          enableBlockReuse: true,
        }),
        requests: workload(120, 3, [64, 200], [4, 90], true),
      };
      await expectIdentical(s);
    }
  });

  it("contexts admitted but left out of a full token budget, with prefix reuse and eviction", async () => {
    // Generation requests use most of max_num_tokens, so admitted contexts get no chunk (a decode-only
    // batch with contexts admitted): beneficialToSkip then depends on the cache, which evictions change.
    for (const [maxNumTokens, numBlocks, seed] of [
      [12, 40, 1],
      [13, 60, 2],
      [14, 45, 3],
      [12, 90, 4],
    ] as const) {
      const s: Scenario = {
        opts: options({
          maxBatchSize: 6,
          maxNumTokens,
          chunking: "first_come_first_served",
          tokensPerBlock: 8,
          numBlocks,
          enableBlockReuse: true,
        }),
        requests: workload(50, seed, [24, 70], [10, 60], true),
      };
      await expectIdentical(s);
    }
  });

  it("random workloads and configurations", async () => {
    const arrivalsArb = (n: number): fc.Arbitrary<Arrivals> =>
      fc.oneof(
        fc.constant({ kind: "all_at_once" as const }),
        fc.integer({ min: 1, max: 6 }).map((concurrency) => ({ kind: "concurrency" as const, concurrency })),
        fc.record({ rate: fc.integer({ min: 20, max: 2000 }), seed: fc.integer() }).map((p) => ({ kind: "poisson" as const, ...p })),
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: n, maxLength: n }).map((submitMs) => ({ kind: "trace" as const, submitMs })),
      );
    const scenarioArb = anyScenarioArb({ maxRequests: 24, maxOutputTokens: 80, arrivals: arrivalsArb });
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        await expectIdentical(s);
      }),
      { numRuns: 120 },
    );
  });
});

describe("the roofline predictor's decode runs", () => {
  it("give the same records as pricing every iteration (Llama-3.1-8B, H100, fp8)", async () => {
    const config = rooflineLlama8bH100Fp8();
    const predictor = await createPredictor(config);
    expect(typeof predictor.predictDecodeRun).toBe("function");
    for (const arrivals of [
      { kind: "all_at_once" } as const,
      { kind: "concurrency", concurrency: 24 } as const,
      { kind: "poisson", rate: 40, seed: 1 } as const,
    ]) {
      const opts = options({ arrivals, maxBatchSize: 32, maxNumTokens: 2048, chunking: "first_come_first_served", numBlocks: 600 });
      const requests = workload(150, 17, [200, 800], [20, 300], false);
      const a = runSimulationSync(new Simulation(opts, requests), predictor, { decodeRuns: false });
      const b = runSimulationSync(new Simulation(opts, requests), predictor);
      const c = await runSimulation(new Simulation(opts, requests), asyncPredictor(predictor, 32, true));
      const records = (r: SimulationResult) => r.requests.map((x) => ({ ...x, tokenTimesMs: Array.from(x.tokenTimesMs) }));
      expect(records(b)).toEqual(records(a));
      expect(records(c)).toEqual(records(a));
      expect(b.simulatedMs).toBe(a.simulatedMs);
    }
  });
});

describe("every built-in predictor's decode runs", () => {
  const configs: Array<[string, Partial<PredictorConfig>]> = [
    ["constant", { kind: PredictorKind.PREDICTOR_KIND_CONSTANT, constantPrefillTimeMs: 12.5, constantDecodeTimeMs: 3.25 }],
    [
      "calibrated",
      {
        kind: PredictorKind.PREDICTOR_KIND_CALIBRATED,
        calibrated: {
          interceptMs: 1.7,
          perContextRequestMs: 0.11,
          perContextTokenMs: 0.0031,
          perGenerationRequestMs: 0.013,
          perGenerationKvTokenMs: 0.0000417,
          perContextAttentionAreaMs: 0.9,
        },
        decodeScaleFactor: 1.3,
        stepOverheadUs: 120,
        perRequestOverheadUs: 3,
      },
    ],
    [
      "roofline on an A100, per-request context attention, decode scale 1.1",
      {
        kind: PredictorKind.PREDICTOR_KIND_ROOFLINE,
        model: { name: "llama-3.1-8b" },
        gpu: { name: "a100_sxm" },
        ctxAttention: "per-request",
        decodeScaleFactor: 1.1,
      },
    ],
  ];
  for (const [name, partial] of configs) {
    it(`${name}: the same records and iteration log as pricing every iteration`, async () => {
      const predictor = await createPredictor(PredictorConfig.fromPartial(partial));
      expect(typeof predictor.predictDecodeRun).toBe("function");
      for (const arrivals of [{ kind: "all_at_once" } as const, { kind: "concurrency", concurrency: 7 } as const]) {
        const opts = options({ arrivals, maxBatchSize: 16, maxNumTokens: 1024, chunking: "equal_progress", numBlocks: 400, tokensPerBlock: 16 });
        const requests = workload(80, 23, [50, 600], [5, 200], false);
        const run = (decodeRuns: boolean) => {
          const iterations: IterationStats[] = [];
          const r = runSimulationSync(new Simulation(opts, requests, { onIteration: (s) => iterations.push(s) }), predictor, { decodeRuns });
          return outcome(r, iterations);
        };
        const plainRun = run(false);
        const fastRun = run(true);
        expect(fastRun.records).toEqual(plainRun.records);
        expect(fastRun.iterations).toEqual(plainRun.iterations);
        expect(fastRun.result).toEqual(plainRun.result);
      }
    });
  }
});

describe("the fast-path API", () => {
  const decodeOnly = () => new Simulation(options({ maxBatchSize: 4 }), [req(0, 16, 10), req(1, 16, 6)]);

  it("decodeRunLength: 1 for a batch with contexts, up to the first finish for a decode batch", () => {
    const sim = decodeOnly();
    sim.nextBatch();
    expect(sim.decodeRunLength()).toBe(1);
    sim.commit(10);
    const b = sim.nextBatch()!;
    expect(b.numContext).toBe(0);
    // Request 1 has 5 tokens left: iterations 1..5, the last one finishes it.
    expect(sim.decodeRunLength()).toBe(5);
    expect(sim.decodeRunLength(3)).toBe(3);
    expect(sim.commitDecodeRun([1, 2, 3, 4, 5], 5)).toBe(5);
    const next = sim.nextBatch()!;
    expect(next.numGeneration).toBe(1);
    expect(sim.decodeRunLength()).toBe(4);
    sim.commitDecodeRun([1, 1, 1, 1], 4);
    expect(sim.nextBatch()).toBeNull();
    const r = sim.result();
    expect(Array.from(r.requests[1]!.tokenTimesMs)).toEqual([10, 11, 13, 16, 20, 25]);
    expect(Array.from(r.requests[0]!.tokenTimesMs)).toEqual([10, 11, 13, 16, 20, 25, 26, 27, 28, 29]);
    expect(r.numDecodeIterations).toBe(9);
  });

  it("rejects a run longer than the one found, and a wrong number of times", () => {
    const sim = decodeOnly();
    sim.nextBatch();
    sim.commit(10);
    sim.nextBatch();
    expect(() => sim.commitDecodeRun([1, 1, 1, 1, 1, 1], 6)).toThrow(/has 5 at most/);
    expect(() => sim.commitDecodeRun([1, 1], 3)).toThrow(/needs 3 times/);
  });

  it("with arrivals in time, a run stops at the iteration at whose end the next request has arrived", () => {
    const sim = new Simulation(options({ arrivals: { kind: "trace", submitMs: [0, 25] } }), [req(0, 16, 20), req(1, 16, 2)]);
    sim.nextBatch();
    sim.commit(10);
    sim.nextBatch();
    expect(sim.timesNeeded).toBe(true);
    const k = sim.decodeRunLength();
    expect(k).toBe(19);
    // Iteration ends at 15, 20, 25: request 1 arrives at 25, so the run stops there.
    expect(sim.commitDecodeRun(new Array(k).fill(5), k)).toBe(3);
    const b = sim.nextBatch()!;
    expect(b.numContext).toBe(1);
  });

  it("deferred times: commit now, times later, in order; result only when all are known", () => {
    const records: IterationStats[] = [];
    const sim = new Simulation(options({ arrivals: { kind: "concurrency", concurrency: 1 } }), [req(0, 16, 3), req(1, 8, 2)], {
      onIteration: (s) => records.push(s),
    });
    expect(sim.timesNeeded).toBe(false);
    sim.nextBatch();
    sim.commitDeferred();
    sim.nextBatch();
    expect(sim.decodeRunLength()).toBe(2);
    sim.commitDecodeRunDeferred(2);
    expect(() => sim.nextBatch()!.numContext).not.toThrow();
    expect(() => sim.commit(1)).toThrow(/deferred times pending/);
    sim.commitDeferred();
    sim.nextBatch();
    sim.commitDeferred();
    expect(sim.nextBatch()).toBeNull();
    expect(() => sim.result()).toThrow(/5 iteration times are still pending/);
    expect(records).toHaveLength(0);
    sim.supplyTimes([10, 5, 5], 0, 3);
    expect(records.map((s) => s.simTimeMs)).toEqual([10, 15, 20]);
    expect(() => sim.supplyTimes([0], 0, 1)).toThrow(FailedPreconditionError);
    sim.supplyTimes([4, 6], 0, 2);
    const r = sim.result();
    expect(Array.from(r.requests[0]!.tokenTimesMs)).toEqual([10, 15, 20]);
    // Request 1 is admitted when request 0 ends (20 ms), then needs its prefill and one decode.
    expect(r.requests[1]!.startMs).toBe(20);
    expect(Array.from(r.requests[1]!.tokenTimesMs)).toEqual([24, 30]);
    expect(records.map((s) => s.iterLatencyMS)).toEqual([10, 5, 5, 4, 6]);
  });

  it("deferral is refused while arrivals depend on the clock", () => {
    const sim = new Simulation(options({ arrivals: { kind: "poisson", rate: 10, seed: 1 } }), [req(0, 16, 3), req(1, 8, 2)]);
    sim.nextBatch();
    expect(sim.timesNeeded).toBe(true);
    expect(() => sim.commitDeferred()).toThrow(/depend on the clock/);
  });

  it("a bad time inside a decode run is reported with the predictor and the step", async () => {
    const predictor: BatchPredictor = {
      description: "broken runs",
      predict: () => 5,
      predictDecodeRun: (_p, _c, steps) => Array.from({ length: steps }, (_, i) => (i === 2 ? Number.NaN : 5)),
    };
    const sim = () => new Simulation(options(), [req(0, 16, 10)]);
    expect(() => runSimulationSync(sim(), predictor)).toThrow(/"broken runs" returned NaN ms for step 2 of a decode run/);
    await expect(runSimulation(sim(), { ...predictor, maxInFlight: 4 })).rejects.toThrow(/step 2 of a decode run/);
    const short: BatchPredictor = { ...predictor, predictDecodeRun: () => [5] };
    expect(() => runSimulationSync(sim(), short)).toThrow(/returned 1 times for a decode run of 9 iterations/);
  });

  it("a failed prediction behind outstanding ones rejects the run (no unhandled rejection)", async () => {
    let n = 0;
    const predictor: BatchPredictor = {
      description: "flaky",
      maxInFlight: 16,
      predict: () => (++n === 4 ? Promise.reject(new Error("predictor went away")) : Promise.resolve(5)),
    };
    const sim = new Simulation(
      options({ maxBatchSize: 1 }),
      Array.from({ length: 10 }, (_, i) => req(i, 16, 1)),
    );
    await expect(runSimulation(sim, predictor)).rejects.toThrow(/predictor went away/);
  });
});
