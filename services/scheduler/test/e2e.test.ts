import { PredictorKind } from "@servesim/wire/predictor";
import { Distribution, JobState, type WatchJobResponse } from "@servesim/wire/scheduler";
import { describe, expect, it } from "vitest";
import { embeddedRun, inlineWorkload, jobSpec, predictorAndScheduler, smallJob, until, variedRequests, watchHealth } from "./harness.js";

describe("scheduler → predictor end to end", () => {
  const servers = predictorAndScheduler();

  async function runToEnd(id: string): Promise<WatchJobResponse[]> {
    const events: WatchJobResponse[] = [];
    for await (const e of servers.scheduler.client.watchJob(id, { minIntervalMs: 1 })) events.push(e);
    return events;
  }

  it("a constant-predictor job gives the embedded engine's records and iteration log", async () => {
    const spec = smallJob(20, "constant", { warmup: 2, seed: 7 });
    const job = await servers.scheduler.client.submitJob(spec);
    expect(job.name).toBe("constant");
    expect(job.progress?.requestsTotal).toBe(20);
    const events = await runToEnd(job.id);
    const last = events.at(-1)!;
    expect(last.job?.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(last.result?.numRequests).toBe(20);

    const out = await servers.scheduler.client.getResult(job.id, { includeRequests: true, includeIterations: true });
    const local = await embeddedRun(spec);
    expect(out.requests).toEqual(local.requests);
    expect(out.iterations).toEqual(local.iterations);
    expect(out.result.numIterations).toBe(local.numIterations);
    expect(out.result.numFailedRequests).toBe(0);
    expect(out.result.reportText).toContain("[SIM]");
    expect(JSON.parse(out.result.reportJson)).toHaveProperty("sim");
  });

  it("a roofline job (Llama-3.1-8B on H100, chunked prefill) gives the embedded engine's records", async () => {
    const spec = jobSpec({
      name: "roofline",
      engine: { enableChunkedContext: true, maxNumTokens: 256, warmup: 0 },
      predictor: { model: { name: "llama-3.1-8b" }, gpu: { name: "h100_sxm" } },
      workload: inlineWorkload(variedRequests(10, 3).map((r) => ({ input: r.input * 4, output: r.output }))),
    });
    const job = await servers.scheduler.client.submitJob(spec);
    await runToEnd(job.id);
    const out = await servers.scheduler.client.getResult(job.id, { includeRequests: true });
    const local = await embeddedRun(spec);
    expect(out.requests).toEqual(local.requests);
    expect(out.result.reportText).toContain("roofline");
  });

  it("dataset and synthetic workloads (default warm-up, concurrency, Poisson arrivals) give the embedded engine's records", async () => {
    const lines = variedRequests(12, 5).map((r, i) =>
      JSON.stringify({ task_id: 100 + i, input_ids: Array.from({ length: r.input }, (_, j) => (j * 31 + (i % 3)) % 1000), output_tokens: r.output }),
    );
    const specs = [
      jobSpec({
        name: "dataset",
        engine: { maxBatchSize: 4, concurrency: 3, enableBlockReuse: true },
        predictor: { kind: PredictorKind.PREDICTOR_KIND_CONSTANT },
        workload: { dataset: { jsonl: lines.join("\n"), name: "prefix.jsonl" } },
      }),
      jobSpec({
        name: "synthetic",
        engine: { maxBatchSize: 8, requestRate: 50, seed: 3 },
        predictor: { kind: PredictorKind.PREDICTOR_KIND_CONSTANT, constantPrefillTimeMs: 7, constantDecodeTimeMs: 2 },
        workload: {
          synthetic: {
            distribution: Distribution.DISTRIBUTION_TOKEN_NORM_DIST,
            numRequests: 15,
            inputMean: 60,
            inputStdev: 10,
            outputMean: 12,
            outputStdev: 3,
          } as never,
        },
      }),
    ];
    for (const spec of specs) {
      const job = await servers.scheduler.client.submitJob(spec);
      expect((await runToEnd(job.id)).at(-1)!.job!.state).toBe(JobState.JOB_STATE_SUCCEEDED);
      const out = await servers.scheduler.client.getResult(job.id, { includeRequests: true, includeIterations: true });
      const local = await embeddedRun(spec);
      expect(out.requests).toEqual(local.requests);
      expect(out.iterations).toEqual(local.iterations);
    }
  });

  it("WatchJob: a QUEUED or RUNNING snapshot first, progress that never goes back, one final event with the result", async () => {
    const job = await servers.scheduler.client.submitJob(smallJob(30, "watched"));
    const events = await runToEnd(job.id);
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect([JobState.JOB_STATE_QUEUED, JobState.JOB_STATE_RUNNING]).toContain(events[0]!.job!.state);
    const finals = events.filter((e) => e.result !== undefined);
    expect(finals).toHaveLength(1);
    expect(events.at(-1)).toBe(finals[0]);
    let prev = -1;
    for (const e of events) {
      expect(e.job!.progress!.iterations).toBeGreaterThanOrEqual(prev);
      prev = e.job!.progress!.iterations;
    }
    const final = events.at(-1)!.job!;
    expect(final.progress).toMatchObject({ requestsFinished: 30, requestsTotal: 30 });
    expect(final.progress!.iterations).toBe(events.at(-1)!.result!.numIterations);
    expect(final.startedAtMs).toBeGreaterThanOrEqual(final.createdAtMs);
    expect(final.finishedAtMs).toBeGreaterThanOrEqual(final.startedAtMs);

    // Watching a finished job yields the final event alone.
    const again = await runToEnd(job.id);
    expect(again).toHaveLength(1);
    expect(again[0]!.result).toEqual(events.at(-1)!.result);
  });

  it("GetResult streams the result, then the records in chunks of chunk_size", async () => {
    const job = await servers.scheduler.client.submitJob(smallJob(10, "chunked"));
    await runToEnd(job.id);
    const { SchedulerServiceClient } = await import("@servesim/wire/scheduler");
    const { credentials } = await import("@grpc/grpc-js");
    const raw = new SchedulerServiceClient(`127.0.0.1:${servers.scheduler.server.port}`, credentials.createInsecure());
    const chunks: string[] = [];
    let iterations = 0;
    for await (const c of raw.getResult({ id: job.id, includeRequests: true, includeIterations: true, chunkSize: 3 })) {
      if (c.result) chunks.push("result");
      if (c.requests) chunks.push(`requests:${c.requests.records.length}`);
      if (c.iterations) {
        chunks.push(`iterations:${c.iterations.records.length}`);
        iterations += c.iterations.records.length;
      }
    }
    raw.close();
    const n = (await servers.scheduler.client.getResult(job.id)).result.numIterations;
    const iterationChunks = Array.from({ length: Math.ceil(n / 3) }, (_, i) => `iterations:${Math.min(3, n - 3 * i)}`);
    expect(chunks).toEqual(["result", "requests:3", "requests:3", "requests:3", "requests:1", ...iterationChunks]);
    expect(iterations).toBe(n);

    const summary = await servers.scheduler.client.getResult(job.id);
    expect(summary.requests).toEqual([]);
    expect(summary.iterations).toEqual([]);
  });

  it("ListJobs filters by state; GetJob and GetResult of unknown ids are NOT_FOUND", async () => {
    const all = await servers.scheduler.client.listJobs();
    expect(all.length).toBeGreaterThanOrEqual(4);
    const succeeded = await servers.scheduler.client.listJobs([JobState.JOB_STATE_SUCCEEDED]);
    expect(succeeded.map((j) => j.id)).toEqual(all.filter((j) => j.state === JobState.JOB_STATE_SUCCEEDED).map((j) => j.id));
    expect(await servers.scheduler.client.listJobs([JobState.JOB_STATE_FAILED, JobState.JOB_STATE_QUEUED])).toEqual([]);
    await expect(servers.scheduler.client.listJobs([42 as JobState])).rejects.toMatchObject({ codeName: "INVALID_ARGUMENT", field: "states[0]" });
    await expect(servers.scheduler.client.getJob("nope")).rejects.toMatchObject({ codeName: "NOT_FOUND" });
    await expect(servers.scheduler.client.getResult("nope")).rejects.toMatchObject({ codeName: "NOT_FOUND" });
    await expect(servers.scheduler.client.getJob("")).rejects.toMatchObject({ codeName: "INVALID_ARGUMENT", field: "id" });
  });

  it("serves health and reflection next to the scheduler", async () => {
    const health = watchHealth(servers.scheduler.server.port);
    await until(() => health.statuses.includes("SERVING"));
    health.close();
    expect(servers.scheduler.logs.find((l) => l["msg"] === "listening")).toMatchObject({ services: ["servesim.v1.SchedulerService"] });
    expect(servers.scheduler.logs.some((l) => String(l["msg"]).includes("reflection"))).toBe(false);
  });

  it("logs one line per job state change", async () => {
    const job = await servers.scheduler.client.submitJob(smallJob(3, "logged"));
    await runToEnd(job.id);
    const lines = servers.scheduler.logs.filter((l) => l["job"] === job.id && typeof l["state"] === "string");
    expect(lines.map((l) => l["state"])).toEqual(["QUEUED", "RUNNING", "SUCCEEDED"]);
    expect(lines.map((l) => l["msg"])).toEqual(["job queued", "job running", "job succeeded"]);
  });
});
