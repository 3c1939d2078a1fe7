import { credentials, Server, ServerCredentials, type ServiceError, status as Status } from "@grpc/grpc-js";
import { SchedulerClient, ServesimError } from "@servesim/client";
import { InvalidArgumentError } from "@servesim/core";
import { resolveJob } from "@servesim/runner";
import { silentLogger } from "@servesim/server-common";
import { PredictorKind } from "@servesim/wire/predictor";
import { JobSpec, JobState, SchedulerServiceClient, type SchedulerServiceServer, SchedulerServiceService } from "@servesim/wire/scheduler";
import { describe, expect, it } from "vitest";
import type { JobExecutor, PreparedJob } from "../src/jobExecutor.js";
import { JobManager } from "../src/jobManager.js";
import { MAX_REQUEST_ID_LENGTH } from "../src/submissions.js";
import { gate, inlineWorkload, jobSpec, predictorAndScheduler, smallJob, until } from "./harness.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** An executor whose prepare waits for `hold` when set, and whose runs never end until cancelled. */
function countingExecutor(opts: { hold?: Promise<void>; warnings?: string[] } = {}) {
  const prepared: string[] = [];
  const executor: JobExecutor = {
    async prepare(spec: JobSpec): Promise<PreparedJob> {
      prepared.push(spec.name);
      await opts.hold;
      if (spec.name === "bad") throw new InvalidArgumentError("spec.name", "is bad");
      return { name: spec.name, requestsTotal: 1, warnings: opts.warnings ?? [] };
    },
    run: (_job, control) => new Promise((_resolve, reject) => control.signal.addEventListener("abort", () => reject(new Error("aborted")))),
  };
  return { executor, prepared };
}

const named = (name: string, extra: Partial<JobSpec> = {}): JobSpec => JobSpec.fromPartial({ name, ...extra });
const manager = (executor: JobExecutor, over: Partial<{ maxConcurrentJobs: number; maxQueuedJobs: number; resultTtlMs: number }> = {}) =>
  new JobManager(executor, { maxConcurrentJobs: 1, maxQueuedJobs: 10, maxStoredJobs: 10, resultTtlMs: 3_600_000, logger: silentLogger(), ...over });

describe("SubmitJob request_id (JobManager)", () => {
  it("the same request_id and spec return the job the first submission created; without one every submission is a job", async () => {
    const { executor, prepared } = countingExecutor();
    const m = manager(executor);
    const a = await m.submit(named("a"), "req-1");
    const again = await m.submit(named("a"), "req-1");
    expect(again.id).toBe(a.id);
    expect(prepared).toEqual(["a"]);
    const b1 = await m.submit(named("b"));
    const b2 = await m.submit(named("b"));
    expect(b1.id).not.toBe(b2.id);
    expect(m.list().map((j) => j.name)).toEqual(["a", "b", "b"]);
    await m.shutdown();
  });

  it("a retry that arrives while the first submission is still being resolved gets the same job", async () => {
    const hold = gate();
    const { executor, prepared } = countingExecutor({ hold: hold.promise });
    const m = manager(executor);
    const first = m.submit(named("slow"), "req-2");
    const retry = m.submit(named("slow"), "req-2");
    await until(() => prepared.length === 1);
    hold.open();
    const [a, b] = await Promise.all([first, retry]);
    expect(b.id).toBe(a.id);
    expect(prepared).toEqual(["slow"]);
    expect(m.counts.stored).toBe(1);
    await m.shutdown();
  });

  it("the same request_id with another spec is ALREADY_EXISTS", async () => {
    const { executor } = countingExecutor();
    const m = manager(executor);
    const a = await m.submit(named("a", { modelPath: "/m" }), "req-3");
    await expect(m.submit(named("a", { modelPath: "/other" }), "req-3")).rejects.toMatchObject({
      name: "AlreadyExistsError",
      code: "ALREADY_EXISTS",
      message: `request_id req-3 was already used with a different spec (job ${a.id}); use a new request_id for a new job`,
    });
    // Unset fields count as their defaults: an explicit empty model_path is the same spec.
    expect((await m.submit(JobSpec.fromPartial({ name: "b" }), "req-4")).id).toBe((await m.submit({ name: "b", modelPath: "" } as JobSpec, "req-4")).id);
    await m.shutdown();
  });

  it("a failed submission is not remembered: its retry is validated and queued afresh", async () => {
    const { executor, prepared } = countingExecutor();
    const m = manager(executor, { maxQueuedJobs: 1 });
    await expect(m.submit(named("bad"), "req-5")).rejects.toThrow(InvalidArgumentError);
    await expect(m.submit(named("bad"), "req-5")).rejects.toThrow(InvalidArgumentError);
    expect(prepared).toEqual(["bad", "bad"]);
    await m.submit(named("runs"));
    const queued = await m.submit(named("queued"));
    await expect(m.submit(named("late"), "req-6")).rejects.toMatchObject({ name: "ResourceExhaustedError" });
    await m.cancel(queued.id);
    const late = await m.submit(named("late"), "req-6");
    expect(late.state).toBe(JobState.JOB_STATE_QUEUED);
    await m.shutdown();
  });

  it("a request_id lives as long as its job: once the finished job is dropped, the id makes a new job", async () => {
    const { executor } = countingExecutor();
    const m = manager(executor, { resultTtlMs: 20 });
    const a = await m.submit(named("a"), "req-7");
    await m.cancel(a.id);
    await until(() => m.counts.stored === 0);
    const b = await m.submit(named("a"), "req-7");
    expect(b.id).not.toBe(a.id);
    await m.shutdown();
  });

  it("rejects a request_id that is too long or not printable ASCII", async () => {
    const m = manager(countingExecutor().executor);
    for (const id of ["x".repeat(MAX_REQUEST_ID_LENGTH + 1), "has space", "naïve"]) {
      await expect(m.submit(named("a"), id)).rejects.toMatchObject({
        field: "request_id",
        reason: expect.stringMatching(/^must be 1 to 128 printable ASCII characters/),
      });
    }
    expect((await m.submit(named("a"), "x".repeat(MAX_REQUEST_ID_LENGTH))).name).toBe("a");
    await m.shutdown();
  });

  it("Job.warnings carries the executor's warnings in every view", async () => {
    const m = manager(countingExecutor({ warnings: ["w1", "w2"] }).executor);
    const j = await m.submit(named("a"));
    expect(j.warnings).toEqual(["w1", "w2"]);
    expect(m.get(j.id).warnings).toEqual(["w1", "w2"]);
    expect(m.list()[0]!.warnings).toEqual(["w1", "w2"]);
    await m.shutdown();
  });
});

describe("SubmitJob over gRPC: warnings and idempotent retries", () => {
  const servers = predictorAndScheduler();

  it("the job carries resolveJob's warnings in SubmitJob, GetJob, ListJobs and WatchJob", async () => {
    // No model or GPU and no KV size: an unbounded pool; a chunking policy without chunking; a duplicate task id.
    const spec = jobSpec({
      name: "warned",
      engine: { warmup: 0, chunkingPolicy: 2 },
      predictor: { kind: PredictorKind.PREDICTOR_KIND_CONSTANT },
      workload: inlineWorkload([
        { input: 8, output: 2 },
        { input: 8, output: 2, taskId: 0 },
      ]),
    });
    const expected = (await resolveJob(spec)).warnings;
    expect(expected).toEqual([
      "spec.workload.inline.requests[1]: duplicate task_id 0 (first at requests[0])",
      "chunking_policy has no effect: chunked context is disabled (enable_chunked_context)",
      "no model and GPU to size the KV cache from: the pool holds every request at once (2 blocks); give kv_num_blocks or kv_cache_max_tokens to bound it",
    ]);
    const job = await servers.scheduler.client.submitJob(spec);
    expect(job.warnings).toEqual(expected);
    expect((await servers.scheduler.client.getJob(job.id)).warnings).toEqual(expected);
    expect((await servers.scheduler.client.listJobs()).find((j) => j.id === job.id)?.warnings).toEqual(expected);
    let last;
    for await (const e of servers.scheduler.client.watchJob(job.id)) last = e;
    expect(last?.job?.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(last?.job?.warnings).toEqual(expected);
    expect((await servers.scheduler.client.submitJob(smallJob(2, "clean", { kvNumBlocks: 100 }))).warnings).toEqual([]);
  });

  it("a retry after a lost SubmitJob answer returns the job the first attempt created", async () => {
    // A front server that forwards SubmitJob to the scheduler and loses the first answer.
    const upstream = new SchedulerServiceClient(`127.0.0.1:${servers.scheduler.server.port}`, credentials.createInsecure());
    const attempts: string[] = [];
    const front = new Server();
    const submitJob: SchedulerServiceServer["submitJob"] = (call, callback) => {
      attempts.push(call.request.requestId);
      upstream.submitJob(call.request, (err, res) => {
        if (err) return callback(err);
        if (attempts.length === 1) return callback({ code: Status.UNAVAILABLE, details: "connection reset after the job was accepted" } as ServiceError);
        callback(null, res);
      });
    };
    front.addService(SchedulerServiceService, { submitJob } as unknown as SchedulerServiceServer);
    const port = await new Promise<number>((resolve, reject) =>
      front.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const client = new SchedulerClient({ address: `127.0.0.1:${port}`, retries: 3 });
    try {
      const job = await client.submitJob(smallJob(3, "retried"));
      expect(attempts).toHaveLength(2);
      expect(attempts[0]).toMatch(UUID);
      expect(attempts[1]).toBe(attempts[0]);
      const stored = (await servers.scheduler.client.listJobs()).filter((j) => j.name === "retried");
      expect(stored.map((j) => j.id)).toEqual([job.id]);
      expect(
        servers.scheduler.logs.filter((l) => l["msg"] === "duplicate submission; returning the existing job").map((l) => [l["job"], l["requestId"]]),
      ).toEqual([[job.id, attempts[0]]]);
    } finally {
      client.close();
      upstream.close();
      front.forceShutdown();
    }
  });

  it("the same request_id with a different spec is ALREADY_EXISTS; an invalid one INVALID_ARGUMENT", async () => {
    const requestId = "2f1c6a53-5d0e-4a57-9b39-6d1e8f0a7c11";
    const job = await servers.scheduler.client.submitJob(smallJob(2, "first"), { requestId });
    expect((await servers.scheduler.client.submitJob(smallJob(2, "first"), { requestId })).id).toBe(job.id);
    const err = await servers.scheduler.client.submitJob(smallJob(2, "second"), { requestId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServesimError);
    expect(err).toMatchObject({
      code: Status.ALREADY_EXISTS,
      details: `request_id ${requestId} was already used with a different spec (job ${job.id}); use a new request_id for a new job`,
    });
    const bad = await servers.scheduler.client.submitJob(smallJob(2, "third"), { requestId: "two words" }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: Status.INVALID_ARGUMENT, field: "request_id" });
  });
});
