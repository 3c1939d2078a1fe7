import { CancelledError, FailedPreconditionError, InvalidArgumentError } from "@servesim/core";
import { constant10x5, options, req, times } from "@servesim/testkit";
import { describe, expect, it } from "vitest";
import { type BatchPredictor, runSimulation, runSimulationSync, Simulation, type SimulationProgress } from "../src/index.js";

const requests = [req(0, 100, 3), req(1, 200, 2), req(2, 50, 2)];

describe("driving a simulation", () => {
  it("runSimulation with an asynchronous predictor gives the same result as runSimulationSync", async () => {
    const inner = constant10x5();
    const asyncPredictor: BatchPredictor = { description: "async", predict: (b) => Promise.resolve(inner.predict(b)) };
    const a = await runSimulation(new Simulation(options({ maxBatchSize: 2 }), requests), asyncPredictor);
    const s = runSimulationSync(new Simulation(options({ maxBatchSize: 2 }), requests), inner);
    expect(a.requests.map(times)).toEqual(s.requests.map(times));
    expect(a.requests.map(times)).toEqual([
      [10, 15, 25],
      [10, 15],
      [25, 30],
    ]);
  });

  it("reports progress and ends with a final report", async () => {
    const seen: SimulationProgress[] = [];
    const result = await runSimulation(new Simulation(options(), [req(0, 128, 8)]), constant10x5(), {
      onProgress: (p) => seen.push(p),
      progressEveryMs: 0,
    });
    expect(result.numIterations).toBe(8);
    expect(seen.at(-1)).toEqual({ iterations: 8, requestsFinished: 1, requestsTotal: 1, simTimeMs: 45, warmingUp: false });
  });

  it("yields to the event loop during long synchronous runs and stops with CancelledError on abort", async () => {
    const many = Array.from({ length: 3000 }, (_, i) => req(i, 16, 2000));
    const sim = new Simulation(options({ maxBatchSize: 4 }), many);
    const controller = new AbortController();
    let ticks = 0;
    const timer = setInterval(() => {
      ticks++;
      if (ticks === 2) controller.abort();
    }, 1);
    const run = runSimulation(sim, constant10x5(), { signal: controller.signal, yieldEveryMs: 2 });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    clearInterval(timer);
    expect(ticks).toBeGreaterThanOrEqual(2);
    expect(sim.progress.requestsFinished).toBeLessThan(many.length);
  });

  it("an aborted signal stops an asynchronous run before the next batch", async () => {
    const controller = new AbortController();
    let calls = 0;
    const predictor: BatchPredictor = {
      description: "slow",
      predict: async () => {
        calls++;
        if (calls === 3) controller.abort(new Error("client went away"));
        return 5;
      },
    };
    await expect(runSimulation(new Simulation(options(), [req(0, 10, 50)]), predictor, { signal: controller.signal })).rejects.toThrow(
      /simulation cancelled: client went away/,
    );
    expect(calls).toBe(3);
  });

  it("rejects batch times that are not finite and > 0, naming the value", async () => {
    for (const bad of [0, -3, Number.NaN, Number.POSITIVE_INFINITY]) {
      const predictor: BatchPredictor = { description: "broken", predict: () => bad };
      expect(() => runSimulationSync(new Simulation(options(), [req(0, 10, 2)]), predictor)).toThrow(
        new RegExp(`predictor "broken" returned ${String(bad)} ms`),
      );
      await expect(runSimulation(new Simulation(options(), [req(0, 10, 2)]), predictor)).rejects.toBeInstanceOf(FailedPreconditionError);
      const sim = new Simulation(options(), [req(0, 10, 2)]);
      sim.nextBatch();
      expect(() => sim.commit(bad)).toThrow(new RegExp(`returned ${String(bad)} ms for iteration 0`));
    }
  });

  it("runSimulationSync refuses an asynchronous predictor", () => {
    const predictor: BatchPredictor = { description: "remote", predict: () => Promise.resolve(5) };
    expect(() => runSimulationSync(new Simulation(options(), [req(0, 10, 2)]), predictor)).toThrow(/asynchronous/);
  });

  it("guards the nextBatch/commit protocol and result()", () => {
    const sim = new Simulation(options(), [req(0, 10, 1)]);
    expect(() => sim.commit(5)).toThrow(/without a batch/);
    expect(() => sim.result()).toThrow(/only available after/);
    expect(sim.nextBatch()).not.toBeNull();
    expect(() => sim.nextBatch()).toThrow(/before commit/);
    sim.commit(10);
    expect(sim.nextBatch()).toBeNull();
    expect(sim.nextBatch()).toBeNull();
    expect(times(sim.result().requests[0]!)).toEqual([10]);
  });

  it("an empty request list ends at once", () => {
    const r = runSimulationSync(new Simulation(options(), []), constant10x5());
    expect(r).toMatchObject({ requests: [], numIterations: 0, simulatedMs: 0, numFailed: 0 });
  });

  it("rejects pipeline parallelism and malformed input with InvalidArgumentError", () => {
    const bad = (f: () => unknown, field: string) => {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidArgumentError);
        expect((e as InvalidArgumentError).field).toBe(field);
      }
    };
    bad(() => new Simulation(options({ ppSize: 2 }), []), "options.ppSize");
    expect(() => new Simulation(options({ ppSize: 2 }), [])).toThrow(/pipeline parallelism \(pp_size 2\) is not supported/);
    bad(() => new Simulation(options({ maxBatchSize: 0 }), []), "options.maxBatchSize");
    bad(() => new Simulation(options({ numBlocks: 1.5 }), []), "options.numBlocks");
    bad(() => new Simulation(options({ capacityPolicy: "prefill_first" as never }), []), "options.capacityPolicy");
    bad(() => new Simulation(options({ arrivals: { kind: "poisson", rate: 0, seed: 1 } }), []), "options.arrivals.rate");
    bad(() => new Simulation(options({ arrivals: { kind: "trace", submitMs: [1] } }), []), "options.arrivals.submitMs");
    bad(() => new Simulation(options({ arrivals: { kind: "concurrency", concurrency: 0 } }), []), "options.arrivals.concurrency");
    bad(() => new Simulation(options(), [req(0, 0, 1)]), "requests[0].inputLength");
    bad(() => new Simulation(options(), [req(0, 3, 1, [1, 2])]), "requests[0].inputIds");
    bad(() => new Simulation(options(), [], { warmup: [req(0, 3, 0)] }), "warmup[0].outputTokens");
  });
});
