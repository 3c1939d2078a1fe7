import { type Case, caseArb } from "@servesim/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runAttentionDp, runPipeline, runSimulation, type SimBatch, Simulation } from "../src/index.js";

/** A batch-dependent price, so the clock moves unevenly (no decode-run method: every step priced). */
const predictor = { description: "uneven", predict: (b: SimBatch): number => 1 + b.numContextTokens * 0.01 + b.numGeneration * 0.1 };

const plain = async (c: Case) => runSimulation(new Simulation(c.opts, c.requests, c.warmup ? { warmup: c.warmup } : {}), predictor);

describe("attention DP with one rank is the plain engine", () => {
  it.each([false, true])(
    "same records and iteration counts for every arrival mode (EngineLoops, or lockstep partitions for alike requests); overlap %s",
    async (overlap) => {
      await fc.assert(
        fc.asyncProperty(caseArb({ overlap }), async (c) => {
          const a = await plain(c);
          // A failed request's successor (closed loop): the plain engine fetches it in the same schedule,
          // the ranks' loops at the next iteration (when the failure has been answered).
          fc.pre(a.numFailed === 0 || c.opts.arrivals.kind !== "concurrency");
          const b = await runAttentionDp({ ...c.opts, attentionDpRanks: 1 }, c.requests, predictor, c.warmup ? { warmup: c.warmup } : {});
          const key = (r: (typeof a.requests)[number]) => [r.taskId, r.error ?? null, r.startMs, Array.from(r.tokenTimesMs), r.pausedCount];
          expect(b.requests.map(key)).toEqual(a.requests.map(key));
          expect(b.numIterations).toBe(a.numIterations);
          expect(b.numFailed).toBe(a.numFailed);
        }),
        { numRuns: 100 },
      );
    },
  );
});

describe("pipeline parallelism with one stage is the plain engine", () => {
  it("same records for all-at-once and closed-loop runs", async () => {
    await fc.assert(
      fc.asyncProperty(
        caseArb().filter((c) => c.opts.overlap !== true && (c.opts.arrivals.kind === "all_at_once" || c.opts.arrivals.kind === "concurrency")),
        async (c) => {
          const a = await plain(c);
          const b = await runPipeline({ ...c.opts, ppSize: 1 }, c.requests, predictor, c.warmup ? { warmup: c.warmup } : {});
          const key = (r: (typeof a.requests)[number]) => [r.taskId, r.error ?? null, r.startMs, Array.from(r.tokenTimesMs)];
          expect(b.requests.map(key)).toEqual(a.requests.map(key));
          expect(b.numIterations).toBe(a.numIterations);
        },
      ),
      { numRuns: 100 },
    );
  });
});
