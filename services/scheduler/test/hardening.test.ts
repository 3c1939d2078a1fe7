import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Metadata } from "@grpc/grpc-js";
import { InvalidArgumentError } from "@servesim/core";
import { ANONYMOUS, createAuthenticator, DataRoots, loadServerConfig, silentLogger } from "@servesim/server-common";
import { type JobSpec, JobState } from "@servesim/wire/scheduler";
import { afterAll, describe, expect, it } from "vitest";
import type { JobExecutor, PreparedJob } from "../src/jobExecutor.js";
import { JobManager } from "../src/jobManager.js";
import { SqliteJobStore } from "../src/sqliteJobStore.js";
import { until } from "./harness.js";

const dir = mkdtempSync(join(tmpdir(), "servesim-hardening-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec = (name: string) => ({ name }) as JobSpec;

/** Runs a job in `ms` and returns a result naming it (deterministic, like the simulator). */
function executor(ms = 5): JobExecutor {
  return {
    prepare: async (s) => ({ name: s.name, requestsTotal: 1 }) as PreparedJob,
    run: async (job: PreparedJob, control) => {
      await new Promise((r) => setTimeout(r, ms));
      if (control.signal.aborted) throw control.signal.reason;
      return {
        result: { reportJson: `{"job":"${job.name}"}`, reportText: job.name, numRequests: 1, numFailedRequests: 0, numIterations: 3 },
        requests: [],
        iterations: [],
      };
    },
  };
}

const options = (store?: SqliteJobStore) => ({
  maxConcurrentJobs: 1,
  maxQueuedJobs: 100,
  maxStoredJobs: 100,
  resultTtlMs: 3_600_000,
  logger: silentLogger(),
  ...(store ? { store } : {}),
});

describe("data roots", () => {
  const root = join(dir, "root");
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, "h100.yaml"), "gpu: x\n");
  mkdirSync(join(root, "model"));
  writeFileSync(join(root, "model", "config.json"), "{}");

  it("refuses devices, FIFOs and files outside the roots the same way, whether or not they exist", async () => {
    const roots = await DataRoots.open([root], 1024 * 1024);
    for (const p of ["/dev/zero", "/dev/stdin", "/etc/shadow", "/etc/group", "/no/such/file", "../../etc/passwd"]) {
      const err = await roots.resolve("config.gpu.name", p, "file").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).message).toBe("config.gpu.name: is not a readable path inside the server's data roots (SERVESIM_DATA_ROOT)");
    }
    expect(await roots.resolve("config.gpu.name", "h100.yaml", "file")).toBe(join(root, "h100.yaml"));
    expect(await roots.resolve("config.model.name", "model", "directory")).toBe(join(root, "model"));
    expect((await roots.readFile("f", "h100.yaml")).toString()).toBe("gpu: x\n");
  });

  it("without roots no request names a server file", async () => {
    const err = await DataRoots.none()
      .resolve("spec.model_path", "/etc/shadow", "file")
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^spec.model_path: names a server file, but this server reads no files named in requests/);
  });

  it("a file above the size cap is refused by name inside the roots", async () => {
    const roots = await DataRoots.open([root], 4);
    await expect(roots.resolve("config.gpu.name", "h100.yaml", "file")).rejects.toThrow("config.gpu.name: h100.yaml (in a data root) is larger than 4 bytes");
  });
});

describe("authentication", () => {
  const tokens = join(dir, "tokens");
  writeFileSync(tokens, "# tenant token\nteam-a aaaaaaaaaaaaaaaaaaaa\nteam-b bbbbbbbbbbbbbbbbbbbb\n");

  it("maps bearer tokens to tenants and refuses others", async () => {
    const auth = createAuthenticator(loadServerConfig(50052, { env: { SERVESIM_AUTH_TOKEN_FILE: tokens } }));
    const md = (v?: string) => {
      const m = new Metadata();
      if (v) m.set("authorization", v);
      return m;
    };
    expect(await auth.authenticate({ metadata: md("Bearer aaaaaaaaaaaaaaaaaaaa") })).toEqual({ tenant: "team-a", subject: "token:team-a" });
    expect(await auth.authenticate({ metadata: md("Bearer bbbbbbbbbbbbbbbbbbbb") })).toMatchObject({ tenant: "team-b" });
    await expect(auth.authenticate({ metadata: md("Bearer wrong-token-xxxxxxxx") })).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    await expect(auth.authenticate({ metadata: md() })).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    expect(await createAuthenticator(loadServerConfig(50052, { env: {} })).authenticate({ metadata: md() })).toBe(ANONYMOUS);
  });

  it("verifies JWTs against a JWKS file: issuer, expiry and the tenant claim", async () => {
    const { SignJWT, exportJWK, generateKeyPair } = await import("jose");
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwks = join(dir, "jwks.json");
    writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }] }));
    const auth = createAuthenticator(loadServerConfig(50052, { env: { SERVESIM_AUTH_JWKS_FILE: jwks, SERVESIM_AUTH_JWT_ISSUER: "https://issuer.test" } }));
    const sign = (claims: Record<string, unknown>, iss = "https://issuer.test", exp = "5m") =>
      new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: "k1" }).setIssuer(iss).setSubject("alice").setExpirationTime(exp).sign(privateKey);
    const md = (token: string) => {
      const m = new Metadata();
      m.set("authorization", `Bearer ${token}`);
      return m;
    };
    expect(await auth.authenticate({ metadata: md(await sign({ tenant: "team-c" })) })).toEqual({ tenant: "team-c", subject: "jwt:alice" });
    await expect(auth.authenticate({ metadata: md(await sign({ tenant: "team-c" }, "https://evil.test")) })).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    await expect(auth.authenticate({ metadata: md(await sign({ tenant: "team-c" }, "https://issuer.test", "-1m")) })).rejects.toMatchObject({
      code: "UNAUTHENTICATED",
    });
    await expect(auth.authenticate({ metadata: md(await sign({})) })).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
  });

  it("binding beyond loopback without authentication needs --insecure", () => {
    expect(() => loadServerConfig(50052, { env: { SERVESIM_HOST: "0.0.0.0" } })).toThrow(/SERVESIM_HOST \(--host\): 0.0.0.0 is reachable from other machines/);
    expect(loadServerConfig(50052, { env: { SERVESIM_HOST: "0.0.0.0", SERVESIM_INSECURE: "true" } }).host).toBe("0.0.0.0");
    expect(loadServerConfig(50052, { env: { SERVESIM_HOST: "0.0.0.0", SERVESIM_AUTH_TOKEN_FILE: tokens } }).host).toBe("0.0.0.0");
  });
});

describe("tenants", () => {
  it("a tenant sees, cancels and deduplicates only its own jobs", async () => {
    const m = new JobManager(executor(), { ...options(), maxTenantJobs: 2 });
    const a = await m.submit(spec("a1"), "req-1", undefined, "team-a");
    const b = await m.submit(spec("b1"), "req-1", undefined, "team-b");
    expect(b.id).not.toBe(a.id);
    expect(() => m.get(a.id, "team-b")).toThrow(/not found/);
    await expect(m.cancel(a.id, "x", "team-b")).rejects.toThrow(/not found/);
    expect(m.list([], "team-a").map((j) => j.name)).toEqual(["a1"]);
    await m.submit(spec("a2"), undefined, undefined, "team-a");
    await expect(m.submit(spec("a3"), undefined, undefined, "team-a")).rejects.toMatchObject({ code: "RESOURCE_EXHAUSTED" });
    await expect(m.submit(spec("x".repeat(300)))).rejects.toThrow(/^spec.name: must be at most 256 characters/);
    await m.shutdown();
  });
});

describe("bounded results", () => {
  it("a job whose result would pass SERVESIM_MAX_RESULT_BYTES is INVALID_ARGUMENT at submission; stored results are bounded in bytes", async () => {
    const big: JobExecutor = {
      ...executor(),
      prepare: async (s) => ({ name: s.name, requestsTotal: 1, estimatedResultBytes: s.name === "huge" ? 5000 : 100 }),
    };
    const m = new JobManager(big, { ...options(), maxResultBytes: 4096, maxStoredResultBytes: 700 });
    await expect(m.submit(spec("huge"))).rejects.toThrow(/^spec: the job's result would take about 5000 bytes .* more than SERVESIM_MAX_RESULT_BYTES \(4096\)/);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const j = await m.submit(spec(`j${i}`));
      ids.push(j.id);
      await until(() => m.get(j.id).state === JobState.JOB_STATE_SUCCEEDED);
    }
    // Each result is ~290 bytes: only the newest two fit in 700.
    expect(m.list().map((j) => j.name)).toEqual(["j2", "j3"]);
    await m.shutdown();
  });
});

describe("SQLite job store", () => {
  it("a crash loses nothing: finished, running and queued jobs and request_ids come back; unfinished ones run again", async () => {
    const file = join(dir, "jobs.db");
    const first = new JobManager(executor(50), options(new SqliteJobStore(file)));
    const jobs: Array<{ id: string }> = [];
    for (let i = 0; i < 6; i++) jobs.push(await first.submit(spec(`job-${i}`), `req-${i}`, undefined, "team-a"));
    await until(() => first.get(jobs[0]!.id, "team-a").state === JobState.JOB_STATE_SUCCEEDED);
    // The process "dies": the manager is abandoned without a shutdown (its store is reopened by another).
    const second = new JobManager(executor(1), options(new SqliteJobStore(file)));
    const restored = await second.restore();
    expect(restored.finished + restored.requeued).toBe(6);
    await until(() => jobs.every((j) => second.get(j.id, "team-a").state === JobState.JOB_STATE_SUCCEEDED));
    for (const [i, j] of jobs.entries()) expect(second.output(j.id, "team-a").output.result.reportText).toBe(`job-${i}`);
    // A retried submission after the restart gets the job its first attempt created.
    expect((await second.submit(spec("job-3"), "req-3", undefined, "team-a")).id).toBe(jobs[3]!.id);
    await second.shutdown();
    await first.shutdown();
  });

  it("SIGTERM hands running and queued jobs back instead of cancelling them", async () => {
    const file = join(dir, "handback.db");
    const first = new JobManager(executor(200), options(new SqliteJobStore(file)));
    const a = await first.submit(spec("running"));
    const b = await first.submit(spec("queued"));
    await until(() => first.get(a.id).state === JobState.JOB_STATE_RUNNING);
    await first.shutdown();
    const second = new JobManager(executor(1), options(new SqliteJobStore(file)));
    expect(await second.restore()).toEqual({ finished: 0, requeued: 2, failed: 0 });
    await until(() => second.get(b.id).state === JobState.JOB_STATE_SUCCEEDED);
    expect(second.get(a.id).state).toBe(JobState.JOB_STATE_SUCCEEDED);
    await second.shutdown();
  });
});

describe("workload resolution off the event loop", () => {
  it("a large synthetic job validated on a worker thread has the in-thread resolution's summary and workload, and the event loop keeps turning", async () => {
    const { resolveJobOffThread, syntheticTokens, OFFLOAD_ABOVE_TOKENS } = await import("../src/offloadWorkload.js");
    const { summarizeJob } = await import("../src/jobSummary.js");
    const { resolveJob, resolveSharedWorkload } = await import("@servesim/runner");
    const { JobSpec: Spec, Distribution } = await import("@servesim/wire/scheduler");
    const s = Spec.fromPartial({
      name: "big",
      engine: { numRequests: 2500, warmup: 3 },
      predictor: { kind: 1 },
      workload: {
        synthetic: {
          distribution: Distribution.DISTRIBUTION_TOKEN_NORM_DIST,
          numRequests: 3000,
          inputMean: 1000,
          inputStdev: 100,
          outputMean: 5,
          outputStdev: 2,
          seed: 7,
        },
      },
    });
    expect(syntheticTokens(s)).toBeGreaterThan(OFFLOAD_ABOVE_TOKENS);
    const local = await resolveJob(s);
    const want = summarizeJob(local);
    expect(want.requestsTotal).toBe(2500);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    // Above the run-worker threshold: the summary only, no requests back on this thread.
    const large = await resolveJobOffThread(s, {}, want.simulatedTokens - 1);
    clearInterval(timer);
    expect(large).toEqual({ summary: want });
    expect(ticks).toBeGreaterThan(0);
    // At or below it: the shared workload too, from which this thread resolves the same job.
    const small = await resolveJobOffThread(s, {}, want.simulatedTokens);
    expect(small.summary).toEqual(want);
    const sharedHere = (await resolveSharedWorkload(s)).workload;
    expect(small.workload!.requests.map((r) => [r.inputLength, r.outputTokens])).toEqual(sharedHere.requests.map((r) => [r.inputLength, r.outputTokens]));
    expect(small.workload!.metadata).toEqual(sharedHere.metadata);
    const again = await resolveJob(s, { workload: small.workload! });
    expect(again.requests).toEqual(local.requests);
    expect(again.warmup).toEqual(local.warmup);
    expect(again.engine).toEqual(local.engine);
    const bad = await resolveJobOffThread(Spec.fromPartial({ ...s, workload: { synthetic: { ...s.workload!.synthetic!, inputMean: 1e12 } } }), {}, 0).catch(
      (e: unknown) => e,
    );
    expect(bad).toBeInstanceOf(InvalidArgumentError);
    expect((bad as InvalidArgumentError).field).toBe("spec.workload.synthetic.input_mean");
    // Engine settings are validated on the worker as well.
    const badEngine = await resolveJobOffThread(Spec.fromPartial({ ...s, engine: { warmup: 1_000_000_000 } }), {}, 0).catch((e: unknown) => e);
    expect(badEngine).toBeInstanceOf(InvalidArgumentError);
    expect((badEngine as InvalidArgumentError).field).toBe("spec.engine.warmup");
  });
});

describe("large jobs run on a worker thread", () => {
  it("a job above WORKER_ABOVE_TOKENS runs off the scheduler's thread with the embedded engine's results", async () => {
    const { startPredictor, startScheduler, embeddedRun } = await import("./harness.js");
    const { WORKER_ABOVE_TOKENS } = await import("../src/workerRun.js");
    const { JobSpec: Spec, Distribution } = await import("@servesim/wire/scheduler");
    const predictor = await startPredictor();
    const scheduler = await startScheduler(predictor.address);
    try {
      const s = Spec.fromPartial({
        name: "big",
        engine: { maxBatchSize: 64, warmup: 0 },
        predictor: { kind: 1, constantPrefillTimeMs: 10, constantDecodeTimeMs: 5 },
        workload: {
          synthetic: { distribution: Distribution.DISTRIBUTION_TOKEN_NORM_DIST, numRequests: 1200, inputMean: 1000, inputStdev: 50, outputMean: 4, seed: 3 },
        },
      });
      expect(1200 * 1004).toBeGreaterThan(WORKER_ABOVE_TOKENS);
      const job = await scheduler.client.submitJob(s);
      await until(async () => (await scheduler.client.getJob(job.id)).state === JobState.JOB_STATE_SUCCEEDED);
      const got = await scheduler.client.getResult(job.id, { includeRequests: true, includeIterations: true });
      const want = await embeddedRun(s);
      expect(got.requests).toEqual(want.requests);
      expect(got.result.numIterations).toBe(want.numIterations);
      expect((await scheduler.client.getJob(job.id)).progress?.requestsFinished).toBe(1200);
    } finally {
      await scheduler.stop();
      await predictor.kill();
    }
  });
});

describe("sweep points name files only inside the data roots", () => {
  it("a point's gpu or model setting outside the roots is INVALID_ARGUMENT naming the setting", async () => {
    const { RemoteExecutor } = await import("../src/remoteExecutor.js");
    const { JobSpec: Spec } = await import("@servesim/wire/scheduler");
    const exec = new RemoteExecutor({
      predictorAddress: "127.0.0.1:1",
      predictorDeadlineMs: 1000,
      predictorRetries: 0,
      limits: {},
      logger: silentLogger(),
      roots: DataRoots.none(),
    });
    try {
      const sweep = (settings: Record<string, string>) =>
        Spec.fromPartial({
          name: "s",
          predictor: { kind: 2, model: { name: "llama-3.1-8b" }, gpu: { name: "h100_sxm" } },
          workload: { inline: { requests: [{ taskId: 0, inputLength: 8, outputTokens: 2 }] } },
          sweep: {
            points: [
              { id: "a", label: "a", settings: { tp: "1" } },
              { id: "b", label: "b", settings },
            ],
          },
        });
      const gpu = await exec.prepare(sweep({ gpu: "/etc/shadow" })).catch((e: unknown) => e);
      expect(gpu).toBeInstanceOf(InvalidArgumentError);
      expect((gpu as InvalidArgumentError).field).toBe("spec.sweep.points[1].settings.gpu");
      const model = await exec.prepare(sweep({ model: "/dev/zero" })).catch((e: unknown) => e);
      expect((model as InvalidArgumentError).field).toBe("spec.sweep.points[1].settings.model");
      const db = await exec.prepare(sweep({ database_path: "/etc" })).catch((e: unknown) => e);
      expect((db as InvalidArgumentError).field).toBe("spec.sweep.points[1].settings.database_path");
    } finally {
      exec.close();
    }
  });
});
