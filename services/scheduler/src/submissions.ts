import { createHash } from "node:crypto";
import { AlreadyExistsError, InvalidArgumentError } from "@servesim/core";
import { type Job, JobSpec } from "@servesim/wire/scheduler";

/** Longest SubmitJobRequest.request_id accepted (a UUID has 36 characters). */
export const MAX_REQUEST_ID_LENGTH = 128;

/** SubmitJobRequest.request_id, validated: "" when the client sent none (no deduplication). */
export function checkRequestId(id: string | undefined): string {
  if (id === undefined || id === "") return "";
  if (typeof id !== "string" || id.length > MAX_REQUEST_ID_LENGTH || !/^[\x21-\x7e]+$/.test(id)) {
    const shown = typeof id === "string" && id.length > 40 ? `${JSON.stringify(id.slice(0, 40))}…` : JSON.stringify(id);
    throw new InvalidArgumentError("request_id", `must be 1 to ${MAX_REQUEST_ID_LENGTH} printable ASCII characters without spaces, e.g. a UUID (got ${shown})`);
  }
  return id;
}

/** Fingerprint of a spec: equal specs have equal digests (unset fields count as their defaults). */
export function specDigest(spec: JobSpec): string {
  return createHash("sha256")
    .update(JobSpec.encode(JobSpec.fromPartial(spec)).finish())
    .digest("hex");
}

/**
 * The dataset bytes that follow a job in SubmitJobStream, as the job's reader consumes them: hashed (the
 * submission's fingerprint covers them), counted against `maxBytes`, and drained to the end after the
 * reader stopped early (num_requests), so the fingerprint is that of the whole upload. The reader may stop
 * iterating without closing the upload.
 */
export class StreamedDataset implements AsyncIterable<Uint8Array> {
  private readonly hash = createHash("sha256");
  private bytes = 0;
  private finished = false;

  constructor(
    private readonly source: AsyncIterator<Uint8Array>,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.bytes;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return { next: () => this.next() };
  }

  /** Reads what the reader left, then the upload's digest. */
  async drain(): Promise<string> {
    while (!(await this.next()).done);
    return this.hash.digest("hex");
  }

  private async next(): Promise<IteratorResult<Uint8Array>> {
    if (this.finished) return { done: true, value: undefined };
    const r = await this.source.next();
    if (r.done) {
      this.finished = true;
      return r;
    }
    this.bytes += r.value.length;
    if (this.bytes > this.maxBytes) {
      throw new InvalidArgumentError("dataset_chunk", `the dataset exceeds ${this.maxBytes} bytes (SERVESIM_MAX_DATASET_BYTES)`);
    }
    this.hash.update(r.value);
    return r;
  }
}

interface Submission {
  digest: string;
  /** Set once the submission created its job. */
  jobId?: string;
  /** The submission still being validated and queued. */
  pending?: Promise<Job>;
}

export interface SubmitOutcome {
  job: Job;
  /** True when the request_id had already created this job (a retried submission). */
  duplicate: boolean;
}

/**
 * The request_ids of SubmitJob (AIP-155 style idempotency): a retried submission whose answer was lost
 * gets the job its first attempt created instead of a second job. An id is remembered while its job is
 * kept (JobManager forgets it when the job is dropped); a submission that failed is not remembered,
 * so its retry is validated afresh.
 */
export class SubmissionIndex {
  private readonly byRequestId = new Map<string, Submission>();

  /**
   * Runs `create` for a new request_id, or returns the job an earlier submission with the same id and
   * digest (specDigest, with the dataset's for a streamed one) created (waiting for it when that submission is still in progress). The same id with another
   * spec fails with ALREADY_EXISTS. `lookup` finds a kept job by id.
   */
  async submit(requestId: string, digest: string, create: () => Promise<Job>, lookup: (jobId: string) => Job | undefined): Promise<SubmitOutcome> {
    for (;;) {
      const seen = this.byRequestId.get(requestId);
      if (!seen) break;
      if (seen.digest !== digest) {
        const job = seen.jobId ? ` (job ${seen.jobId})` : "";
        throw new AlreadyExistsError(
          `request_id ${requestId.slice(requestId.indexOf("\u0000") + 1)} was already used with a different spec${job}; use a new request_id for a new job`,
        );
      }
      if (seen.jobId !== undefined) {
        const job = lookup(seen.jobId);
        if (job) return { job, duplicate: true };
        this.byRequestId.delete(requestId);
        break;
      }
      // The first attempt is still being resolved: its outcome decides (a failure is retried here).
      await seen.pending!.catch(() => undefined);
    }
    const submission: Submission = { digest };
    submission.pending = create().then(
      (job) => {
        submission.jobId = job.id;
        submission.pending = undefined;
        return job;
      },
      (err: unknown) => {
        if (this.byRequestId.get(requestId) === submission) this.byRequestId.delete(requestId);
        throw err;
      },
    );
    this.byRequestId.set(requestId, submission);
    return { job: await submission.pending, duplicate: false };
  }

  /** Remembers a request_id whose job was created earlier (restored from a job store). */
  remember(requestId: string, digest: string, jobId: string): void {
    this.byRequestId.set(requestId, { digest, jobId });
  }

  /** Forgets `requestId` if it belongs to `jobId` (the job was dropped). */
  forget(requestId: string, jobId: string): void {
    if (this.byRequestId.get(requestId)?.jobId === jobId) this.byRequestId.delete(requestId);
  }

  get size(): number {
    return this.byRequestId.size;
  }
}
