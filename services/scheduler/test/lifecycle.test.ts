import type { SchedulerClient } from "@servesim/client";
import { type Job, JobState, type WatchJobResponse } from "@servesim/wire/scheduler";
import { afterEach, describe, expect, it } from "vitest";
import {
  embeddedRun,
  holdingBuilder,
  smallJob,
  startPredictor,
  startScheduler,
  type TestPredictor,
  type TestScheduler,
  until,
  watchHealth,
} from "./harness.js";

/** Collects a job's WatchJob events until the final one; `started` resolves with the first. */
function watching(client: SchedulerClient, id: string): { started: Promise<void>; events: Promise<WatchJobResponse[]> } {
  let started!: () => void;
  const first = new Promise<void>((r) => (started = r));
  const events = (async () => {
    const out: WatchJobResponse[] = [];
    for await (const e of client.watchJob(id, { minIntervalMs: 1 })) {
      out.push(e);
      started();
    }
    return out;
  })();
  events.catch(() => undefined);
  return { started: first, events };
}

const watch = (client: SchedulerClient, id: string) => watching(client, id).events;

async function finalJob(client: SchedulerClient, id: string): Promise<Job> {
  return (await watch(client, id)).at(-1)!.job!;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function predictorWith(build?: ReturnType<typeof holdingBuilder>, port?: number): Promise<TestPredictor> {
  const p = await startPredictor({ ...(build ? { build: build.build } : {}), ...(port !== undefined ? { port } : {}) });
  cleanups.push(() => {
    build?.release();
    return p.kill();
  });
  return p;
}

async function schedulerFor(p: TestPredictor | string, env: Record<string, string> = {}): Promise<TestScheduler> {
  const s = await startScheduler(typeof p === "string" ? p : p.address, env);
  cleanups.push(() => s.stop());
  return s;
}

describe("job lifecycle", () => {
  it("CancelJob stops a running job promptly (even with a batch outstanding) and a queued one at once", async () => {
    const hold = holdingBuilder(5);
    const p = await predictorWith(hold);
    const s = await schedulerFor(p, { SERVESIM_MAX_CONCURRENT_JOBS: "1" });
    const running = await s.client.submitJob(smallJob(8, "to-cancel"));
    await hold.reached;
    const queued = await s.client.submitJob(smallJob(8, "queued"));
    expect((await s.client.getJob(queued.id)).state).toBe(JobState.JOB_STATE_QUEUED);
    const watched = watch(s.client, running.id);

    const cancelledQueued = await s.client.cancelJob(queued.id);
    expect(cancelledQueued).toMatchObject({ state: JobState.JOB_STATE_CANCELLED, error: "cancelled by the client" });
    expect(cancelledQueued.startedAtMs).toBe(0);

    // The 5th prediction is still held by the predictor: cancelling must not wait for it.
    const cancelled = await s.client.cancelJob(running.id);
    expect(cancelled).toMatchObject({ state: JobState.JOB_STATE_CANCELLED, error: "cancelled by the client" });
    expect(cancelled.progress!.requestsFinished).toBeLessThan(8);
    const events = await watched;
    expect(events.at(-1)!.job).toMatchObject({ state: JobState.JOB_STATE_CANCELLED, error: "cancelled by the client" });
    expect(events.at(-1)!.result).toBeUndefined();
    await expect(s.client.getResult(running.id)).rejects.toMatchObject({ codeName: "FAILED_PRECONDITION" });

    // Cancelling a finished job changes nothing.
    expect((await s.client.cancelJob(running.id)).state).toBe(JobState.JOB_STATE_CANCELLED);
    const states = s.logs.filter((l) => l["job"] === running.id).map((l) => l["state"]);
    expect(states).toEqual(["QUEUED", "RUNNING", "CANCELLED"]);
  });

  it("with SERVESIM_MAX_CONCURRENT_JOBS=1 a second job queues until the first ends, then runs", async () => {
    const hold = holdingBuilder(3);
    const p = await predictorWith(hold);
    const s = await schedulerFor(p, { SERVESIM_MAX_CONCURRENT_JOBS: "1" });
    const specA = smallJob(10, "first");
    const specB = smallJob(6, "second", { maxBatchSize: 2 });
    const a = await s.client.submitJob(specA);
    await hold.reached;
    const b = await s.client.submitJob(specB);
    expect(b.state).toBe(JobState.JOB_STATE_QUEUED);
    expect((await s.client.listJobs([JobState.JOB_STATE_RUNNING])).map((j) => j.id)).toEqual([a.id]);
    expect((await s.client.listJobs([JobState.JOB_STATE_QUEUED])).map((j) => j.id)).toEqual([b.id]);
    hold.release();
    const [fa, fb] = await Promise.all([finalJob(s.client, a.id), finalJob(s.client, b.id)]);
    expect(fa.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(fb.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect(fb.startedAtMs).toBeGreaterThanOrEqual(fa.finishedAtMs);
    expect((await s.client.getResult(a.id, { includeRequests: true })).requests).toEqual((await embeddedRun(specA)).requests);
    expect((await s.client.getResult(b.id, { includeRequests: true })).requests).toEqual((await embeddedRun(specB)).requests);
  });

  it("jobs run side by side: one finishes while another waits on the predictor", async () => {
    const hold = holdingBuilder(2);
    const p = await predictorWith(hold);
    const s = await schedulerFor(p, { SERVESIM_MAX_CONCURRENT_JOBS: "2" });
    const a = await s.client.submitJob(smallJob(5, "held"));
    await hold.reached;
    const specs = [smallJob(9, "free-1"), smallJob(7, "free-2", { maxBatchSize: 3 })];
    const b = await s.client.submitJob(specs[0]!);
    expect((await finalJob(s.client, b.id)).state).toBe(JobState.JOB_STATE_SUCCEEDED);
    const c = await s.client.submitJob(specs[1]!);
    expect((await finalJob(s.client, c.id)).state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect((await s.client.getJob(a.id)).state).toBe(JobState.JOB_STATE_RUNNING);
    hold.release();
    expect((await finalJob(s.client, a.id)).state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect((await s.client.getResult(b.id, { includeRequests: true })).requests).toEqual((await embeddedRun(specs[0]!)).requests);
    expect((await s.client.getResult(c.id, { includeRequests: true })).requests).toEqual((await embeddedRun(specs[1]!)).requests);
  });

  it("a predictor killed mid-job and restarted on the same port: the job finishes with identical records", async () => {
    const hold = holdingBuilder(10);
    const first = await startPredictor({ build: hold.build });
    const s = await schedulerFor(first);
    const spec = smallJob(16, "restart", { warmup: 2 });
    const job = await s.client.submitJob(spec);
    await hold.reached;
    await first.kill();
    const second = await predictorWith(undefined, first.port);
    hold.release();
    expect(second.port).toBe(first.port);
    const fin = await finalJob(s.client, job.id);
    expect(fin).toMatchObject({ state: JobState.JOB_STATE_SUCCEEDED, error: "" });
    const out = await s.client.getResult(job.id, { includeRequests: true, includeIterations: true });
    const local = await embeddedRun(spec);
    expect(out.requests).toEqual(local.requests);
    expect(out.iterations).toEqual(local.iterations);
    expect(s.logs.some((l) => l["msg"] === "predictor stream failed; reconnecting" && l["job"] === job.id)).toBe(true);
  });

  it("a predictor that drains gracefully mid-job (answers, then UNAVAILABLE): identical records", async () => {
    const hold = holdingBuilder(6);
    const first = await startPredictor({ build: hold.build });
    const s = await schedulerFor(first);
    const spec = smallJob(12, "drain");
    const job = await s.client.submitJob(spec);
    await hold.reached;
    const stopping = first.handle.shutdown("test drain");
    hold.release();
    await stopping;
    await predictorWith(undefined, first.port);
    expect((await finalJob(s.client, job.id)).state).toBe(JobState.JOB_STATE_SUCCEEDED);
    expect((await s.client.getResult(job.id, { includeRequests: true })).requests).toEqual((await embeddedRun(spec)).requests);
  });

  it("an unreachable predictor fails the job with UNAVAILABLE once the retries are spent", async () => {
    const s = await schedulerFor("127.0.0.1:1", { SERVESIM_PREDICTOR_RETRIES: "1", SERVESIM_PREDICTOR_DEADLINE_MS: "2000" });
    const job = await s.client.submitJob(smallJob(2, "nowhere"));
    const fin = await finalJob(s.client, job.id);
    expect(fin.state).toBe(JobState.JOB_STATE_FAILED);
    expect(fin.error).toMatch(/^UNAVAILABLE: /);
  });

  it("shutdown: health NOT_SERVING, the running job cancelled, queued jobs reported, watchers told before the server closes", async () => {
    const hold = holdingBuilder(4);
    const p = await predictorWith(hold);
    const s = await startScheduler(p.address, { SERVESIM_MAX_CONCURRENT_JOBS: "1" });
    const health = watchHealth(s.server.port);
    cleanups.push(() => health.close());
    const running = await s.client.submitJob(smallJob(6, "running"));
    await hold.reached;
    const queued = [await s.client.submitJob(smallJob(3, "queued-1")), await s.client.submitJob(smallJob(3, "queued-2"))];
    const watchers = [watching(s.client, running.id), watching(s.client, queued[0]!.id)];
    await Promise.all(watchers.map((w) => w.started));
    await until(() => health.statuses.includes("SERVING"));

    await s.server.shutdown("SIGTERM");
    const [runEvents, queuedEvents] = await Promise.all(watchers.map((w) => w.events));
    expect(runEvents.at(-1)!.job).toMatchObject({ state: JobState.JOB_STATE_CANCELLED, error: "scheduler shutting down" });
    expect(queuedEvents.at(-1)!.job).toMatchObject({ state: JobState.JOB_STATE_CANCELLED, error: "scheduler shutting down" });
    expect(health.statuses).toContain("NOT_SERVING");

    const report = s.logs.find((l) => l["msg"] === "queued jobs cancelled (never ran)");
    expect(report).toMatchObject({ count: 2, jobs: queued.map((j) => j.id), reason: "scheduler shutting down" });
    const finalStates = s.logs.filter((l) => l["state"] === "CANCELLED").map((l) => l["job"]);
    expect(finalStates.sort()).toEqual([running.id, ...queued.map((j) => j.id)].sort());
    expect((await s.server.manager.page([], "default", 0, 1000)).every(({ job: j }) => j.state === JobState.JOB_STATE_CANCELLED)).toBe(true);
    s.client.close();
  });
});
