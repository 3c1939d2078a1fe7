import { randomBytes, randomUUID } from "node:crypto";
import {
  AlreadyExistsError,
  CancelledError,
  FailedPreconditionError,
  InvalidArgumentError,
  isStatusError,
  NotFoundError,
  ResourceExhaustedError,
  truncateText,
  UnavailableError,
} from "@servesim/core";
import { ServesimError } from "@servesim/wire";
import { type Job, type JobResult, JobSpec, JobState } from "@servesim/wire/scheduler";
import type pg from "pg";
import type { Logger } from "pino";
import { toJobProgress } from "./convert.js";
import type { JobExecutor, JobRunOutput, PreparedJob, RunProgress } from "./jobExecutor.js";
import { HAND_BACK_REASON, isTerminal, MAX_JOB_NAME_LENGTH, SHUTDOWN_REASON } from "./jobManager.js";
import { decodeOutput, encodeOutput } from "./jobStore.js";
import type { JobListener, Jobs, ListedJob } from "./jobs.js";
import { PageTokens } from "./pageTokens.js";
import { checkQuota, type QuotaPolicy } from "./quotas.js";
import { checkRequestId, type StreamedDataset, specDigest } from "./submissions.js";

export interface SharedJobManagerOptions {
  pool: pg.Pool;
  logger: Logger;
  maxConcurrentJobs: number;
  maxQueuedJobs: number;
  maxTenantJobs?: number;
  maxResultBytes?: number;
  /** Per-tenant quotas on submitted bytes and simulated tokens over a rolling window (default: none). */
  quota?: QuotaPolicy;
  resultTtlMs: number;
  /** A replica holds a running job for this long without renewing; then another replica takes it over. */
  leaseMs?: number;
  /** How often the queue is polled and watched jobs re-read. */
  pollMs?: number;
  /** This replica's name in the table (default: a random id). */
  replicaId?: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS servesim_jobs (
  id TEXT PRIMARY KEY,
  seq BIGSERIAL,
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  state INTEGER NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  created_at_ms BIGINT NOT NULL,
  started_at_ms BIGINT NOT NULL DEFAULT 0,
  finished_at_ms BIGINT NOT NULL DEFAULT 0,
  warnings JSONB NOT NULL DEFAULT '[]',
  progress JSONB NOT NULL,
  request_id TEXT NOT NULL DEFAULT '',
  digest TEXT NOT NULL,
  spec BYTEA NOT NULL,
  owner TEXT,
  lease_until_ms BIGINT NOT NULL DEFAULT 0,
  cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
  attempts INTEGER NOT NULL DEFAULT 0,
  output BYTEA,
  output_bytes BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS servesim_jobs_request_id ON servesim_jobs (tenant, request_id) WHERE request_id <> '';
CREATE INDEX IF NOT EXISTS servesim_jobs_queue ON servesim_jobs (state, seq);
CREATE INDEX IF NOT EXISTS servesim_jobs_tenant ON servesim_jobs (tenant, seq);
CREATE TABLE IF NOT EXISTS servesim_tenant_usage (
  tenant TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  submitted_bytes BIGINT NOT NULL,
  simulated_tokens BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS servesim_tenant_usage_window ON servesim_tenant_usage (tenant, at_ms);
CREATE TABLE IF NOT EXISTS servesim_settings (
  name TEXT PRIMARY KEY,
  value BYTEA NOT NULL
);
`;

const COLUMNS =
  "seq, id, tenant, name, state, error, created_at_ms, started_at_ms, finished_at_ms, warnings, progress, request_id, digest, owner, cancel_requested";

interface Row {
  seq: string;
  id: string;
  tenant: string;
  name: string;
  state: number;
  error: string;
  created_at_ms: string;
  started_at_ms: string;
  finished_at_ms: string;
  warnings: string[];
  progress: Job["progress"];
  request_id: string;
  digest: string;
  owner: string | null;
  cancel_requested: boolean;
  spec?: Buffer;
}

const view = (r: Row): Job => ({
  id: r.id,
  name: r.name,
  state: r.state as JobState,
  progress: r.progress,
  error: r.error,
  createdAtMs: Number(r.created_at_ms),
  startedAtMs: Number(r.started_at_ms),
  finishedAtMs: Number(r.finished_at_ms),
  warnings: r.warnings,
});

function failureReason(err: unknown, logger: Logger): string {
  if (isStatusError(err)) return err.message;
  if (err instanceof ServesimError) return truncateText(err.message);
  logger.error({ err }, "job failed with an unexpected error");
  return "internal error (see the scheduler log)";
}

interface LocalRun {
  controller: AbortController;
  progress?: RunProgress;
  handedBack?: boolean;
  cancelReason?: string;
  settled: Promise<void>;
}

/**
 * Jobs in PostgreSQL, shared by every scheduler replica: one queue in a table, jobs claimed in
 * submission order with `SELECT … FOR UPDATE SKIP LOCKED` and held by a lease the running replica
 * renews. A replica that dies stops renewing; once its lease runs out another replica claims the job
 * and runs it again from its spec (deterministic: the same result). SIGTERM puts the replica's running
 * jobs back in the queue at once. request_ids are unique per tenant in the table, so a retried
 * submission finds its job whichever replica it reaches.
 */
export class SharedJobManager<P extends PreparedJob = PreparedJob> implements Jobs {
  private readonly pool: pg.Pool;
  private readonly replica: string;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly runs = new Map<string, LocalRun>();
  private accepting = true;
  private claiming = false;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private tokens: PageTokens | undefined;

  private constructor(
    private readonly executor: JobExecutor<P>,
    private readonly opts: SharedJobManagerOptions,
  ) {
    this.pool = opts.pool;
    this.replica = opts.replicaId ?? randomUUID();
    this.leaseMs = opts.leaseMs ?? 15_000;
    this.pollMs = opts.pollMs ?? 500;
  }

  /** Creates the table if needed and starts claiming jobs. */
  static async open<P extends PreparedJob>(executor: JobExecutor<P>, opts: SharedJobManagerOptions): Promise<SharedJobManager<P>> {
    const m = new SharedJobManager(executor, opts);
    // Two replicas starting at once must not race on CREATE TABLE.
    const client = await m.pool.connect();
    try {
      await client.query("SELECT pg_advisory_lock(727274)");
      await client.query(SCHEMA);
      // One page-token key for every replica: a ListJobs listing continues on whichever replica answers.
      await client.query("INSERT INTO servesim_settings (name, value) VALUES ('page_token_key', $1) ON CONFLICT DO NOTHING", [randomBytes(32)]);
      const key = await client.query<{ value: Buffer }>("SELECT value FROM servesim_settings WHERE name = 'page_token_key'");
      m.tokens = new PageTokens(new Uint8Array(key.rows[0]!.value));
      await client.query("SELECT pg_advisory_unlock(727274)");
    } finally {
      client.release();
    }
    m.timer = setInterval(() => void m.tick(), m.pollMs);
    m.heartbeat = setInterval(() => void m.renew(), Math.max(50, Math.floor(m.leaseMs / 3)));
    void m.tick();
    opts.logger.info({ replica: m.replica, leaseMs: m.leaseMs }, "shared job queue (PostgreSQL) opened");
    return m;
  }

  get replicaId(): string {
    return this.replica;
  }

  async submit(
    spec: JobSpec | undefined,
    requestId: string | undefined,
    dataset: StreamedDataset | undefined,
    tenant: string,
    claims?: Readonly<Record<string, unknown>>,
  ): Promise<Job> {
    if (spec === undefined) throw new InvalidArgumentError("spec", "is required");
    const allowance = this.opts.quota?.quotaOf(tenant, claims);
    if (!this.accepting) throw new UnavailableError(`${SHUTDOWN_REASON}; submit the job to another replica`);
    if (dataset) {
      throw new FailedPreconditionError(
        "SubmitJobStream needs the embedded job store: with the shared (PostgreSQL) store every replica must be able to run the job again from what is stored; send the dataset inline (SubmitJob) instead",
      );
    }
    if (typeof spec.name === "string" && spec.name.length > MAX_JOB_NAME_LENGTH) {
      throw new InvalidArgumentError("spec.name", `must be at most ${MAX_JOB_NAME_LENGTH} characters (got ${spec.name.length})`);
    }
    const key = checkRequestId(requestId);
    const digest = specDigest(spec);
    if (key !== "") {
      const seen = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM servesim_jobs WHERE tenant = $1 AND request_id = $2`, [tenant, key]);
      if (seen.rows[0]) return this.existing(seen.rows[0], key, digest);
    }
    const counts = await this.pool.query<{ queued: string; mine: string }>(
      `SELECT COUNT(*) FILTER (WHERE state = $1) AS queued, COUNT(*) FILTER (WHERE tenant = $3 AND state IN ($1, $2)) AS mine FROM servesim_jobs`,
      [JobState.JOB_STATE_QUEUED, JobState.JOB_STATE_RUNNING, tenant],
    );
    const queued = Number(counts.rows[0]!.queued);
    if (queued >= this.opts.maxQueuedJobs) throw new ResourceExhaustedError(`${queued} jobs are already queued (SERVESIM_MAX_QUEUED_JOBS); retry later`);
    const mine = Number(counts.rows[0]!.mine);
    if (this.opts.maxTenantJobs !== undefined && mine >= this.opts.maxTenantJobs) {
      throw new ResourceExhaustedError(
        `tenant ${tenant} already has ${mine} queued or running jobs (SERVESIM_MAX_TENANT_JOBS ${this.opts.maxTenantJobs}); retry later`,
      );
    }
    const prepared = await this.executor.prepare(spec);
    if (this.opts.maxResultBytes !== undefined && (prepared.estimatedResultBytes ?? 0) > this.opts.maxResultBytes) {
      throw new InvalidArgumentError(
        "spec",
        `the job's result would take about ${prepared.estimatedResultBytes} bytes (one time per output token), more than SERVESIM_MAX_RESULT_BYTES (${this.opts.maxResultBytes}); simulate fewer requests or tokens`,
      );
    }
    const progress = {
      iterations: 0,
      requestsFinished: 0,
      requestsTotal: prepared.requestsTotal,
      simTimeMs: 0,
      pointsFinished: 0,
      pointsTotal: prepared.pointsTotal ?? 0,
    };
    const bytes = Buffer.from(JobSpec.encode(JobSpec.fromPartial(spec)).finish());
    const now = Date.now();
    const usage = { submittedBytes: bytes.length, simulatedTokens: prepared.simulatedTokens ?? 0 };
    const client = await this.pool.connect();
    let inserted: pg.QueryResult<Row>;
    try {
      await client.query("BEGIN");
      const quota = this.opts.quota;
      if (quota) {
        // One submission of a tenant at a time over all replicas: the check and the charge are one step.
        await client.query("SELECT pg_advisory_xact_lock(727275, hashtext($1))", [tenant]);
        const used = await client.query<{ b: string; t: string }>(
          "SELECT COALESCE(SUM(submitted_bytes), 0) AS b, COALESCE(SUM(simulated_tokens), 0) AS t FROM servesim_tenant_usage WHERE tenant = $1 AND at_ms >= $2",
          [tenant, now - quota.windowMs],
        );
        checkQuota(tenant, { submittedBytes: Number(used.rows[0]!.b), simulatedTokens: Number(used.rows[0]!.t) }, usage, allowance!, quota.windowMs);
      }
      inserted = await client.query<Row>(
        `INSERT INTO servesim_jobs (id, tenant, name, state, created_at_ms, warnings, progress, request_id, digest, spec)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
        [
          randomUUID(),
          tenant,
          prepared.name,
          JobState.JOB_STATE_QUEUED,
          now,
          JSON.stringify(prepared.warnings ?? []),
          JSON.stringify(progress),
          key,
          digest,
          bytes,
        ],
      );
      if (quota && inserted.rows[0]) {
        await client.query("INSERT INTO servesim_tenant_usage (tenant, at_ms, submitted_bytes, simulated_tokens) VALUES ($1, $2, $3, $4)", [
          tenant,
          now,
          usage.submittedBytes,
          usage.simulatedTokens,
        ]);
      }
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    const row = inserted.rows[0];
    if (!row) {
      // Another replica stored the same request_id meanwhile.
      const seen = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM servesim_jobs WHERE tenant = $1 AND request_id = $2`, [tenant, key]);
      return this.existing(seen.rows[0]!, key, digest);
    }
    this.opts.logger.info({ job: row.id, name: row.name, state: "QUEUED", requests: prepared.requestsTotal, ...(key ? { requestId: key } : {}) }, "job queued");
    void this.tick();
    return view(row);
  }

  private existing(row: Row, key: string, digest: string): Job {
    if (row.digest !== digest) {
      throw new AlreadyExistsError(`request_id ${key} was already used with a different spec (job ${row.id}); use a new request_id for a new job`);
    }
    this.opts.logger.info({ job: row.id, requestId: key }, "duplicate submission; returning the existing job");
    return view(row);
  }

  private async row(id: string, tenant: string): Promise<Row> {
    if (typeof id !== "string" || id === "") throw new InvalidArgumentError("id", "is required");
    if (id.length > 64) throw new InvalidArgumentError("id", `is not a job id (${id.length} characters)`);
    const r = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM servesim_jobs WHERE id = $1 AND tenant = $2`, [id, tenant]);
    if (!r.rows[0]) throw new NotFoundError(`job ${id} not found (unknown, or finished and dropped after SERVESIM_RESULT_TTL_MS)`);
    return r.rows[0];
  }

  async get(id: string, tenant: string): Promise<Job> {
    return view(await this.row(id, tenant));
  }

  get pageTokens(): PageTokens {
    return this.tokens!;
  }

  async page(states: readonly JobState[], tenant: string, afterSeq: number, limit: number): Promise<ListedJob[]> {
    const r =
      states.length === 0
        ? await this.pool.query<Row>(`SELECT ${COLUMNS} FROM servesim_jobs WHERE tenant = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [tenant, afterSeq, limit])
        : await this.pool.query<Row>(`SELECT ${COLUMNS} FROM servesim_jobs WHERE tenant = $1 AND seq > $2 AND state = ANY($3) ORDER BY seq LIMIT $4`, [
            tenant,
            afterSeq,
            [...states],
            limit,
          ]);
    return r.rows.map((row) => ({ seq: Number(row.seq), job: view(row) }));
  }

  async output(id: string, tenant: string): Promise<{ job: Job; output: JobRunOutput }> {
    const job = await this.get(id, tenant);
    if (job.state !== JobState.JOB_STATE_SUCCEEDED) {
      const why = job.error ? ` (${job.error})` : "";
      throw new FailedPreconditionError(`job ${id} is ${JobState[job.state].replace("JOB_STATE_", "")}${why}; only a SUCCEEDED job has a result`);
    }
    const r = await this.pool.query<{ output: Buffer }>("SELECT output FROM servesim_jobs WHERE id = $1", [id]);
    return { job, output: decodeOutput(new Uint8Array(r.rows[0]!.output)) };
  }

  async result(id: string, tenant: string): Promise<JobResult | undefined> {
    const job = await this.get(id, tenant);
    return job.state === JobState.JOB_STATE_SUCCEEDED ? (await this.output(id, tenant)).output.result : undefined;
  }

  async cancel(id: string, reason = "cancelled by the client", tenant = "default"): Promise<Job> {
    await this.row(id, tenant);
    const now = Date.now();
    const queued = await this.pool.query<Row>(
      `UPDATE servesim_jobs SET state = $2, error = $3, finished_at_ms = $4, spec = '' WHERE id = $1 AND state = $5 RETURNING ${COLUMNS}`,
      [id, JobState.JOB_STATE_CANCELLED, reason, now, JobState.JOB_STATE_QUEUED],
    );
    if (queued.rows[0]) {
      this.opts.logger.info({ job: id, state: "CANCELLED", error: reason }, "job cancelled");
      return view(queued.rows[0]);
    }
    await this.pool.query("UPDATE servesim_jobs SET cancel_requested = TRUE, error = $2 WHERE id = $1 AND state = $3", [
      id,
      reason,
      JobState.JOB_STATE_RUNNING,
    ]);
    const local = this.runs.get(id);
    if (local) this.abort(local, reason);
    const deadline = Date.now() + 5_000;
    for (;;) {
      const job = await this.get(id, tenant);
      if (isTerminal(job.state) || Date.now() > deadline) return job;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Watches a job by re-reading it every pollMs (it may run on another replica). */
  async subscribe(id: string, listener: JobListener, tenant: string): Promise<() => void> {
    let last = JSON.stringify(await this.get(id, tenant));
    let stopped = false;
    const timer = setInterval(async () => {
      if (stopped) return;
      let job: Job;
      try {
        job = await this.get(id, tenant);
      } catch {
        return;
      }
      const now = JSON.stringify(job);
      if (now === last || stopped) return;
      const before = JSON.parse(last) as Job;
      last = now;
      if (isTerminal(job.state)) {
        stopped = true;
        clearInterval(timer);
        listener("final", job, job.state === JobState.JOB_STATE_SUCCEEDED ? await this.result(id, tenant) : undefined);
      } else listener(before.state !== job.state ? "state" : "progress", job);
    }, this.pollMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }

  /** Claims queued jobs (or jobs whose lease ran out) while this replica has room, and drops expired results. */
  private async tick(): Promise<void> {
    if (this.claiming || !this.accepting) return;
    this.claiming = true;
    try {
      await this.pool.query("DELETE FROM servesim_jobs WHERE finished_at_ms > 0 AND state IN ($1, $2, $3) AND finished_at_ms < $4", [
        JobState.JOB_STATE_SUCCEEDED,
        JobState.JOB_STATE_FAILED,
        JobState.JOB_STATE_CANCELLED,
        Date.now() - this.opts.resultTtlMs,
      ]);
      if (this.opts.quota) await this.pool.query("DELETE FROM servesim_tenant_usage WHERE at_ms < $1", [Date.now() - this.opts.quota.windowMs]);
      while (this.accepting && this.runs.size < this.opts.maxConcurrentJobs) {
        const now = Date.now();
        const claimed = await this.pool.query<Row>(
          `UPDATE servesim_jobs SET state = $1, owner = $2, lease_until_ms = $3, started_at_ms = $4, attempts = attempts + 1
           WHERE id = (SELECT id FROM servesim_jobs WHERE (state = $5 OR (state = $1 AND lease_until_ms < $4)) ORDER BY seq FOR UPDATE SKIP LOCKED LIMIT 1)
           RETURNING ${COLUMNS}, spec`,
          [JobState.JOB_STATE_RUNNING, this.replica, now + this.leaseMs, now, JobState.JOB_STATE_QUEUED],
        );
        const row = claimed.rows[0];
        if (!row) break;
        this.start(row);
      }
    } catch (err) {
      this.opts.logger.warn({ err }, "job queue poll failed; retrying");
    } finally {
      this.claiming = false;
    }
  }

  private start(row: Row): void {
    const controller = new AbortController();
    const local: LocalRun = { controller, settled: Promise.resolve() };
    this.runs.set(row.id, local);
    const log = this.opts.logger.child({ job: row.id });
    local.settled = (async () => {
      log.info({ name: row.name, state: "RUNNING", replica: this.replica }, "job running");
      if (row.cancel_requested) throw new CancelledError(row.error || "cancelled by the client");
      const prepared = await this.executor.prepare(JobSpec.decode(row.spec!));
      return this.executor.run(prepared, { id: row.id, signal: controller.signal, onProgress: (p) => (local.progress = p) });
    })()
      .then(
        (output) => this.complete(row, local, JobState.JOB_STATE_SUCCEEDED, "", output),
        (err: unknown) => {
          if (local.handedBack) return this.release(row.id);
          if (controller.signal.aborted || err instanceof CancelledError) {
            return this.complete(row, local, JobState.JOB_STATE_CANCELLED, local.cancelReason ?? (err as Error).message ?? "cancelled");
          }
          return this.complete(row, local, JobState.JOB_STATE_FAILED, failureReason(err, log));
        },
      )
      .finally(() => {
        this.runs.delete(row.id);
        void this.tick();
      });
  }

  private async complete(row: Row, local: LocalRun, state: JobState, error: string, output?: JobRunOutput): Promise<void> {
    let bytes: Buffer | null = null;
    if (output) {
      bytes = Buffer.from(encodeOutput(output));
      if (this.opts.maxResultBytes !== undefined && bytes.length > this.opts.maxResultBytes) {
        state = JobState.JOB_STATE_FAILED;
        error = `the job's result takes ${bytes.length} bytes, more than SERVESIM_MAX_RESULT_BYTES (${this.opts.maxResultBytes})`;
        bytes = null;
      }
    }
    const p = local.progress ? toJobProgress(local.progress) : undefined;
    const done = await this.pool.query(
      `UPDATE servesim_jobs SET state = $3, error = $4, finished_at_ms = $5, output = $6, output_bytes = $7, spec = '', owner = NULL,
         progress = CASE WHEN $3 = ${JobState.JOB_STATE_SUCCEEDED} THEN jsonb_set(jsonb_set(COALESCE($8::jsonb, progress), '{requestsFinished}', progress->'requestsTotal'), '{pointsFinished}', progress->'pointsTotal') ELSE COALESCE($8::jsonb, progress) END
       WHERE id = $1 AND owner = $2`,
      [row.id, this.replica, state, error, Date.now(), bytes, bytes?.length ?? 0, p ? JSON.stringify(p) : null],
    );
    if (done.rowCount === 0) {
      this.opts.logger.warn({ job: row.id }, "job finished after its lease passed to another replica; this result is dropped");
      return;
    }
    this.opts.logger[state === JobState.JOB_STATE_FAILED ? "warn" : "info"](
      { job: row.id, name: row.name, state: JobState[state].replace("JOB_STATE_", ""), ...(error ? { error } : {}) },
      `job ${JobState[state].replace("JOB_STATE_", "").toLowerCase()}`,
    );
  }

  /** Puts a job this replica holds back in the queue (shutdown). */
  private async release(id: string): Promise<void> {
    await this.pool.query("UPDATE servesim_jobs SET state = $2, owner = NULL, lease_until_ms = 0, started_at_ms = 0 WHERE id = $1 AND owner = $3", [
      id,
      JobState.JOB_STATE_QUEUED,
      this.replica,
    ]);
    this.opts.logger.info({ job: id, state: "QUEUED", handedBack: true }, "job handed back to the queue");
  }

  /** Renews the leases of this replica's runs and saves their progress; a run whose lease was lost, or that was cancelled elsewhere, stops. */
  private async renew(): Promise<void> {
    for (const [id, local] of this.runs) {
      try {
        const p = local.progress ? JSON.stringify(toJobProgress(local.progress)) : null;
        const r = await this.pool.query<{ cancel_requested: boolean; error: string }>(
          "UPDATE servesim_jobs SET lease_until_ms = $3, progress = COALESCE($4::jsonb, progress) WHERE id = $1 AND owner = $2 RETURNING cancel_requested, error",
          [id, this.replica, Date.now() + this.leaseMs, p],
        );
        if (!r.rows[0]) this.abort(local, "the job's lease passed to another replica");
        else if (r.rows[0].cancel_requested) this.abort(local, r.rows[0].error || "cancelled by the client");
      } catch (err) {
        this.opts.logger.warn({ err, job: id }, "lease renewal failed");
      }
    }
  }

  private abort(local: LocalRun, reason: string): void {
    if (local.controller.signal.aborted) return;
    local.cancelReason = reason;
    local.controller.abort(new CancelledError(reason));
  }

  /** Stops claiming, hands this replica's running jobs back to the queue (not cancelled), closes the pool. */
  async shutdown(): Promise<void> {
    if (!this.accepting) return;
    this.accepting = false;
    clearInterval(this.timer);
    clearInterval(this.heartbeat);
    for (const local of this.runs.values()) {
      local.handedBack = true;
      this.abort(local, HAND_BACK_REASON);
    }
    await Promise.all([...this.runs.values()].map((r) => r.settled.catch(() => undefined)));
    await this.executor.close?.();
    await this.pool.end();
  }
}
