import type { IterationStats, RequestRecord, SimulationProgress } from "@servesim/engine";
import type { JobResult, JobSpec, SweepRow } from "@servesim/wire/scheduler";

/** A job spec validated at submission, ready to run. */
export interface PreparedJob {
  name: string;
  /** Measured requests (the progress total). */
  requestsTotal: number;
  /** Non-fatal findings from resolving the spec (Job.warnings). */
  warnings?: string[];
  /** Sweep jobs: the number of points. */
  pointsTotal?: number;
  /** Lower bound of the result's encoded size (8 bytes per output token), checked against SERVESIM_MAX_RESULT_BYTES at submission. */
  estimatedResultBytes?: number;
  /** Input + output tokens over every request the job simulates (each point of a sweep), charged to the tenant's quota. */
  simulatedTokens?: number;
}

/** What a finished job keeps for GetResult. */
export interface JobRunOutput {
  result: JobResult;
  requests: RequestRecord[];
  iterations: IterationStats[];
  /** Sweep jobs: one row per point, in point order. */
  sweepRows?: SweepRow[];
}

/** What a run reports while it goes: the engine's progress, and for sweeps the points finished. */
export type RunProgress = SimulationProgress & { pointsFinished?: number; pointsTotal?: number };

export interface RunControl {
  id: string;
  /** Aborted when the job is cancelled or the scheduler shuts down: the run must stop promptly. */
  signal: AbortSignal;
  onProgress(p: RunProgress): void;
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
