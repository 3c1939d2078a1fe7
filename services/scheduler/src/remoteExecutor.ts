import { PredictorChannels, type ResolvedJob, type RunnerLimits, resolveJob, runResolvedJob, toJobResult } from "@servesim/runner";
import type { ClientOptions } from "@servesim/wire";
import type { JobSpec } from "@servesim/wire/scheduler";
import type { Logger } from "pino";
import type { JobExecutor, JobRunOutput, PreparedJob, RunControl } from "./jobExecutor.js";

export interface RemoteExecutorOptions {
  /** The predictor service (host:port, comma list, dns:///name:port). */
  predictorAddress: string;
  predictorTls?: ClientOptions["tls"];
  /** How long one batch may wait for its answer before the stream is reopened. */
  predictorDeadlineMs: number;
  /** Reconnects for one batch (UNAVAILABLE, missed deadline). */
  predictorRetries: number;
  limits: Partial<RunnerLimits>;
  logger: Logger;
  /** Wall-clock interval between progress updates (default 100 ms). */
  progressEveryMs?: number;
}

export interface PreparedRemoteJob extends PreparedJob {
  job: ResolvedJob;
}

/**
 * Runs jobs with the engine in this process and every batch priced by the predictor service, one
 * PredictStream per job over channels shared by all jobs.
 */
export class RemoteExecutor implements JobExecutor<PreparedRemoteJob> {
  private readonly channels: PredictorChannels;

  constructor(private readonly opts: RemoteExecutorOptions) {
    this.channels = new PredictorChannels({
      address: opts.predictorAddress,
      deadlineMs: opts.predictorDeadlineMs,
      retries: opts.predictorRetries,
      ...(opts.predictorTls ? { tls: opts.predictorTls } : {}),
    });
  }

  async prepare(spec: JobSpec, dataset?: AsyncIterable<Uint8Array>): Promise<PreparedRemoteJob> {
    const job = await resolveJob(spec, { limits: this.opts.limits, ...(dataset ? { datasetStream: dataset } : {}) });
    return { name: job.name, requestsTotal: job.requests.length, warnings: job.warnings, job };
  }

  async run(prepared: PreparedRemoteJob, control: RunControl): Promise<JobRunOutput> {
    const log = this.opts.logger.child({ job: control.id });
    const predictor = await this.channels.open(prepared.job.predictor.config, {
      signal: control.signal,
      messageDeadlineMs: this.opts.predictorDeadlineMs,
      retries: this.opts.predictorRetries,
      onReconnect: ({ attempt, delayMs, error }) =>
        log.warn({ attempt, delayMs: Math.round(delayMs), code: error.codeName, details: error.details }, "predictor stream failed; reconnecting"),
    });
    try {
      const outcome = await runResolvedJob(prepared.job, predictor, {
        signal: control.signal,
        onProgress: control.onProgress,
        progressEveryMs: this.opts.progressEveryMs ?? 100,
        collectIterations: true,
      });
      return { result: toJobResult(outcome), requests: outcome.records, iterations: outcome.iterations ?? [] };
    } finally {
      await predictor.close();
    }
  }

  close(): void {
    this.channels.close();
  }
}
