/** SERVESIM_MAX_JOB_ITERATIONS: refused at submission when one request alone needs more, else the job fails when it gets there. */
import { PredictorKind } from "@servesim/wire/predictor";
import { JobState } from "@servesim/wire/scheduler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlineWorkload, jobSpec, startPredictor, startScheduler, type TestPredictor, type TestScheduler, until } from "./harness.js";

let predictor: TestPredictor;
let scheduler: TestScheduler;
beforeAll(async () => {
  predictor = await startPredictor();
  scheduler = await startScheduler(predictor.address, { SERVESIM_MAX_JOB_ITERATIONS: "50" });
});
afterAll(async () => {
  await scheduler?.stop();
  await predictor?.kill();
});

const spec = (rows: Array<{ input: number; output: number }>, maxBatchSize = 1) =>
  jobSpec({
    name: "iterations",
    engine: { maxBatchSize, warmup: 0 },
    predictor: { kind: PredictorKind.PREDICTOR_KIND_CONSTANT, constantPrefillTimeMs: 10, constantDecodeTimeMs: 5 },
    workload: inlineWorkload(rows),
  });

describe("iteration limit per job", () => {
  it("a request whose output alone needs more iterations is INVALID_ARGUMENT at submission, naming the limit", async () => {
    await expect(scheduler.client.submitJob(spec([{ input: 8, output: 51 }]))).rejects.toMatchObject({
      codeName: "INVALID_ARGUMENT",
      field: "spec.workload",
      reason: "a request of 51 output tokens needs at least 51 iterations, more than SERVESIM_MAX_JOB_ITERATIONS (50); simulate shorter outputs",
    });
  });

  it("a job that gets past the limit while running fails with RESOURCE_EXHAUSTED's message; one within it succeeds", async () => {
    // One request at a time, 10 requests of 10 output tokens: 100 iterations.
    const over = await scheduler.client.submitJob(spec(Array.from({ length: 10 }, () => ({ input: 8, output: 10 }))));
    await until(async () => (await scheduler.client.getJob(over.id)).state === JobState.JOB_STATE_FAILED);
    expect((await scheduler.client.getJob(over.id)).error).toBe(
      "the job ran more than 50 simulated iterations (SERVESIM_MAX_JOB_ITERATIONS) and was stopped; simulate fewer or shorter requests, or allow larger batches",
    );
    // The same requests batched ten at a time: 10 iterations.
    const within = await scheduler.client.submitJob(
      spec(
        Array.from({ length: 10 }, () => ({ input: 8, output: 10 })),
        10,
      ),
    );
    await until(async () => (await scheduler.client.getJob(within.id)).state === JobState.JOB_STATE_SUCCEEDED);
    expect((await scheduler.client.getResult(within.id)).result.numIterations).toBe(10);
  });
});
