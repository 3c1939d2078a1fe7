import { randomBytes, randomUUID } from "node:crypto";
import {
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
import { Job, type JobProgress, type JobResult, JobSpec, JobState } from "@servesim/wire/scheduler";
import type { Logger } from "pino";
import { ITERATION_RECORD_BYTES, requestRecordBytes, sweepRowBytes, toJobProgress } from "./convert.js";
import type { JobExecutor, JobRunOutput, PreparedJob, RunProgress } from "./jobExecutor.js";
import { decodeOutput, encodeOutput, type JobStore, MemoryJobStore, type StoredJob } from "./jobStore.js";
import type { JobEvent, JobListener, Jobs, ListedJob } from "./jobs.js";
import { PageTokens } from "./pageTokens.js";
import { checkQuota, type QuotaPolicy, type TenantQuota } from "./quotas.js";
import { checkRequestId, type StreamedDataset, SubmissionIndex, specDigest } from "./submissions.js";

export const SHUTDOWN_REASON = "scheduler shutting down";

export interface JobManagerOptions {
  maxConcurrentJobs: number;
  maxQueuedJobs: number;
  /** Finished jobs kept (oldest finished dropped first). */
  maxStoredJobs: number;
  /** How long a finished job is kept. */
  resultTtlMs: number;
  logger: Logger;
  /** Where jobs are kept (default: memory, lost with the process). */
  store?: JobStore;
  /** Most queued + running jobs of one tenant (default: unlimited). */
  maxTenantJobs?: number;
  /** Largest result one job may produce, in encoded bytes (default: unlimited). */
  maxResultBytes?: number;
  /** Most result bytes kept over all finished jobs; the oldest finished are dropped first (default: unlimited). */
  maxStoredResultBytes?: number;
  /** Per-tenant quotas on submitted bytes and simulated tokens over a rolling window (default: none). */
  quota?: QuotaPolicy;
}

/** Longest job name accepted (names are listed to their tenant by every ListJobs). */
export const MAX_JOB_NAME_LENGTH = 256;

interface JobEntry<P extends PreparedJob> {
  id: string;
  /** Submission order in this process (ListJobs pages by it). */
  seq: number;
  /** The tenant that submitted the job: the only one that sees it. */
  tenant: string;
  /** The submission's fingerprint (request_id deduplication) and the spec's bytes (to run it again after a restart). */
  digest: string;
  spec: Uint8Array;
  /** A finished job's result is in the store, read on demand. */
  outputStored?: boolean;
  /** Encoded size of the job's result (estimated), counted against maxStoredResultBytes. */
  resultBytes?: number;
  name: string;
  state: JobState;
  progress: JobProgress;
  error: string;
  createdAtMs: number;
  startedAtMs: number;
  finishedAtMs: number;
  warnings: string[];
  /** SubmitJobRequest.request_id ("" when none). */
  requestId: string;
  prepared?: P;
  controller?: AbortController;
  cancelReason?: string;
  settled?: Promise<void>;
  output?: JobRunOutput;
  listeners: Set<JobListener>;
  /** Stopped by a shutdown and put back in the store's queue (durable store). */
  handedBack?: boolean;
  /** Forgotten (its tenant's list drops it lazily). */
  dropped?: boolean;
  /** The job as ListJobs last listed it, and its encoded size, while nothing it shows changed. */
  listed?: { state: JobState; progress: JobProgress; error: string; startedAtMs: number; finishedAtMs: number; job: Job; bytes: number };
}

/** One tenant's jobs in submission order (dropped ones removed lazily) and how many are queued or running. */
interface TenantJobs<P extends PreparedJob> {
  entries: JobEntry<P>[];
  dropped: number;
  active: number;
}

/** Upper bound of a run output's encoded size (what GetResult sends and a store keeps). */
function outputBytes(o: JobRunOutput): number {
  let n = 256 + o.result.reportJson.length + o.result.reportText.length;
  for (const r of o.requests) n += requestRecordBytes(r);
  n += o.iterations.length * ITERATION_RECORD_BYTES;
  for (const r of o.sweepRows ?? []) n += sweepRowBytes(r);
  return n;
}

/** The tenant of every call when authentication is off. */
export const ANONYMOUS_TENANT = "default";
export const HAND_BACK_REASON = "scheduler shutting down; the job goes back to the queue";

/** request_ids are scoped per tenant. */
const tenantKey = (tenant: string, requestId: string) => `${tenant}\u0000${requestId}`;

const TERMINAL = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

export type { JobEvent, JobListener };
export const isTerminal = (s: JobState): boolean => TERMINAL.has(s);
const stateName = (s: JobState) => JobState[s].replace("JOB_STATE_", "");

/** How long CancelJob waits for a running job to stop before answering with its current state. */
const CANCEL_WAIT_MS = 5_000;

/**
 * The user-facing reason of a failed run: a StatusError's message, or the status a dependency (the
 * predictor service) answered with; anything else is an internal error, logged and not exposed.
 */
function failureReason(err: unknown, logger: Logger): string {
  if (isStatusError(err)) return err.message;
  if (err instanceof ServesimError) return truncateText(err.message);
  logger.error({ err }, "job failed with an unexpected error");
  return "internal error (see the scheduler log)";
}

/**
 * The scheduler's jobs: a FIFO queue in front of at most maxConcurrentJobs runs, job states and
 * progress, cancellation, and the finished jobs' results (kept for resultTtlMs, at most
 * maxStoredJobs of them). Each state change is logged once and told to the job's watchers.
 */
export class JobManager<P extends PreparedJob = PreparedJob> implements Jobs {
  private readonly jobs = new Map<string, JobEntry<P>>();
  /**
   * The same jobs by tenant, and the finished ones in the order they finished with their result bytes:
   * a submission's per-tenant check, a ListJobs page and a sweep cost what they touch, not a scan of
   * every job (a busy scheduler keeps thousands, and every scan held up health checks).
   */
  private readonly tenants = new Map<string, TenantJobs<P>>();
  private readonly finished = new Set<JobEntry<P>>();
  private finishedBytes = 0;
  private readonly queue: JobEntry<P>[] = [];
  private readonly submissions = new SubmissionIndex();
  private running = 0;
  private lastSeq = 0;
  private accepting = true;
  readonly pageTokens = new PageTokens(randomBytes(32));
  private readonly sweeper: NodeJS.Timeout;
  private readonly store: JobStore;

  constructor(
    private readonly executor: JobExecutor<P>,
    private readonly opts: JobManagerOptions,
  ) {
    this.store = opts.store ?? new MemoryJobStore();
    this.sweeper = setInterval(() => this.sweep(), Math.min(opts.resultTtlMs, 60_000));
    this.sweeper.unref();
  }

  /**
   * Validates and resolves the spec (INVALID_ARGUMENT at submission, not a failed job), then queues it.
   * With a request_id, a repeated submission of the same spec returns the job the first one created
   * (while that job is kept); the same request_id with another spec fails with ALREADY_EXISTS.
   */
  async submit(
    spec: JobSpec | undefined,
    requestId?: string,
    dataset?: StreamedDataset,
    tenant = ANONYMOUS_TENANT,
    claims?: Readonly<Record<string, unknown>>,
  ): Promise<Job> {
    if (spec === undefined) throw new InvalidArgumentError("spec", "is required");
    const allowance = this.opts.quota?.quotaOf(tenant, claims);
    if (typeof spec.name === "string" && spec.name.length > MAX_JOB_NAME_LENGTH) {
      throw new InvalidArgumentError("spec.name", `must be at most ${MAX_JOB_NAME_LENGTH} characters (got ${spec.name.length})`);
    }
    const key = checkRequestId(requestId);
    this.checkTenantQuota(tenant);
    if (dataset) return this.submitStreamed(spec, key, dataset, tenant, allowance);
    const digest = specDigest(spec);
    const bytes = JobSpec.encode(JobSpec.fromPartial(spec)).finish();
    const origin = { tenant, digest, spec: bytes, submittedBytes: bytes.length, allowance };
    if (key === "") return this.enqueue(await this.prepare(spec), "", origin);
    return this.deduplicated(tenantKey(tenant, key), digest, async () => this.enqueue(await this.prepare(spec), key, origin));
  }

  /**
   * A job whose dataset follows in chunks: the dataset is read as it arrives (and drained to the end so
   * the digest covers all of it); the request_id check comes once the whole upload is known.
   */
  private async submitStreamed(spec: JobSpec, key: string, dataset: StreamedDataset, tenant: string, allowance: TenantQuota | undefined): Promise<Job> {
    const prepared = await this.prepare(spec, dataset);
    const digest = `${specDigest(spec)}:${await dataset.drain()}`;
    // The dataset's bytes are not kept: such a job cannot be run again after a restart (see restore).
    const specBytes = JobSpec.encode(JobSpec.fromPartial(spec)).finish().length;
    const origin = { tenant, digest, spec: new Uint8Array(0), submittedBytes: specBytes + dataset.size, allowance };
    if (key === "") return this.enqueue(prepared, "", origin);
    return this.deduplicated(tenantKey(tenant, key), digest, () => this.enqueue(prepared, key, origin));
  }

  /** RESOURCE_EXHAUSTED when the tenant already has its quota of queued + running jobs. */
  private checkTenantQuota(tenant: string): void {
    const max = this.opts.maxTenantJobs;
    if (max === undefined) return;
    const active = this.tenants.get(tenant)?.active ?? 0;
    if (active >= max)
      throw new ResourceExhaustedError(`tenant ${tenant} already has ${active} queued or running jobs (SERVESIM_MAX_TENANT_JOBS ${max}); retry later`);
  }

  /**
   * Takes back the jobs of the store after a restart: finished ones are answered for again (results
   * read on demand), remembered request_ids still deduplicate, and queued or running ones are run
   * again from their specs, in submission order (re-validated; one that no longer validates fails).
   */
  async restore(): Promise<{ finished: number; requeued: number; failed: number }> {
    const counts = { finished: 0, requeued: 0, failed: 0 };
    for (const r of this.store.load()) {
      const e: JobEntry<P> = {
        ...r,
        seq: ++this.lastSeq,
        warnings: [...r.warnings],
        listeners: new Set(),
        outputStored: r.outputBytes > 0,
        resultBytes: r.outputBytes,
      };
      delete (e as Partial<StoredJob>).outputBytes;
      this.add(e);
      if (e.requestId) this.submissions.remember(tenantKey(e.tenant, e.requestId), e.digest, e.id);
      if (isTerminal(e.state)) {
        this.addFinished(e);
        counts.finished++;
        continue;
      }
      try {
        if (e.spec.length === 0)
          throw new FailedPreconditionError("the scheduler restarted before this job finished and its streamed dataset was not kept; submit it again");
        e.prepared = await this.executor.prepare(JobSpec.decode(e.spec));
        e.state = JobState.JOB_STATE_QUEUED;
        e.startedAtMs = 0;
        this.queue.push(e);
        this.persist(e);
        counts.requeued++;
      } catch (err) {
        this.finish(e, JobState.JOB_STATE_FAILED, failureReason(err, this.opts.logger.child({ job: e.id })));
        counts.failed++;
      }
    }
    // The sweep drops the earliest finished first: restored jobs in the order they finished.
    const byFinish = [...this.finished].sort((a, b) => a.finishedAtMs - b.finishedAtMs);
    this.finished.clear();
    for (const e of byFinish) this.finished.add(e);
    if (counts.finished + counts.requeued + counts.failed > 0) this.opts.logger.info(counts, "jobs restored from the store");
    this.pump();
    return counts;
  }

  private persist(e: JobEntry<P>, outputBytes = 0): void {
    if (!this.store.durable) return;
    this.store.put({
      id: e.id,
      tenant: e.tenant,
      name: e.name,
      state: e.state,
      error: e.error,
      createdAtMs: e.createdAtMs,
      startedAtMs: e.startedAtMs,
      finishedAtMs: e.finishedAtMs,
      warnings: e.warnings,
      progress: e.progress,
      requestId: e.requestId,
      digest: e.digest,
      spec: isTerminal(e.state) ? new Uint8Array(0) : e.spec,
      outputBytes,
    });
  }

  private async deduplicated(key: string, digest: string, create: () => Promise<Job>): Promise<Job> {
    const { job, duplicate } = await this.submissions.submit(key, digest, create, (id) => {
      const e = this.jobs.get(id);
      return e ? this.view(e) : undefined;
    });
    if (duplicate) {
      const requestId = key.slice(key.indexOf("\u0000") + 1);
      this.opts.logger.info({ job: job.id, requestId, state: stateName(job.state) }, "duplicate submission; returning the existing job");
    }
    return job;
  }

  private async prepare(spec: JobSpec, dataset?: StreamedDataset): Promise<P> {
    this.checkAccepting();
    this.checkQueue();
    const prepared = await this.executor.prepare(spec, dataset);
    const max = this.opts.maxResultBytes;
    if (max !== undefined && (prepared.estimatedResultBytes ?? 0) > max) {
      throw new InvalidArgumentError(
        "spec",
        `the job's result would take about ${prepared.estimatedResultBytes} bytes (one time per output token), more than SERVESIM_MAX_RESULT_BYTES (${max}); simulate fewer requests or tokens`,
      );
    }
    this.checkAccepting();
    return prepared;
  }

  private checkQueue(): void {
    if (this.queue.length >= this.opts.maxQueuedJobs) {
      throw new ResourceExhaustedError(`${this.queue.length} jobs are already queued (SERVESIM_MAX_QUEUED_JOBS); retry later`);
    }
  }

  private async enqueue(
    prepared: P,
    requestId: string,
    { submittedBytes, allowance, ...origin }: { tenant: string; digest: string; spec: Uint8Array; submittedBytes: number; allowance: TenantQuota | undefined },
  ): Promise<Job> {
    this.checkAccepting();
    this.checkQueue();
    const quota = this.opts.quota;
    if (quota && allowance) {
      const usage = { submittedBytes, simulatedTokens: prepared.simulatedTokens ?? 0 };
      const now = Date.now();
      this.store.charge(origin.tenant, usage, now, now - quota.windowMs, (used) => checkQuota(origin.tenant, used, usage, allowance, quota.windowMs));
    }
    const entry: JobEntry<P> = {
      id: randomUUID(),
      seq: ++this.lastSeq,
      ...origin,
      name: prepared.name,
      state: JobState.JOB_STATE_QUEUED,
      progress: {
        iterations: 0,
        requestsFinished: 0,
        requestsTotal: prepared.requestsTotal,
        simTimeMs: 0,
        pointsFinished: 0,
        pointsTotal: prepared.pointsTotal ?? 0,
      },
      error: "",
      createdAtMs: Date.now(),
      startedAtMs: 0,
      finishedAtMs: 0,
      warnings: prepared.warnings ?? [],
      requestId,
      prepared,
      listeners: new Set(),
    };
    this.add(entry);
    this.queue.push(entry);
    this.persist(entry);
    this.log(entry, { requests: prepared.requestsTotal, queuePosition: this.queue.length, ...(requestId ? { requestId } : {}) });
    this.pump();
    return this.view(entry);
  }

  get(id: string, tenant = ANONYMOUS_TENANT): Job {
    return this.view(this.entry(id, tenant));
  }

  /** The tenant's jobs (in one of `states` when given), oldest first, at most `limit`. */
  list(states: readonly JobState[] = [], tenant = ANONYMOUS_TENANT, limit = Number.POSITIVE_INFINITY): Job[] {
    return this.page(states, tenant, 0, limit).map((l) => l.job);
  }

  page(states: readonly JobState[], tenant: string, afterSeq: number, limit: number): ListedJob[] {
    const wanted = new Set(states);
    const out: ListedJob[] = [];
    const entries = this.tenants.get(tenant)?.entries ?? [];
    // Entries are in submission order (restored ones first, in the store's order): start after afterSeq.
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (entries[mid]!.seq <= afterSeq) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < entries.length && out.length < limit; i++) {
      const e = entries[i]!;
      if (!e.dropped && (wanted.size === 0 || wanted.has(e.state))) out.push(this.listed(e));
    }
    return out;
  }

  /** A job as ListJobs shows it, with its encoded size, reused while the job has not changed. */
  private listed(e: JobEntry<P>): ListedJob {
    const c = e.listed;
    if (c && c.state === e.state && c.progress === e.progress && c.error === e.error && c.startedAtMs === e.startedAtMs && c.finishedAtMs === e.finishedAtMs) {
      return { seq: e.seq, job: c.job, bytes: c.bytes };
    }
    const job = this.view(e);
    const bytes = Job.encode(job).finish().length;
    e.listed = { state: e.state, progress: e.progress, error: e.error, startedAtMs: e.startedAtMs, finishedAtMs: e.finishedAtMs, job, bytes };
    return { seq: e.seq, job, bytes };
  }

  /** The output of a succeeded job (FAILED_PRECONDITION for any other state). */
  output(id: string, tenant = ANONYMOUS_TENANT): { job: Job; output: JobRunOutput } {
    const e = this.entry(id, tenant);
    if (!e.output && e.outputStored && e.state === JobState.JOB_STATE_SUCCEEDED) {
      const bytes = this.store.getOutput(e.id);
      if (bytes) e.output = decodeOutput(bytes);
    }
    if (e.state !== JobState.JOB_STATE_SUCCEEDED || !e.output) {
      const why = e.error ? ` (${e.error})` : "";
      throw new FailedPreconditionError(`job ${id} is ${stateName(e.state)}${why}; only a SUCCEEDED job has a result`);
    }
    return { job: this.view(e), output: e.output };
  }

  /** The result summary of a succeeded job, else undefined. */
  result(id: string, tenant = ANONYMOUS_TENANT): JobResult | undefined {
    const e = this.entry(id, tenant);
    if (e.state === JobState.JOB_STATE_SUCCEEDED && !e.output && e.outputStored) return this.output(id, tenant).output.result;
    return e.output?.result;
  }

  /**
   * Cancels a queued job at once, or a running one (its run stops at the next iteration; waits for
   * that, briefly). A finished job is returned unchanged.
   */
  async cancel(id: string, reason = "cancelled by the client", tenant = ANONYMOUS_TENANT): Promise<Job> {
    const e = this.entry(id, tenant);
    if (e.state === JobState.JOB_STATE_QUEUED) {
      this.queue.splice(this.queue.indexOf(e), 1);
      this.finish(e, JobState.JOB_STATE_CANCELLED, reason);
    } else if (e.state === JobState.JOB_STATE_RUNNING) {
      this.abortRun(e, reason);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([e.settled, new Promise<void>((r) => (timer = setTimeout(r, CANCEL_WAIT_MS)))]);
      clearTimeout(timer);
    }
    return this.view(e);
  }

  /**
   * Listens to a job's events; returns the unsubscribe function. A job already finished gets no events
   * (check its state first).
   */
  subscribe(id: string, listener: JobListener, tenant = ANONYMOUS_TENANT): () => void {
    const e = this.entry(id, tenant);
    e.listeners.add(listener);
    return () => e.listeners.delete(listener);
  }

  /**
   * Stops accepting jobs, cancels the queued ones (reported in the log and to their watchers) and the
   * running ones, all with `reason`; resolves once every run has stopped.
   */
  async shutdown(reason = SHUTDOWN_REASON): Promise<void> {
    this.accepting = false;
    clearInterval(this.sweeper);
    if (this.store.durable) return this.handBack();
    const queued = this.queue.splice(0);
    for (const e of queued) this.finish(e, JobState.JOB_STATE_CANCELLED, reason);
    if (queued.length > 0) {
      this.opts.logger.warn({ count: queued.length, jobs: queued.map((e) => e.id), reason }, "queued jobs cancelled (never ran)");
    }
    const runs: Promise<void>[] = [];
    for (const e of this.jobs.values()) {
      if (e.state === JobState.JOB_STATE_RUNNING) {
        this.abortRun(e, reason);
        runs.push(e.settled!);
      }
    }
    await Promise.all(runs);
    await this.executor.close?.();
    this.store.close();
  }

  /**
   * Shutdown with a durable store: nothing is cancelled. Queued jobs stay queued in the store and
   * running ones are stopped and put back in the queue (re-run from their spec by the next scheduler
   * that opens the store); their watchers' streams end (UNAVAILABLE) so they reconnect there.
   */
  private async handBack(): Promise<void> {
    const queued = this.queue.splice(0);
    const runs: Promise<void>[] = [];
    for (const e of this.jobs.values()) {
      if (e.state === JobState.JOB_STATE_RUNNING) {
        e.handedBack = true;
        this.abortRun(e, HAND_BACK_REASON);
        runs.push(e.settled!);
      }
    }
    await Promise.all(runs);
    const handed = [...this.jobs.values()].filter((e) => e.handedBack).length;
    if (queued.length + handed > 0) this.opts.logger.info({ queued: queued.length, running: handed }, "jobs handed back to the store's queue");
    await this.executor.close?.();
    this.store.close();
  }

  get counts(): { queued: number; running: number; stored: number } {
    return { queued: this.queue.length, running: this.running, stored: this.jobs.size };
  }

  private checkAccepting(): void {
    if (!this.accepting) throw new UnavailableError(`${SHUTDOWN_REASON}; submit the job to another replica`);
  }

  /** The tenant's job `id`; another tenant's job is NOT_FOUND, like one that does not exist. */
  private entry(id: string, tenant: string): JobEntry<P> {
    if (typeof id !== "string" || id === "") throw new InvalidArgumentError("id", "is required");
    if (id.length > 64) throw new InvalidArgumentError("id", `is not a job id (${id.length} characters)`);
    const e = this.jobs.get(id);
    if (!e || e.tenant !== tenant)
      throw new NotFoundError(`job ${id} not found (unknown, or finished and dropped after SERVESIM_RESULT_TTL_MS / SERVESIM_MAX_STORED_JOBS)`);
    return e;
  }

  private view(e: JobEntry<P>): Job {
    return {
      id: e.id,
      name: e.name,
      state: e.state,
      progress: { ...e.progress },
      error: e.error,
      createdAtMs: e.createdAtMs,
      startedAtMs: e.startedAtMs,
      finishedAtMs: e.finishedAtMs,
      warnings: [...e.warnings],
    };
  }

  private pump(): void {
    while (this.accepting && this.running < this.opts.maxConcurrentJobs && this.queue.length > 0) {
      const e = this.queue.shift()!;
      this.running += 1;
      e.settled = this.execute(e).finally(() => {
        this.running -= 1;
        this.pump();
      });
    }
  }

  private async execute(e: JobEntry<P>): Promise<void> {
    const controller = new AbortController();
    e.controller = controller;
    e.state = JobState.JOB_STATE_RUNNING;
    e.startedAtMs = Date.now();
    this.persist(e);
    this.log(e);
    this.emit(e, "state");
    const prepared = e.prepared!;
    e.prepared = undefined;
    try {
      const output = await this.executor.run(prepared, {
        id: e.id,
        signal: controller.signal,
        onProgress: (p: RunProgress) => {
          if (e.state !== JobState.JOB_STATE_RUNNING) return;
          e.progress = toJobProgress(p);
          this.emit(e, "progress");
        },
      });
      const bytes = outputBytes(output);
      if (this.opts.maxResultBytes !== undefined && bytes > this.opts.maxResultBytes) {
        throw new ResourceExhaustedError(`the job's result takes about ${bytes} bytes, more than SERVESIM_MAX_RESULT_BYTES (${this.opts.maxResultBytes})`);
      }
      e.output = output;
      e.resultBytes = bytes;
      e.progress = { ...e.progress, requestsFinished: e.progress.requestsTotal, pointsFinished: e.progress.pointsTotal };
      this.finish(e, JobState.JOB_STATE_SUCCEEDED, "");
    } catch (err) {
      if (e.handedBack) {
        e.state = JobState.JOB_STATE_QUEUED;
        e.startedAtMs = 0;
        this.persist(e);
        this.log(e, { handedBack: true });
        this.emit(e, "final");
        e.listeners.clear();
      } else if (controller.signal.aborted) this.finish(e, JobState.JOB_STATE_CANCELLED, e.cancelReason ?? "cancelled");
      else this.finish(e, JobState.JOB_STATE_FAILED, failureReason(err, this.opts.logger.child({ job: e.id })));
    } finally {
      e.controller = undefined;
    }
  }

  private abortRun(e: JobEntry<P>, reason: string): void {
    if (!e.controller || e.controller.signal.aborted) return;
    e.cancelReason = reason;
    e.controller.abort(new CancelledError(reason));
  }

  private finish(e: JobEntry<P>, state: JobState, error: string): void {
    if (!isTerminal(e.state)) this.tenants.get(e.tenant)!.active--;
    e.state = state;
    e.error = error;
    e.finishedAtMs = Date.now();
    e.prepared = undefined;
    let outputBytes = 0;
    if (this.store.durable && e.output) {
      const bytes = encodeOutput(e.output);
      this.store.putOutput(e.id, bytes);
      outputBytes = bytes.length;
      e.outputStored = true;
    }
    this.persist(e, outputBytes);
    this.addFinished(e);
    const extra: Record<string, unknown> = { ...e.progress };
    if (e.startedAtMs > 0) extra["runMs"] = e.finishedAtMs - e.startedAtMs;
    this.log(e, extra);
    this.emit(e, "final");
    e.listeners.clear();
    this.sweep();
  }

  private emit(e: JobEntry<P>, event: JobEvent): void {
    if (e.listeners.size === 0) return;
    const job = this.view(e);
    const result = event === "final" ? e.output?.result : undefined;
    for (const listener of [...e.listeners]) listener(event, job, result);
  }

  private log(e: JobEntry<P>, extra: Record<string, unknown> = {}): void {
    const state = stateName(e.state);
    const fields = { job: e.id, name: e.name, state, ...extra, ...(e.error ? { error: e.error } : {}) };
    const level = e.state === JobState.JOB_STATE_FAILED ? "warn" : "info";
    this.opts.logger[level](fields, `job ${state.toLowerCase()}`);
  }

  /** Drops finished jobs past their TTL, then the earliest finished beyond maxStoredJobs and maxStoredResultBytes. */
  private sweep(): void {
    const now = Date.now();
    if (this.opts.quota) this.store.pruneUsage(now - this.opts.quota.windowMs);
    // In finish order: the expired ones come first.
    for (const e of this.finished) {
      if (now - e.finishedAtMs < this.opts.resultTtlMs) break;
      this.drop(e);
    }
    const earliest = () => this.finished.values().next().value as JobEntry<P>;
    while (this.finished.size > this.opts.maxStoredJobs) this.drop(earliest());
    const maxBytes = this.opts.maxStoredResultBytes;
    // The newest finished job stays even when it alone is over the budget (its client is about to read it).
    if (maxBytes !== undefined) while (this.finishedBytes > maxBytes && this.finished.size > 1) this.drop(earliest());
  }

  private add(e: JobEntry<P>): void {
    this.jobs.set(e.id, e);
    let t = this.tenants.get(e.tenant);
    if (!t) this.tenants.set(e.tenant, (t = { entries: [], dropped: 0, active: 0 }));
    t.entries.push(e);
    if (!isTerminal(e.state)) t.active++;
  }

  private addFinished(e: JobEntry<P>): void {
    this.finished.add(e);
    this.finishedBytes += e.resultBytes ?? 0;
  }

  /** Forgets a finished job, and its request_id with it. */
  private drop(e: JobEntry<P>): void {
    this.jobs.delete(e.id);
    if (this.finished.delete(e)) this.finishedBytes -= e.resultBytes ?? 0;
    e.dropped = true;
    const t = this.tenants.get(e.tenant)!;
    // Compact once most of the tenant's list is dropped (amortized O(1) per job).
    if (++t.dropped * 2 > t.entries.length) {
      t.entries = t.entries.filter((x) => !x.dropped);
      t.dropped = 0;
      if (t.entries.length === 0) this.tenants.delete(e.tenant);
    }
    if (this.store.durable) this.store.delete(e.id);
    if (e.requestId) this.submissions.forget(tenantKey(e.tenant, e.requestId), e.id);
  }
}
