/**
 * Fault suite with real processes: a scheduler (the CLI's `servesim serve scheduler`, SQLite job store)
 * is SIGKILLed mid-run and restarted on the same store; every accepted job completes with the results
 * of an uninterrupted run, and request_ids still deduplicate. SIGTERM hands running jobs back.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SchedulerClient } from "@servesim/client";
import { PredictorKind } from "@servesim/wire/predictor";
import { JobState } from "@servesim/wire/scheduler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inlineWorkload, jobSpec, smallJob, startPredictor, startScheduler, type TestPredictor, until, variedRequests } from "./harness.js";

const repoRoot = resolve(import.meta.dirname, "../../..");
const dir = mkdtempSync(join(tmpdir(), "servesim-crash-"));
let predictor: TestPredictor;

beforeAll(async () => {
  predictor = await startPredictor();
});
afterAll(async () => {
  await predictor?.kill();
  rmSync(dir, { recursive: true, force: true });
});

interface Proc {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
}

/** Starts `servesim serve scheduler` on a free port with the SQLite store at `db`; resolves once it listens. */
function startProcess(db: string): Promise<Proc> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      ["--conditions=source", "--import", "./clients/cli/test/registerTs.mjs", "clients/cli/src/main.ts", "serve", "scheduler", "--port", "0"],
      {
        cwd: repoRoot,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          SERVESIM_PREDICTOR_ADDRESS: predictor.address,
          SERVESIM_JOB_STORE: `sqlite:${db}`,
          SERVESIM_MAX_CONCURRENT_JOBS: "1",
          SERVESIM_LOG_FORMAT: "json",
        },
      },
    );
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+)[^\n]*"msg":"listening"/.exec(out);
      if (m) resolvePromise({ child, port: Number(m[1]), exited });
    });
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", () => reject(new Error(`scheduler exited before listening:\n${out}`)));
  });
}

/** A job long enough to be caught running (a few hundred ms with the constant predictor). */
const longJob = (i: number) =>
  jobSpec({
    name: `crash-${i}`,
    engine: { maxBatchSize: 8, warmup: 0 },
    predictor: { kind: PredictorKind.PREDICTOR_KIND_CONSTANT, constantPrefillTimeMs: 10, constantDecodeTimeMs: 5 },
    workload: inlineWorkload(variedRequests(400 + i, i + 1)),
  });

describe("scheduler process kills (SQLite store)", () => {
  it("SIGKILL mid-run loses nothing: every accepted job completes with the uninterrupted results", async () => {
    const db = join(dir, "kill.db");
    const jobs = 6;
    const first = await startProcess(db);
    let client = new SchedulerClient({ address: `127.0.0.1:${first.port}`, retries: 0 });
    const ids: string[] = [];
    for (let i = 0; i < jobs; i++) ids.push((await client.submitJob(longJob(i), { requestId: `crash-req-${i}` })).id);
    await until(async () => (await client.getJob(ids[0]!)).state === JobState.JOB_STATE_SUCCEEDED);
    await until(async () => (await client.listJobs([JobState.JOB_STATE_RUNNING])).length === 1);
    const before = await client.listJobs();
    first.child.kill("SIGKILL");
    await first.exited;
    client.close();

    const second = await startProcess(db);
    client = new SchedulerClient({ address: `127.0.0.1:${second.port}`, retries: 0 });
    for (const id of ids) await until(async () => (await client.getJob(id)).state === JobState.JOB_STATE_SUCCEEDED);
    // The retried submission of an accepted job gets that job, not a second one.
    expect((await client.submitJob(longJob(3), { requestId: "crash-req-3" })).id).toBe(ids[3]);
    expect(before.filter((j) => j.state === JobState.JOB_STATE_SUCCEEDED).length).toBeGreaterThanOrEqual(1);

    const reference = await startScheduler(predictor.address);
    try {
      for (let i = 0; i < jobs; i++) {
        const ref = await reference.client.submitJob(longJob(i));
        await until(async () => (await reference.client.getJob(ref.id)).state === JobState.JOB_STATE_SUCCEEDED);
        const want = await reference.client.getResult(ref.id, { includeRequests: true });
        const got = await client.getResult(ids[i]!, { includeRequests: true });
        expect(got.requests).toEqual(want.requests);
        expect(got.result.numIterations).toBe(want.result.numIterations);
      }
    } finally {
      await reference.stop();
      client.close();
      second.child.kill("SIGTERM");
      await second.exited;
    }
  }, 120_000);

  it("SIGTERM hands the running job back: the next process runs it to completion", async () => {
    const db = join(dir, "term.db");
    const first = await startProcess(db);
    let client = new SchedulerClient({ address: `127.0.0.1:${first.port}`, retries: 0 });
    const a = await client.submitJob(longJob(7));
    const b = await client.submitJob(smallJob(4, "after"));
    await until(async () => (await client.getJob(a.id)).state === JobState.JOB_STATE_RUNNING);
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    client.close();
    const second = await startProcess(db);
    client = new SchedulerClient({ address: `127.0.0.1:${second.port}`, retries: 0 });
    try {
      for (const id of [a.id, b.id]) await until(async () => (await client.getJob(id)).state === JobState.JOB_STATE_SUCCEEDED);
      expect((await client.getJob(a.id)).error).toBe("");
    } finally {
      client.close();
      second.child.kill("SIGTERM");
      await second.exited;
    }
  }, 120_000);
});
