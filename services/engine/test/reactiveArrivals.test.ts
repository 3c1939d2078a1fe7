import { constant10x5, options, req, times, trace } from "@servesim/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { vllmArrivalTimesMs } from "../src/arrivals/vllmSchedule.js";
import { runSimulationSync } from "../src/run.js";
import { Simulation } from "../src/simulation.js";
import type { EngineOptions } from "../src/types.js";

// The testkit predictor: 10 ms for a batch with context requests, 5 ms for a decode-only batch.
describe("arrival processes that react to the run", () => {
  it("gamma: requests are submitted at vLLM's times", () => {
    const spec = { kind: "gamma" as const, rate: 4, burstiness: 0.25, seed: 0 };
    const { result } = trace(
      options({ arrivals: spec }),
      Array.from({ length: 8 }, (_, i) => req(i, 10, 1)),
    );
    expect(result.requests.map((r) => r.startMs)).toEqual(Array.from(vllmArrivalTimesMs(8, spec)));
    expect(result.requests[0]!.startMs).toBe(58.50100868541669);
  });

  it("max_concurrency: a request due by the schedule waits for a slot, FIFO, without catching up", () => {
    const { result } = trace(options({ arrivals: { kind: "max_concurrency", limit: 1, schedule: { kind: "trace", submitMs: [0, 1, 2, 50] } } }), [
      req(0, 10, 2),
      req(1, 10, 2),
      req(2, 10, 2),
      req(3, 10, 2),
    ]);
    // r1 (due 1) gets r0's slot at 15, r2 (due 2) r1's at 30; r3 is due at 50, after r2 ended at 45.
    expect(result.requests.map((r) => r.startMs)).toEqual([0, 15, 30, 50]);
    expect(result.requests.map((r) => r.endMs)).toEqual([15, 30, 45, 65]);
    expect(result.requests.map((r) => r.ttftMs)).toEqual([10, 10, 10, 10]);
  });

  const turns = { count: 2, sessionOf: [0, 1, 0], delayMs: [0, 0, 100] };

  it("sessions: a turn is sent its think time after the previous turn's last token", () => {
    const { result } = trace(options({ arrivals: { kind: "sessions", turns, start: { kind: "all_at_once" }, limit: Infinity } }), [
      req(0, 10, 2),
      req(1, 10, 2),
      req(2, 10, 2),
    ]);
    // r0 and r1 prefill together (0-10) and decode (10-15); r2 is sent at 15 + 100.
    expect(result.requests.map((r) => r.startMs)).toEqual([0, 0, 115]);
    expect(result.requests.map(times)).toEqual([
      [10, 15],
      [10, 15],
      [125, 130],
    ]);
  });

  it("sessions with one slot: the next session starts when the previous one's last turn ends", () => {
    const { result } = trace(options({ arrivals: { kind: "sessions", turns, start: { kind: "trace", submitMs: [0, 5] }, limit: 1 } }), [
      req(0, 10, 2),
      req(1, 10, 2),
      req(2, 10, 2),
    ]);
    expect(result.requests.map((r) => r.startMs)).toEqual([0, 130, 115]);
    expect(result.requests.map((r) => r.endMs)).toEqual([15, 145, 130]);
  });

  it("sessions: a turn that fails on release ends there, and the session goes on", () => {
    const { result } = trace(
      options({
        maxNumTokens: 64,
        arrivals: { kind: "sessions", turns: { count: 1, sessionOf: [0, 0], delayMs: [0, 7] }, start: { kind: "all_at_once" }, limit: 1 },
      }),
      [req(0, 100, 2), req(1, 10, 2)],
    );
    expect(result.requests[0]!.error).toMatch(/should not exceed max_num_tokens/);
    expect([result.requests[1]!.startMs, ...times(result.requests[1]!)]).toEqual([7, 17, 22]);
  });

  it("validation names the field", () => {
    expect(() => trace(options({ arrivals: { kind: "max_concurrency", limit: 0, schedule: { kind: "all_at_once" } } }), [req(0, 10, 1)])).toThrow(
      "options.arrivals.limit: must be an integer in [1, 2147483647] or Infinity (got 0)",
    );
    expect(() =>
      trace(options({ arrivals: { kind: "sessions", turns: { count: 2, sessionOf: [0, 0], delayMs: [0, 0] }, start: { kind: "all_at_once" }, limit: 1 } }), [
        req(0, 10, 1),
        req(1, 10, 1),
      ]),
    ).toThrow("options.arrivals.turns.sessionOf: session 1 has no turn");
    expect(() => trace(options({ arrivals: { kind: "gamma", rate: 1, burstiness: -1, seed: 0 } }), [req(0, 10, 1)])).toThrow(
      "options.arrivals.burstiness: must be a number > 0 or +inf (got -1)",
    );
  });
});

describe("reactive arrivals agree with the closed loop they generalise", () => {
  const shape = (r: { requests: readonly { startMs: number; tokenTimesMs: Float64Array; error?: string }[] }) =>
    r.requests.map((q) => [q.startMs, Array.from(q.tokenTimesMs), q.error ?? ""]);

  it("max_concurrency over all-at-once, and one-turn sessions under a limit, run exactly as concurrency C (rejections, overlap, decode runs)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 12 })), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 6 }),
        fc.boolean(),
        fc.boolean(),
        (lengths, c, overlap, runs) => {
          const requests = lengths.map(([isl, osl], i) => req(i, isl, osl));
          const n = requests.length;
          // max_num_tokens 100 without chunking: longer prompts fail on release.
          const base = { maxBatchSize: 4, maxNumTokens: 100, overlap };
          const run = (arrivals: EngineOptions["arrivals"]) => {
            const sim = new Simulation(options({ ...base, arrivals }), requests);
            const predictor = constant10x5();
            return runs ? runSimulationSync(sim, predictor) : trace(options({ ...base, arrivals }), requests).result;
          };
          const closed = shape(run({ kind: "concurrency", concurrency: c }));
          expect(shape(run({ kind: "max_concurrency", limit: c, schedule: { kind: "all_at_once" } }))).toEqual(closed);
          const turns = { count: n, sessionOf: requests.map((_, i) => i), delayMs: new Array<number>(n).fill(0) };
          expect(shape(run({ kind: "sessions", turns, start: { kind: "all_at_once" }, limit: c }))).toEqual(closed);
        },
      ),
      { numRuns: 300 },
    );
  });
});
