import { randomUUID } from "node:crypto";
import { type ClientReadableStream, Metadata, status as Status } from "@grpc/grpc-js";
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
  type SubmitJobStreamRequest,
  type SweepRow,
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
  /** Sweep jobs: one row per point (always sent). */
  sweepRows: SweepRow[];
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

/** Bytes per dataset_chunk message of an upload. */
export const UPLOAD_CHUNK_BYTES = 1 << 20;
/** Default deadline of a streamed submission. */
export const DEFAULT_UPLOAD_DEADLINE_MS = 3_600_000;

/** Re-slices a byte stream into chunks of at most `size` bytes (small pieces are joined). */
async function* rechunk(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    let p = piece;
    while (p.length > 0) {
      const take = Math.min(p.length, size - pendingBytes);
      pending.push(p.subarray(0, take));
      pendingBytes += take;
      p = p.subarray(take);
      if (pendingBytes === size) {
        yield pending.length === 1 ? pending[0]! : Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0) yield pending.length === 1 ? pending[0]! : Buffer.concat(pending);
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
      retries: this.pool.unaryRetries,
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

  /**
   * Submits a job whose dataset is streamed (any size, any format): the spec's workload is a dataset with
   * `streamed` set, and `openDataset` gives the file's bytes (called again for each attempt). The scheduler
   * reads the dataset as it arrives; flow control holds the upload back meanwhile. Retried on UNAVAILABLE
   * with one request_id, like submitJob. The default deadline is an hour (a large upload takes a while).
   */
  async submitJobStream(spec: JobSpec, openDataset: () => AsyncIterable<Uint8Array>, opts?: SubmitOpts): Promise<Job> {
    const requestId = opts?.requestId ?? randomUUID();
    const deadline = Date.now() + (opts?.deadlineMs ?? Math.max(this.options.deadlineMs ?? DEFAULT_DEADLINE_MS, DEFAULT_UPLOAD_DEADLINE_MS));
    for (let n = 0; ; n++) {
      try {
        return await this.uploadOnce(spec, requestId, openDataset(), deadline, opts?.signal);
      } catch (err) {
        const e = toServesimError(err);
        if (!isRetryable(e) || n >= this.retries || opts?.signal?.aborted) throw e;
        const wait = backoffMs(n);
        if (Date.now() + wait >= deadline) throw e;
        await backoffSleep(wait, opts?.signal, "SubmitJobStream");
      }
    }
  }

  private uploadOnce(spec: JobSpec, requestId: string, dataset: AsyncIterable<Uint8Array>, deadline: number, signal: AbortSignal | undefined): Promise<Job> {
    return new Promise<Job>((resolve, reject) => {
      if (signal?.aborted) return reject(abortedError(signal, "SubmitJobStream"));
      let settled = false;
      const onAbort = () => call.cancel();
      const call = this.pool.pick().submitJobStream(new Metadata(), { deadline }, (err, res) => {
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        if (err) reject(signal?.aborted ? abortedError(signal, "SubmitJobStream") : toServesimError(err));
        else {
          try {
            resolve(SchedulerClient.job(res?.job, "SubmitJobStream"));
          } catch (e) {
            reject(e);
          }
        }
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      const send = async () => {
        const write = async (message: SubmitJobStreamRequest) => {
          if (!call.write(message)) await new Promise<void>((r) => call.once("drain", r));
        };
        await write({ submit: { spec, requestId } });
        for await (const chunk of rechunk(dataset, UPLOAD_CHUNK_BYTES)) {
          if (settled) return;
          await write({ datasetChunk: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) });
        }
        call.end();
      };
      send().catch((err: unknown) => {
        // The file could not be read: give up this call (not retried: the same file would fail again).
        call.cancel();
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
    });
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
  /** The caller's jobs (in `states` when given), oldest first: every page of ListJobs, followed to the last. */
  async listJobs(states?: JobState[], opts?: CallOpts & { pageSize?: number }): Promise<Job[]> {
    const jobs: Job[] = [];
    let pageToken = "";
    do {
      const page = await this.listJobsPage(states, { ...opts, pageToken });
      jobs.push(...page.jobs);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return jobs;
  }

  /** One page of ListJobs: pass its next_page_token back (with the same states) for the next one; "" after the last. */
  async listJobsPage(states?: JobState[], opts?: CallOpts & { pageSize?: number; pageToken?: string }): Promise<ListJobsResponse> {
    return callWithRetry<ListJobsResponse>(
      () => {
        const c = this.pool.pick();
        const request = { states: states ?? [], pageSize: opts?.pageSize ?? 0, pageToken: opts?.pageToken ?? "" };
        return (md, o, cb) => c.listJobs(request, md, o, cb);
      },
      this.policy("ListJobs", opts),
    );
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
        const sweepRows: SweepRow[] = [];
        for await (const chunk of readStream<GetResultResponse>(this.pool.pick().getResult(request), signal, "GetResult")) {
          if (chunk.result) result = chunk.result;
          if (chunk.requests) for (const r of chunk.requests.records) requests.push(r);
          if (chunk.iterations) for (const r of chunk.iterations.records) iterations.push(r);
          if (chunk.sweepRows) for (const r of chunk.sweepRows.rows) sweepRows.push(r);
        }
        if (!result) throw new ServesimError(Status.INTERNAL, "GetResult stream carried no result");
        return { result, requests, iterations, sweepRows };
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
