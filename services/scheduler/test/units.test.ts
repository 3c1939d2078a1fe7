import { InvalidArgumentError } from "@servesim/core";
import { silentLogger } from "@servesim/server-common";
import { type JobSpec, JobState } from "@servesim/wire/scheduler";
import { describe, expect, it } from "vitest";
import { chunkBounds } from "../src/chunks.js";
import { loadSchedulerServerConfig } from "../src/config.js";
import type { JobExecutor, PreparedJob, RunControl } from "../src/jobExecutor.js";
import { JobManager } from "../src/jobManager.js";
import { until } from "./harness.js";

describe("chunkBounds", () => {
  it("cuts by record count", () => {
    expect([...chunkBounds(10, 3, () => 1)]).toEqual([
      [0, 3],
      [3, 6],
      [6, 9],
      [9, 10],
    ]);
    expect([...chunkBounds(0, 3, () => 1)]).toEqual([]);
  });
  it("cuts by size too; a record larger than the budget travels alone", () => {
    const sizes = [400, 400, 400, 2000, 100, 100];
    expect([...chunkBounds(sizes.length, 1000, (i) => sizes[i]!, 1000)]).toEqual([
      [0, 2],
      [2, 3],
      [3, 4],
      [4, 6],
    ]);
  });
});

describe("scheduler settings", () => {
  it("defaults, environment, flags over environment", () => {
    const d = loadSchedulerServerConfig({ env: {} });
    expect(d).toMatchObject({
      port: 50052,
      predictorAddress: "localhost:50051",
      maxConcurrentJobs: 4,
      maxQueuedJobs: 1000,
      maxStoredJobs: 100,
      resultTtlMs: 3_600_000,
      predictorRetries: 8,
    });
    expect(d.predictorTls).toBeUndefined();
    const c = loadSchedulerServerConfig({
      env: { SERVESIM_PREDICTOR_ADDRESS: "dns:///predictor:50051", SERVESIM_MAX_CONCURRENT_JOBS: "2" },
      flags: { maxConcurrentJobs: "3", port: "0" },
    });
    expect(c).toMatchObject({ predictorAddress: "dns:///predictor:50051", maxConcurrentJobs: 3, port: 0 });
  });
  it("bad values name the variable or flag", () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as InvalidArgumentError;
      }
      throw new Error("accepted");
    };
    expect(err(() => loadSchedulerServerConfig({ env: { SERVESIM_PREDICTOR_ADDRESS: "nohost" } })).field).toBe("SERVESIM_PREDICTOR_ADDRESS");
    expect(err(() => loadSchedulerServerConfig({ flags: { predictorAddress: "a:1,,b:2" } })).field).toBe("--predictor-address");
    expect(err(() => loadSchedulerServerConfig({ env: { SERVESIM_MAX_CONCURRENT_JOBS: "0" } })).field).toBe("SERVESIM_MAX_CONCURRENT_JOBS");
    expect(err(() => loadSchedulerServerConfig({ env: { SERVESIM_PREDICTOR_TLS_CERT: "/x.pem" } })).field).toBe(
      "SERVESIM_PREDICTOR_TLS_KEY (--predictor-tls-key)",
    );
    expect(err(() => loadSchedulerServerConfig({ env: { SERVESIM_PREDICTOR_TLS_CA: "/nonexistent.pem" } })).reason).toMatch(/cannot read/);
  });
});

/** An executor whose runs finish when the test says so. */
function manualExecutor() {
  const runs: Array<{ control: RunControl; finish(): void }> = [];
  const executor: JobExecutor = {
    async prepare(spec: JobSpec): Promise<PreparedJob> {
      if (spec.name === "bad") throw new InvalidArgumentError("spec.name", "is bad");
      return { name: spec.name, requestsTotal: 1 };
    },
    run(_job, control) {
      return new Promise((resolve, reject) => {
        control.signal.addEventListener("abort", () => reject(new Error("aborted")));
        runs.push({
          control,
          finish: () =>
            resolve({ result: { reportJson: "{}", reportText: "", numRequests: 1, numFailedRequests: 0, numIterations: 1 }, requests: [], iterations: [] }),
        });
      });
    },
  };
  return { executor, runs };
}

const spec = (name: string) => ({ name }) as JobSpec;

describe("JobManager", () => {
  it("keeps at most maxStoredJobs finished jobs, dropping the oldest finished", async () => {
    const { executor, runs } = manualExecutor();
    const m = new JobManager(executor, { maxConcurrentJobs: 3, maxQueuedJobs: 10, maxStoredJobs: 2, resultTtlMs: 3_600_000, logger: silentLogger() });
    const jobs = [await m.submit(spec("a")), await m.submit(spec("b")), await m.submit(spec("c"))];
    runs[1]!.finish();
    await until(() => m.get(jobs[1]!.id).state === JobState.JOB_STATE_SUCCEEDED);
    runs[0]!.finish();
    await until(() => m.get(jobs[0]!.id).state === JobState.JOB_STATE_SUCCEEDED);
    runs[2]!.finish();
    await until(() => m.list([JobState.JOB_STATE_RUNNING]).length === 0);
    expect(m.list().map((j) => j.name)).toEqual(["a", "c"]);
    expect(() => m.get(jobs[1]!.id)).toThrow(/not found/);
    await m.shutdown();
  });

  it("drops finished jobs after resultTtlMs; running and queued jobs are never dropped", async () => {
    const { executor, runs } = manualExecutor();
    const m = new JobManager(executor, { maxConcurrentJobs: 1, maxQueuedJobs: 10, maxStoredJobs: 10, resultTtlMs: 30, logger: silentLogger() });
    const a = await m.submit(spec("a"));
    const b = await m.submit(spec("b"));
    runs[0]!.finish();
    await until(() => runs.length === 2);
    await until(() => m.list().length === 1);
    expect(m.list().map((j) => [j.id, j.state])).toEqual([[b.id, JobState.JOB_STATE_RUNNING]]);
    expect(() => m.get(a.id)).toThrow(/not found/);
    await m.shutdown();
    expect(m.get(b.id)).toMatchObject({ state: JobState.JOB_STATE_CANCELLED, error: "scheduler shutting down" });
  });

  it("queue limit: RESOURCE_EXHAUSTED; after shutdown: UNAVAILABLE; bad specs never enter", async () => {
    const { executor } = manualExecutor();
    const m = new JobManager(executor, { maxConcurrentJobs: 1, maxQueuedJobs: 1, maxStoredJobs: 10, resultTtlMs: 60_000, logger: silentLogger() });
    await expect(m.submit(spec("bad"))).rejects.toThrow(InvalidArgumentError);
    await m.submit(spec("runs"));
    await m.submit(spec("queued"));
    await expect(m.submit(spec("one too many"))).rejects.toMatchObject({ name: "ResourceExhaustedError" });
    expect(m.counts).toEqual({ queued: 1, running: 1, stored: 2 });
    await m.shutdown();
    await expect(m.submit(spec("late"))).rejects.toMatchObject({
      name: "UnavailableError",
      code: "UNAVAILABLE",
      message: expect.stringMatching(/shutting down/),
    });
  });

  it("a run that throws an unexpected error fails the job without exposing the message", async () => {
    const m = new JobManager(
      { prepare: async (s) => ({ name: s.name, requestsTotal: 1 }), run: async () => Promise.reject(new TypeError("x is undefined")) },
      { maxConcurrentJobs: 1, maxQueuedJobs: 1, maxStoredJobs: 10, resultTtlMs: 60_000, logger: silentLogger() },
    );
    const j = await m.submit(spec("boom"));
    await until(() => m.get(j.id).state === JobState.JOB_STATE_FAILED);
    expect(m.get(j.id).error).toBe("internal error (see the scheduler log)");
    expect(() => m.output(j.id)).toThrow(/is FAILED \(internal error/);
    await m.shutdown();
  });
});
