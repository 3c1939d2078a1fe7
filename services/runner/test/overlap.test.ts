import { createPredictor } from "@servesim/perf";
import { describe, expect, it } from "vitest";
import { resolveJob } from "../src/resolveJob.js";
import { runResolvedJob } from "../src/runJob.js";
import { constant, inline, spec } from "./helpers.js";

/** spec.engine.disable_overlap_scheduler → EngineOptions.overlap → the report (`PyExecutor._executor_loop_overlap`). */
describe("EngineConfig.disable_overlap_scheduler", () => {
  // Worked example E2 (docs/engine.md): R0 100/3, R1 200/2, R2 50/2 with max_batch_size 2, constant predictor (10 ms with a context, else 5).
  const workload = inline([
    { inputLength: 100, outputTokens: 3 },
    { inputLength: 200, outputTokens: 2 },
    { inputLength: 50, outputTokens: 2 },
  ]);
  const engine = { maxBatchSize: 2, maxNumTokens: 8192, kvNumBlocks: 100, warmup: 0 };
  const run = async (disableOverlapScheduler?: boolean) => {
    const job = await resolveJob(
      spec({ engine: { ...engine, ...(disableOverlapScheduler !== undefined ? { disableOverlapScheduler } : {}) }, predictor: constant, workload }),
    );
    return { job, out: await runResolvedJob(job, await createPredictor(job.predictor.config)) };
  };
  const times = (r: { tokenTimesMs: ArrayLike<number> }): number[] => Array.from(r.tokenTimesMs);

  it("unset or true: the non-overlap loop (servesim's default), shown as off", async () => {
    for (const flag of [undefined, true]) {
      const { job, out } = await run(flag);
      expect(job.engine.overlap).toBe(false);
      expect(times(out.records[2]!)).toEqual([25, 30]);
      expect(out.reportText).toContain("Overlap Scheduler:        off\n");
      expect((out.reportJson["sim"] as Record<string, unknown>)["overlap_scheduler"]).toBe(false);
    }
  });

  it("false: the overlap loop; R2 is admitted one iteration later; shown as on", async () => {
    const { job, out } = await run(false);
    expect(job.engine.overlap).toBe(true);
    expect(out.records.map(times)).toEqual([
      [10, 15, 20],
      [10, 15],
      [30, 35],
    ]);
    expect(out.result.numIterations).toBe(5);
    expect(out.reportText).toContain("Overlap Scheduler:        on\n");
    expect((out.reportJson["sim"] as Record<string, unknown>)["overlap_scheduler"]).toBe(true);
  });
});
