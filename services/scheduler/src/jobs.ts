import type { Job, JobResult, JobSpec, JobState } from "@servesim/wire/scheduler";
import type { JobRunOutput } from "./jobExecutor.js";
import type { PageTokens } from "./pageTokens.js";
import type { StreamedDataset } from "./submissions.js";

/** One listed job with its submission sequence number (the position a ListJobs page token carries). */
export interface ListedJob {
  seq: number;
  job: Job;
  /** The job's encoded size, when the manager keeps it (else the handler encodes the job to bound the page). */
  bytes?: number;
}

/** What a job's watchers are told: a state change, a progress update, or the final state. */
export type JobEvent = "state" | "progress" | "final";

/** A watcher of one job: the event, the job as it is now and, on the final event of a succeeded job, its result. */
export type JobListener = (event: JobEvent, job: Job, result?: JobResult) => void;

/**
 * The scheduler's jobs as the service sees them: the in-process manager (memory or SQLite store) and
 * the shared one (PostgreSQL, several replicas on one queue) both implement it. Every call is scoped
 * to a tenant: another tenant's job is NOT_FOUND.
 */
export interface Jobs {
  /** `claims`: the caller's verified JWT claims that may override its quotas (QuotaPolicy.claimNames). */
  submit(
    spec: JobSpec | undefined,
    requestId: string | undefined,
    dataset: StreamedDataset | undefined,
    tenant: string,
    claims?: Readonly<Record<string, unknown>>,
  ): Promise<Job>;
  get(id: string, tenant: string): Job | Promise<Job>;
  /** The tenant's jobs (in one of `states` when given) submitted after `afterSeq`, oldest first, at most `limit`. */
  page(states: readonly JobState[], tenant: string, afterSeq: number, limit: number): ListedJob[] | Promise<ListedJob[]>;
  /** Seals and opens ListJobs page tokens (its key lives as long as the sequence numbers). */
  readonly pageTokens: PageTokens;
  output(id: string, tenant: string): { job: Job; output: JobRunOutput } | Promise<{ job: Job; output: JobRunOutput }>;
  result(id: string, tenant: string): JobResult | undefined | Promise<JobResult | undefined>;
  cancel(id: string, reason: string | undefined, tenant: string): Promise<Job>;
  /** Listens to a job's events; returns the unsubscribe function. */
  subscribe(id: string, listener: JobListener, tenant: string): (() => void) | Promise<() => void>;
  shutdown(reason?: string): Promise<void>;
}
