import type { IterationStats, RequestRecord, SimulationProgress } from "@servesim/engine";
import type { JobResult, JobSpec } from "@servesim/wire/scheduler";

/** A job spec validated at submission, ready to run. */
export interface PreparedJob {
  name: string;
  /** Measured requests (the progress total). */
  requestsTotal: number;
  /** Non-fatal findings from resolving the spec (Job.warnings). */
  warnings?: string[];
}

/** What a finished job keeps for GetResult. */
export interface JobRunOutput {
  result: JobResult;
  requests: RequestRecord[];
  iterations: IterationStats[];
}

export interface RunControl {
  id: string;
  /** Aborted when the job is cancelled or the scheduler shuts down: the run must stop promptly. */
  signal: AbortSignal;
  onProgress(p: SimulationProgress): void;
}

/** How the job manager validates and runs jobs (the real one drives the engine against the predictor service). */
export interface JobExecutor<P extends PreparedJob = PreparedJob> {
  /**
   * Validates and resolves a spec; bad input throws InvalidArgumentError naming the field. A streamed
   * dataset's bytes (SubmitJobStream) come as `dataset`, to be read as they arrive.
   */
  prepare(spec: JobSpec, dataset?: AsyncIterable<Uint8Array>): Promise<P>;
  run(job: P, control: RunControl): Promise<JobRunOutput>;
  close?(): void | Promise<void>;
}
