import { randomUUID } from "node:crypto";
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
import { type Job, type JobProgress, type JobResult, type JobSpec, JobState } from "@servesim/wire/scheduler";
import type { Logger } from "pino";
import { toJobProgress } from "./convert.js";
import type { JobExecutor, JobRunOutput, PreparedJob, RunProgress } from "./jobExecutor.js";
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
}

/** What a job's watchers are told: a state change, a progress update, or the final state. */
export type JobEvent = "state" | "progress" | "final";

interface JobEntry<P extends PreparedJob> {
  id: string;
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
}

/** A watcher of one job: the event, the job as it is now and, on the final event of a succeeded job, its result. */
export type JobListener = (event: JobEvent, job: Job, result?: JobResult) => void;

const TERMINAL = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);
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
export class JobManager<P extends PreparedJob = PreparedJob> {
  private readonly jobs = new Map<string, JobEntry<P>>();
  private readonly queue: JobEntry<P>[] = [];
  private readonly submissions = new SubmissionIndex();
  private running = 0;
  private accepting = true;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly executor: JobExecutor<P>,
    private readonly opts: JobManagerOptions,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(opts.resultTtlMs, 60_000));
    this.sweeper.unref();
  }

  /**
   * Validates and resolves the spec (INVALID_ARGUMENT at submission, not a failed job), then queues it.
   * With a request_id, a repeated submission of the same spec returns the job the first one created
   * (while that job is kept); the same request_id with another spec fails with ALREADY_EXISTS.
   */
  async submit(spec: JobSpec | undefined, requestId?: string, dataset?: StreamedDataset): Promise<Job> {
    if (spec === undefined) throw new InvalidArgumentError("spec", "is required");
    const key = checkRequestId(requestId);
    if (dataset) return this.submitStreamed(spec, key, dataset);
    if (key === "") return this.enqueue(await this.prepare(spec), "");
    return this.deduplicated(key, specDigest(spec), async () => this.enqueue(await this.prepare(spec), key));
  }

  /**
   * A job whose dataset follows in chunks: the dataset is read as it arrives (and drained to the end so
   * the digest covers all of it); the request_id check comes once the whole upload is known.
   */
  private async submitStreamed(spec: JobSpec, key: string, dataset: StreamedDataset): Promise<Job> {
    const prepared = await this.prepare(spec, dataset);
    const digest = `${specDigest(spec)}:${await dataset.drain()}`;
    if (key === "") return this.enqueue(prepared, "");
    return this.deduplicated(key, digest, () => this.enqueue(prepared, key));
  }

  private async deduplicated(key: string, digest: string, create: () => Promise<Job>): Promise<Job> {
    const { job, duplicate } = await this.submissions.submit(key, digest, create, (id) => {
      const e = this.jobs.get(id);
      return e ? this.view(e) : undefined;
    });
    if (duplicate) this.opts.logger.info({ job: job.id, requestId: key, state: stateName(job.state) }, "duplicate submission; returning the existing job");
    return job;
  }

  private async prepare(spec: JobSpec, dataset?: StreamedDataset): Promise<P> {
    this.checkAccepting();
    this.checkQueue();
    const prepared = await this.executor.prepare(spec, dataset);
    this.checkAccepting();
    return prepared;
  }

  private checkQueue(): void {
    if (this.queue.length >= this.opts.maxQueuedJobs) {
      throw new ResourceExhaustedError(`${this.queue.length} jobs are already queued (SERVESIM_MAX_QUEUED_JOBS); retry later`);
    }
  }

  private async enqueue(prepared: P, requestId: string): Promise<Job> {
    this.checkAccepting();
    this.checkQueue();
    const entry: JobEntry<P> = {
      id: randomUUID(),
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
    this.jobs.set(entry.id, entry);
    this.queue.push(entry);
    this.log(entry, { requests: prepared.requestsTotal, queuePosition: this.queue.length, ...(requestId ? { requestId } : {}) });
    this.pump();
    return this.view(entry);
  }

  get(id: string): Job {
    return this.view(this.entry(id));
  }

  list(states: readonly JobState[] = []): Job[] {
    const wanted = new Set(states);
    const out: Job[] = [];
    for (const e of this.jobs.values()) if (wanted.size === 0 || wanted.has(e.state)) out.push(this.view(e));
    return out;
  }

  /** The output of a succeeded job (FAILED_PRECONDITION for any other state). */
  output(id: string): { job: Job; output: JobRunOutput } {
    const e = this.entry(id);
    if (e.state !== JobState.JOB_STATE_SUCCEEDED || !e.output) {
      const why = e.error ? ` (${e.error})` : "";
      throw new FailedPreconditionError(`job ${id} is ${stateName(e.state)}${why}; only a SUCCEEDED job has a result`);
    }
    return { job: this.view(e), output: e.output };
  }

  /** The result summary of a succeeded job, else undefined. */
  result(id: string): JobResult | undefined {
    return this.entry(id).output?.result;
  }

  /**
   * Cancels a queued job at once, or a running one (its run stops at the next iteration; waits for
   * that, briefly). A finished job is returned unchanged.
   */
  async cancel(id: string, reason = "cancelled by the client"): Promise<Job> {
    const e = this.entry(id);
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
  subscribe(id: string, listener: JobListener): () => void {
    const e = this.entry(id);
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
  }

  get counts(): { queued: number; running: number; stored: number } {
    return { queued: this.queue.length, running: this.running, stored: this.jobs.size };
  }

  private checkAccepting(): void {
    if (!this.accepting) throw new UnavailableError(`${SHUTDOWN_REASON}; submit the job to another replica`);
  }

  private entry(id: string): JobEntry<P> {
    if (typeof id !== "string" || id === "") throw new InvalidArgumentError("id", "is required");
    const e = this.jobs.get(id);
    if (!e) throw new NotFoundError(`job ${id} not found (unknown, or finished and dropped after SERVESIM_RESULT_TTL_MS / SERVESIM_MAX_STORED_JOBS)`);
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
      e.output = output;
      e.progress = { ...e.progress, requestsFinished: e.progress.requestsTotal, pointsFinished: e.progress.pointsTotal };
      this.finish(e, JobState.JOB_STATE_SUCCEEDED, "");
    } catch (err) {
      if (controller.signal.aborted) this.finish(e, JobState.JOB_STATE_CANCELLED, e.cancelReason ?? "cancelled");
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
    e.state = state;
    e.error = error;
    e.finishedAtMs = Date.now();
    e.prepared = undefined;
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

  /** Drops finished jobs past their TTL, then the oldest finished beyond maxStoredJobs. */
  private sweep(): void {
    const now = Date.now();
    const finished: JobEntry<P>[] = [];
    for (const e of this.jobs.values()) {
      if (!isTerminal(e.state)) continue;
      if (now - e.finishedAtMs >= this.opts.resultTtlMs) this.drop(e);
      else finished.push(e);
    }
    if (finished.length > this.opts.maxStoredJobs) {
      finished.sort((a, b) => a.finishedAtMs - b.finishedAtMs);
      for (const e of finished.slice(0, finished.length - this.opts.maxStoredJobs)) this.drop(e);
    }
  }

  /** Forgets a finished job, and its request_id with it. */
  private drop(e: JobEntry<P>): void {
    this.jobs.delete(e.id);
    if (e.requestId) this.submissions.forget(e.requestId, e.id);
  }
}
