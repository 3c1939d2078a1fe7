/** ListJobs pages: page_size, the opaque tamper-checked page_token (per tenant and filter), the byte bound. */
import type { CallContext } from "@servesim/server-common";
import { silentLogger } from "@servesim/server-common";
import { type Job, JobSpec, JobState, type ListJobsRequest } from "@servesim/wire/scheduler";
import { describe, expect, it } from "vitest";
import type { SchedulerDeps } from "../src/handlers/deps.js";
import { listJobs, MAX_LIST_JOBS_BYTES } from "../src/handlers/listJobs.js";
import type { JobExecutor } from "../src/jobExecutor.js";
import { JobManager } from "../src/jobManager.js";

/** Jobs that stay queued or running until shutdown, so the list is fixed while the test pages through it. */
const executor: JobExecutor = {
  prepare: async (spec) => ({ name: spec.name, requestsTotal: 1, warnings: spec.name.startsWith("big") ? ["w".repeat(900_000)] : [] }),
  run: (_job, control) => new Promise((_, reject) => control.signal.addEventListener("abort", () => reject(control.signal.reason))),
};

function setup(maxListJobs = 1000) {
  const m = new JobManager(executor, { maxConcurrentJobs: 1, maxQueuedJobs: 100, maxStoredJobs: 100, resultTtlMs: 3_600_000, logger: silentLogger() });
  const deps: SchedulerDeps = { manager: m, maxListJobs, maxDatasetBytes: 1 << 20 };
  const call = (tenant: string, req: Partial<ListJobsRequest>) =>
    listJobs(deps, { states: [], pageSize: 0, pageToken: "", ...req }, { principal: { tenant, subject: tenant } } as CallContext);
  return { m, call };
}

const spec = (name: string) => JobSpec.fromPartial({ name });
const names = (jobs: Job[]) => jobs.map((j) => j.name);
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => "accepted",
    (e: { field?: string; name?: string }) => `${e.name}:${e.field}`,
  );

describe("ListJobs pages", () => {
  it("page_size cuts the answer; next_page_token continues after the last job until it is empty; 0 means the server's maximum", async () => {
    const { m, call } = setup(4);
    for (let i = 0; i < 5; i++) await m.submit(spec(`a${i}`), undefined, undefined, "team-a");
    await m.submit(spec("b0"), undefined, undefined, "team-b");
    const p1 = await call("team-a", { pageSize: 2 });
    expect(names(p1.jobs)).toEqual(["a0", "a1"]);
    const p2 = await call("team-a", { pageSize: 2, pageToken: p1.nextPageToken });
    expect(names(p2.jobs)).toEqual(["a2", "a3"]);
    const p3 = await call("team-a", { pageSize: 2, pageToken: p2.nextPageToken });
    expect(names(p3.jobs)).toEqual(["a4"]);
    expect(p3.nextPageToken).toBe("");
    // page_size 0 and page_size above SERVESIM_MAX_LIST_JOBS (4 here) both give 4.
    expect(names((await call("team-a", {})).jobs)).toEqual(["a0", "a1", "a2", "a3"]);
    const big = await call("team-a", { pageSize: 1_000_000 });
    expect(names(big.jobs)).toEqual(["a0", "a1", "a2", "a3"]);
    expect(names((await call("team-a", { pageToken: big.nextPageToken })).jobs)).toEqual(["a4"]);
    expect(names((await call("team-b", {})).jobs)).toEqual(["b0"]);
    await m.shutdown();
  });

  it("a token is refused (INVALID_ARGUMENT page_token) when tampered with, forged, from another tenant or used with other states", async () => {
    const { m, call } = setup();
    for (let i = 0; i < 3; i++) await m.submit(spec(`a${i}`), undefined, undefined, "team-a");
    const token = (await call("team-a", { pageSize: 1 })).nextPageToken;
    const [body, mac] = token.split(".") as [string, string];
    const forged = `${Buffer.from(JSON.stringify({ a: 0 })).toString("base64url")}.${mac}`;
    const flipped = `${body}.${mac.slice(0, -2)}${mac.endsWith("AA") ? "BB" : "AA"}`;
    for (const bad of [forged, flipped, "x", ".", "not-a-token", "a".repeat(10_000), `${body}.`]) {
      expect(await codeOf(call("team-a", { pageToken: bad }))).toBe("InvalidArgumentError:page_token");
    }
    expect(await codeOf(call("team-b", { pageToken: token }))).toBe("InvalidArgumentError:page_token");
    expect(await codeOf(call("team-a", { pageToken: token, states: [JobState.JOB_STATE_QUEUED] }))).toBe("InvalidArgumentError:page_token");
    expect(names((await call("team-a", { pageToken: token })).jobs)).toEqual(["a1", "a2"]);
    // The same filter in another order is the same filter.
    const both = [JobState.JOB_STATE_QUEUED, JobState.JOB_STATE_RUNNING];
    const t2 = (await call("team-a", { pageSize: 1, states: both })).nextPageToken;
    expect(names((await call("team-a", { pageToken: t2, states: [...both].reverse() })).jobs)).toEqual(["a1", "a2"]);
    expect(await codeOf(call("team-a", { states: new Array(17).fill(JobState.JOB_STATE_QUEUED) }))).toBe("InvalidArgumentError:states");
    // Another scheduler process (another key) does not accept this one's tokens.
    expect(await codeOf(setup().call("team-a", { pageToken: token }))).toBe("InvalidArgumentError:page_token");
    await m.shutdown();
  });

  it(`an answer stays within ${MAX_LIST_JOBS_BYTES} bytes: the page ends early and the token continues`, async () => {
    const { m, call } = setup();
    for (let i = 0; i < 6; i++) await m.submit(spec(`big${i}`), undefined, undefined, "team-a");
    const p1 = await call("team-a", {});
    // Each job carries ~900 kB of warnings: four fit in 4 MiB, the fifth does not.
    expect(names(p1.jobs)).toEqual(["big0", "big1", "big2", "big3"]);
    const p2 = await call("team-a", { pageToken: p1.nextPageToken });
    expect(names(p2.jobs)).toEqual(["big4", "big5"]);
    expect(p2.nextPageToken).toBe("");
    await m.shutdown();
  });

  it("pages, the per-tenant job count and the sweep follow jobs as they finish and are dropped (the indexes the scheduler keeps)", async () => {
    // Jobs named "fail…" fail at once; the others stay queued or running until shutdown.
    const failing: JobExecutor = {
      ...executor,
      run: (job, control) =>
        job.name.startsWith("fail")
          ? Promise.reject(new Error("boom"))
          : new Promise((_, reject) => control.signal.addEventListener("abort", () => reject(control.signal.reason))),
    };
    const m = new JobManager(failing, {
      maxConcurrentJobs: 100,
      maxQueuedJobs: 100,
      maxStoredJobs: 3,
      maxTenantJobs: 2,
      resultTtlMs: 3_600_000,
      logger: silentLogger(),
    });
    const deps: SchedulerDeps = { manager: m, maxListJobs: 1000, maxDatasetBytes: 1 << 20 };
    const call = (tenant: string, req: Partial<ListJobsRequest>) =>
      listJobs(deps, { states: [], pageSize: 0, pageToken: "", ...req }, { principal: { tenant, subject: tenant } } as CallContext);
    const settle = () => new Promise((r) => setTimeout(r, 20));
    // Six failing jobs of team-a, interleaved with team-b's: only the last 3 finished are kept (maxStoredJobs):
    // failb4, fail5, failb5.
    for (let i = 0; i < 6; i++) {
      await m.submit(spec(`fail${i}`), undefined, undefined, "team-a");
      await m.submit(spec(`failb${i}`), undefined, undefined, "team-b");
      await settle();
    }
    expect(names((await call("team-a", {})).jobs)).toEqual(["fail5"]);
    expect(names((await call("team-b", {})).jobs)).toEqual(["failb4", "failb5"]);
    // Finished jobs free the tenant's count: two running jobs fit in SERVESIM_MAX_TENANT_JOBS 2, a third does not.
    await m.submit(spec("run0"), undefined, undefined, "team-a");
    await m.submit(spec("run1"), undefined, undefined, "team-a");
    expect(await codeOf(m.submit(spec("run2"), undefined, undefined, "team-a"))).toBe("ResourceExhaustedError:undefined");
    const p1 = await call("team-a", { pageSize: 1 });
    const p2 = await call("team-a", { pageSize: 1, pageToken: p1.nextPageToken });
    const p3 = await call("team-a", { pageSize: 1, pageToken: p2.nextPageToken });
    expect([names(p1.jobs), names(p2.jobs), names(p3.jobs), p3.nextPageToken]).toEqual([["fail5"], ["run0"], ["run1"], ""]);
    // A job's listed form follows its state (the cached encoding is redone when it changes).
    expect((await call("team-a", { states: [JobState.JOB_STATE_RUNNING] })).jobs.map((j) => [j.name, j.state])).toEqual([
      ["run0", JobState.JOB_STATE_RUNNING],
      ["run1", JobState.JOB_STATE_RUNNING],
    ]);
    await m.cancel(p2.jobs[0]!.id, "test", "team-a");
    expect((await call("team-a", {})).jobs.map((j) => [j.name, j.state])).toEqual([
      ["fail5", JobState.JOB_STATE_FAILED],
      ["run0", JobState.JOB_STATE_CANCELLED],
      ["run1", JobState.JOB_STATE_RUNNING],
    ]);
    // The cancelled job left the count: room for one more.
    expect(await codeOf(m.submit(spec("run2"), undefined, undefined, "team-a"))).toBe("accepted");
    // And the sweep now keeps the 3 latest finished over both tenants: fail5, failb5, run0.
    expect(names((await call("team-b", {})).jobs)).toEqual(["failb5"]);
    expect(names((await call("team-a", {})).jobs)).toEqual(["fail5", "run0", "run1", "run2"]);
    await m.shutdown();
  });
});
