import { randomUUID } from "node:crypto";
import { type ClientReadableStream, status as Status } from "@grpc/grpc-js";
import {
  abortedError,
  backoffMs,
  backoffSleep,
  type ClientOptions,
  ClientPool,
  callWithRetry,
  DEFAULT_DEADLINE_MS,
  DEFAULT_RETRIES,
  isRetryable,
  ServesimError,
  toServesimError,
} from "@servesim/wire";
import {
  type CancelJobResponse,
  type GetJobResponse,
  type GetResultResponse,
  type IterationRecord,
  type Job,
  type JobResult,
  type JobSpec,
  JobState,
  type ListJobsResponse,
  type RequestRecord,
  SchedulerServiceClient,
  type SubmitJobResponse,
  type WatchJobResponse,
} from "@servesim/wire/scheduler";
import type { CallOpts } from "./predictorClient.js";

export interface SubmitOpts extends CallOpts {
  /**
   * SubmitJobRequest.request_id, the idempotency key sent with every attempt of this submission
   * (default: a new random UUID per submitJob call). Reuse it only to resubmit the same spec.
   */
  requestId?: string;
}

export interface WatchOpts {
  signal?: AbortSignal;
  /** Minimum interval between progress events (server default 200 ms). */
  minIntervalMs?: number;
}

export interface GetResultOpts {
  includeRequests?: boolean;
  includeIterations?: boolean;
  /** Records per chunk (server default 1000). */
  chunkSize?: number;
  signal?: AbortSignal;
}

export interface JobOutput {
  result: JobResult;
  requests: RequestRecord[];
  iterations: IterationRecord[];
}

/** Reads a server stream to its end, message by message, mapping failures to ServesimError. */
async function* readStream<T>(call: ClientReadableStream<T>, signal: AbortSignal | undefined, what: string): AsyncGenerator<T> {
  const onAbort = () => call.cancel();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const message of call) yield message as T;
  } catch (err) {
    if (signal?.aborted) throw abortedError(signal, what);
    throw toServesimError(err);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    call.cancel();
  }
}

const TERMINAL = new Set<JobState>([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

/** A client of servesim.v1.SchedulerService. */
export class SchedulerClient {
  private readonly pool: ClientPool<SchedulerServiceClient>;
  private readonly options: Readonly<ClientOptions>;

  constructor(opts: ClientOptions) {
    this.options = { ...opts };
    this.pool = new ClientPool(SchedulerServiceClient, opts);
  }

  private get retries(): number {
    return this.options.retries ?? DEFAULT_RETRIES;
  }

  private policy(what: string, opts: CallOpts | undefined) {
    return {
      deadline: Date.now() + (opts?.deadlineMs ?? this.options.deadlineMs ?? DEFAULT_DEADLINE_MS),
      retries: this.retries,
      signal: opts?.signal,
      what,
    };
  }

  private static job(job: Job | undefined, what: string): Job {
    if (!job) throw new ServesimError(Status.INTERNAL, `${what} answered without a job`);
    return job;
  }

  /**
   * Submits a job; bad specs fail with INVALID_ARGUMENT naming the field. Retried on UNAVAILABLE like
   * every unary call, with one request_id for all attempts: when the server accepted the job but its
   * answer was lost, the retry gets that job back instead of creating a second one.
   */
  async submitJob(spec: JobSpec, opts?: SubmitOpts): Promise<Job> {
    const request = { spec, requestId: opts?.requestId ?? randomUUID() };
    const res = await callWithRetry<SubmitJobResponse>(
      () => {
        const c = this.pool.pick();
        return (md, o, cb) => c.submitJob(request, md, o, cb);
      },
      this.policy("SubmitJob", opts),
    );
    return SchedulerClient.job(res.job, "SubmitJob");
  }

  async getJob(id: string, opts?: CallOpts): Promise<Job> {
    const res = await callWithRetry<GetJobResponse>(
      () => {
        const c = this.pool.pick();
        return (md, o, cb) => c.getJob({ id }, md, o, cb);
      },
      this.policy("GetJob", opts),
    );
    return SchedulerClient.job(res.job, "GetJob");
  }

  async cancelJob(id: string, opts?: CallOpts): Promise<Job> {
    const res = await callWithRetry<CancelJobResponse>(
      () => {
        const c = this.pool.pick();
        return (md, o, cb) => c.cancelJob({ id }, md, o, cb);
      },
      this.policy("CancelJob", opts),
    );
    return SchedulerClient.job(res.job, "CancelJob");
  }

  /** Jobs in the given states (all when none are given). */
  async listJobs(states?: JobState[], opts?: CallOpts): Promise<Job[]> {
    const res = await callWithRetry<ListJobsResponse>(
      () => {
        const c = this.pool.pick();
        return (md, o, cb) => c.listJobs({ states: states ?? [] }, md, o, cb);
      },
      this.policy("ListJobs", opts),
    );
    return res.jobs;
  }

  /**
   * Progress events, then the final event (a terminal state, with the result when it succeeded); the
   * iteration ends after it. A stream broken by UNAVAILABLE is reopened (its first event is the job's
   * current state), up to the client's retries in a row.
   */
  async *watchJob(id: string, opts?: WatchOpts): AsyncGenerator<WatchJobResponse, void, undefined> {
    const signal = opts?.signal;
    for (let failures = 0; ; ) {
      if (signal?.aborted) throw abortedError(signal, "WatchJob");
      const call = this.pool.pick().watchJob({ id, minIntervalMs: opts?.minIntervalMs ?? 0 });
      try {
        for await (const event of readStream<WatchJobResponse>(call, signal, "WatchJob")) {
          failures = 0;
          yield event;
          if (event.job && TERMINAL.has(event.job.state)) return;
        }
        throw new ServesimError(Status.UNAVAILABLE, "WatchJob stream ended before the job finished");
      } catch (err) {
        const e = toServesimError(err);
        if (!isRetryable(e) || failures >= this.retries) throw e;
        await backoffSleep(backoffMs(failures++), signal, "WatchJob");
      }
    }
  }

  /**
   * The result of a succeeded job, with its per-request records and iteration log when asked for,
   * read from the chunked GetResult stream (re-read from the start after UNAVAILABLE).
   */
  async getResult(id: string, opts?: GetResultOpts): Promise<JobOutput> {
    const signal = opts?.signal;
    const request = {
      id,
      includeRequests: opts?.includeRequests ?? false,
      includeIterations: opts?.includeIterations ?? false,
      chunkSize: opts?.chunkSize ?? 0,
    };
    for (let failures = 0; ; ) {
      if (signal?.aborted) throw abortedError(signal, "GetResult");
      try {
        let result: JobResult | undefined;
        const requests: RequestRecord[] = [];
        const iterations: IterationRecord[] = [];
        for await (const chunk of readStream<GetResultResponse>(this.pool.pick().getResult(request), signal, "GetResult")) {
          if (chunk.result) result = chunk.result;
          if (chunk.requests) for (const r of chunk.requests.records) requests.push(r);
          if (chunk.iterations) for (const r of chunk.iterations.records) iterations.push(r);
        }
        if (!result) throw new ServesimError(Status.INTERNAL, "GetResult stream carried no result");
        return { result, requests, iterations };
      } catch (err) {
        const e = toServesimError(err);
        if (!isRetryable(e) || failures >= this.retries) throw e;
        await backoffSleep(backoffMs(failures++), signal, "GetResult");
      }
    }
  }

  close(): void {
    this.pool.close();
  }
}
