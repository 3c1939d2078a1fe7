import {
  caseArb as anyCaseArb,
  pressureArb as anyPressureArb,
  scenarioArb as anyScenarioArb,
  arrivalsArb,
  asyncPredictor,
  type Case,
  ExactPredictor,
  expectRunInvariants,
  options,
  plain,
  run as runChecked,
  workload,
} from "@servesim/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runSimulation, runSimulationSync, Simulation } from "../src/index.js";
import type { Arrivals, IterationStats, SimulationResult } from "../src/types.js";

/** Property suite of the overlap scheduler (`PyExecutor._executor_loop_overlap`): the engine invariants, and fast paths. */

const caseArb = anyCaseArb({ overlap: true });
const pressureArb = anyPressureArb({ overlap: true });

/** KV blocks still held once the run is over. */
const blocksHeld = (sim: Simulation): number => sim.kvUsedBlocks;

function run(c: Case, check = true): { result: SimulationResult; iterations: IterationStats[] } {
  const { sim, result, iterations } = runChecked(c, check);
  if (check) expect(blocksHeld(sim)).toBe(0);
  return { result, iterations };
}

function checkRun(c: Case): void {
  const { result, iterations } = run(c);
  expectRunInvariants(c, result, iterations);
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
        expect([on.numIterations, on.simulatedMs, on.numPaused, on.reusedBlocks]).toEqual([
          off.numIterations,
          off.simulatedMs,
          off.numPaused,
          off.reusedBlocks,
        ]);
      }),
      { numRuns: 150 },
    );
  });
});

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
  const pipelined = await outcome(c, (sim) => runSimulation(sim, asyncPredictor(new ExactPredictor(), 16, true), { yieldEveryMs: 1e9 }));
  expect(pipelined).toEqual(base);
  const pingPong = await outcome(c, (sim) => runSimulation(sim, asyncPredictor(new ExactPredictor(), 1, true), { yieldEveryMs: 1e9 }));
  expect(pingPong).toEqual(base);
  return exact.runs;
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
            opts: options({
              arrivals,
              capacityPolicy,
              chunking: "first_come_first_served",
              enableBlockReuse: reuse,
              maxBatchSize: 6,
              maxNumTokens: 96,
              tokensPerBlock: 8,
              numBlocks: 70,
              overlap: true,
            }),
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
    for (const [maxNumTokens, numBlocks, seed] of [
      [12, 40, 1],
      [13, 60, 2],
      [14, 45, 3],
      [12, 90, 4],
      [16, 70, 5],
      [20, 50, 6],
    ] as const) {
      for (const capacityPolicy of ["guaranteed_no_evict", "max_utilization"] as const) {
        await expectFastPathsExact({
          opts: options({
            maxBatchSize: 6,
            maxNumTokens,
            chunking: "first_come_first_served",
            tokensPerBlock: 8,
            numBlocks,
            enableBlockReuse: true,
            capacityPolicy,
            overlap: true,
          }),
          requests: workload(50, seed, [24, 70], [10, 60], true),
        });
      }
    }
  });

  it("random workloads and configurations", async () => {
    const scenarioArb = anyScenarioArb({ maxRequests: 20, maxOutputTokens: 60, arrivals: arrivalsArb, extra: { overlap: true } });
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (c) => {
        await expectFastPathsExact(c);
      }),
      { numRuns: 80 },
    );
  });
});
