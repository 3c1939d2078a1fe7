import { InvalidArgumentError, ResourceExhaustedError } from "@servesim/core";
import { lookupGpu, lookupModel } from "@servesim/perf";
import { PredictorChannels, type ResolvedJob, type RunnerLimits, resolveJob, runJob, toJobResult } from "@servesim/runner";
import { type CatalogNames, confinePredictorConfig, DataRoots } from "@servesim/server-common";
import { metricColumns, type PreparedSweep, prepareSweepJob, rankCandidates, rowToWire, runSweepJob, textTable } from "@servesim/sweep";
import type { ClientOptions } from "@servesim/wire";
import type { PredictorConfig } from "@servesim/wire/predictor";
import type { JobSpec, SweepPoint } from "@servesim/wire/scheduler";
import type { Logger } from "pino";
import type { JobExecutor, JobRunOutput, PreparedJob, RunControl } from "./jobExecutor.js";
import { type JobSummary, summarizeJob } from "./jobSummary.js";
import { OFFLOAD_ABOVE_TOKENS, resolveJobOffThread, syntheticTokens } from "./offloadWorkload.js";
import { runOnWorker, WORKER_ABOVE_TOKENS } from "./workerRun.js";

export interface RemoteExecutorOptions {
  /** The predictor service (host:port, comma list, dns:///name:port). */
  predictorAddress: string;
  predictorTls?: ClientOptions["tls"];
  /** Bearer token presented to the predictor service. */
  predictorToken?: string;
  /** How long one batch may wait for its answer before the stream is reopened. */
  predictorDeadlineMs: number;
  /** Reconnects for one batch (UNAVAILABLE, missed deadline). */
  predictorRetries: number;
  limits: Partial<RunnerLimits>;
  logger: Logger;
  /** Wall-clock interval between progress updates (default 100 ms). */
  progressEveryMs?: number;
  /** Where request fields may name server files (default: nowhere). */
  roots?: DataRoots;
  /** Sweep jobs: most points, and points simulated at once. */
  maxSweepPoints?: number;
  sweepParallelism?: number;
  /** Most simulated iterations one job (each point of a sweep counted together) may run (default: unlimited). */
  maxIterations?: number;
}

const CATALOG_NAMES: CatalogNames = {
  isModel: (name) => lookupModel(name) !== undefined,
  isGpu: (name) => lookupGpu(name) !== undefined,
};

export type PreparedRemoteJob = PreparedJob &
  (
    | { job: ResolvedJob; sweep?: undefined; spec?: undefined }
    | { job?: undefined; sweep: PreparedSweep; spec?: undefined }
    | { job?: undefined; sweep?: undefined; spec: JobSpec }
  );

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
      ...(opts.predictorToken ? { token: opts.predictorToken } : {}),
    });
  }

  /**
   * The spec with its server-file references confined to the data roots (predictor config paths;
   * model_path when it is read as the model), before anything reads them.
   */
  private async confine(spec: JobSpec): Promise<JobSpec> {
    const roots = this.opts.roots ?? DataRoots.none();
    const out: JobSpec = { ...spec };
    if (spec.predictor) out.predictor = await confinePredictorConfig(spec.predictor, roots, CATALOG_NAMES, "spec.predictor");
    const modelPath = spec.modelPath?.trim() ?? "";
    const namesModel = Boolean(spec.predictor?.model?.inline || spec.predictor?.model?.name?.trim());
    if (modelPath !== "" && !namesModel) {
      const real = await roots.resolve("spec.model_path", modelPath, "directory").catch(async (dirErr: unknown) => {
        try {
          return await roots.resolve("spec.model_path", modelPath, "file");
        } catch {
          throw dirErr;
        }
      });
      out.modelPath = real;
    }
    if (spec.sweep) out.sweep = { points: await Promise.all(spec.sweep.points.map((pt, i) => this.confinePoint(pt, i, roots))) };
    return out;
  }

  /** A sweep point's file-naming settings (model, gpu, database_path, backend_version), confined like the base config's. */
  private async confinePoint(point: SweepPoint, index: number, roots: DataRoots): Promise<SweepPoint> {
    const st = point.settings ?? {};
    if (!["model", "gpu", "database_path", "backend_version"].some((k) => k in st)) return point;
    const field = `spec.sweep.points[${index}].settings`;
    const probe: PredictorConfig = {
      kind: 0,
      deviceName: "",
      databasePath: st["database_path"] ?? "",
      backendVersion: st["backend_version"] ?? "",
      weightDtype: 0,
      kvCacheDtype: 0,
      ctxAttention: "",
      ...(st["model"] !== undefined ? { model: { name: st["model"] } } : {}),
      ...(st["gpu"] !== undefined ? { gpu: { name: st["gpu"] } } : {}),
    };
    const confined = await confinePredictorConfig(probe, roots, CATALOG_NAMES, field).catch((err: unknown) => {
      // Name the setting as the sweep file does (settings.model, not settings.model.name).
      if (err instanceof InvalidArgumentError) throw new InvalidArgumentError(err.field.replace(/\.(model|gpu)\.name$/, ".$1"), err.reason);
      throw err;
    });
    const settings = { ...st };
    if (st["model"] !== undefined) settings["model"] = confined.model!.name!;
    if (st["gpu"] !== undefined) settings["gpu"] = confined.gpu!.name!;
    if (st["database_path"] !== undefined) settings["database_path"] = confined.databasePath;
    return { ...point, settings };
  }

  async prepare(rawSpec: JobSpec, dataset?: AsyncIterable<Uint8Array>): Promise<PreparedRemoteJob> {
    const spec = rawSpec === null || typeof rawSpec !== "object" ? rawSpec : await this.confine(rawSpec);
    if (spec?.sweep !== undefined) {
      const sweep = await prepareSweepJob(spec, {
        maxPoints: this.opts.maxSweepPoints ?? 10_000,
        limits: this.opts.limits,
        ...(dataset ? { datasetStream: dataset } : {}),
      });
      let simulatedTokens = 0;
      for (const key of sweep.keyOf.values()) simulatedTokens += workloadTokens(sweep.workloads.get(key)!.requests);
      return { name: spec.name, requestsTotal: 0, pointsTotal: sweep.plan.points.length, sweep, simulatedTokens };
    }
    // A large synthetic workload is generated and the spec validated on a worker thread: the event loop keeps serving.
    const offloaded =
      !dataset && syntheticTokens(spec) > OFFLOAD_ABOVE_TOKENS ? await resolveJobOffThread(spec, this.opts.limits, WORKER_ABOVE_TOKENS) : undefined;
    const job =
      offloaded && !offloaded.workload
        ? undefined
        : await resolveJob(spec, {
            limits: this.opts.limits,
            ...(dataset ? { datasetStream: dataset } : {}),
            ...(offloaded?.workload ? { workload: offloaded.workload } : {}),
          });
    const summary = job ? summarizeJob(job) : offloaded!.summary;
    this.checkIterationsLowerBound(summary);
    // A large job runs on a worker thread from its (confined) spec; the resolution here only validated it.
    const onWorker = !dataset && summary.simulatedTokens > WORKER_ABOVE_TOKENS ? spec : undefined;
    return {
      name: summary.name,
      requestsTotal: summary.requestsTotal,
      warnings: summary.warnings,
      job: onWorker ? undefined : job,
      ...(onWorker ? { spec: onWorker } : {}),
      estimatedResultBytes: 96 * summary.requestsTotal + 8 * summary.outputTokens,
      simulatedTokens: summary.simulatedTokens,
    } as PreparedRemoteJob;
  }

  /**
   * INVALID_ARGUMENT at submission when the job cannot finish within SERVESIM_MAX_JOB_ITERATIONS: a
   * request with N output tokens needs at least N iterations (N / (1 + draft length) with speculative
   * decoding), however the engine batches it.
   */
  private checkIterationsLowerBound(summary: JobSummary): void {
    const max = this.opts.maxIterations;
    if (max === undefined) return;
    const longest = summary.longestOutput;
    const perIteration = 1 + summary.maxDraftLen;
    const atLeast = Math.ceil(longest / perIteration);
    if (atLeast > max) {
      throw new InvalidArgumentError(
        "spec.workload",
        `a request of ${longest} output tokens needs at least ${atLeast} iterations, more than SERVESIM_MAX_JOB_ITERATIONS (${max}); simulate shorter outputs`,
      );
    }
  }

  /**
   * Runs a job, stopped with RESOURCE_EXHAUSTED (the job fails) once it has run more than
   * SERVESIM_MAX_JOB_ITERATIONS iterations: the limit is checked on every progress report and on the
   * finished run's count.
   */
  async run(prepared: PreparedRemoteJob, control: RunControl): Promise<JobRunOutput> {
    const max = this.opts.maxIterations;
    if (max === undefined) return this.runToEnd(prepared, control);
    const limit = new AbortController();
    let exceeded: ResourceExhaustedError | undefined;
    const over = (iterations: number) => {
      if (exceeded || iterations <= max) return;
      exceeded = new ResourceExhaustedError(
        `the job ran more than ${max} simulated iterations (SERVESIM_MAX_JOB_ITERATIONS) and was stopped; simulate fewer or shorter requests, or allow larger batches`,
      );
      limit.abort(exceeded);
    };
    const bounded: RunControl = {
      ...control,
      signal: AbortSignal.any([control.signal, limit.signal]),
      onProgress: (p) => {
        over(p.iterations);
        control.onProgress(p);
      },
    };
    let output: JobRunOutput;
    try {
      output = await this.runToEnd(prepared, bounded);
    } catch (err) {
      if (exceeded && !control.signal.aborted) throw exceeded;
      throw err;
    }
    over(output.result.numIterations);
    if (exceeded) throw exceeded;
    return output;
  }

  private async runToEnd(prepared: PreparedRemoteJob, control: RunControl): Promise<JobRunOutput> {
    if (prepared.sweep) return this.runSweep(prepared.sweep, control);
    if (prepared.spec) {
      return runOnWorker(
        prepared.spec,
        {
          limits: this.opts.limits,
          predictor: {
            address: this.opts.predictorAddress,
            deadlineMs: this.opts.predictorDeadlineMs,
            retries: this.opts.predictorRetries,
            ...(this.opts.predictorTls ? { tls: this.opts.predictorTls } : {}),
            ...(this.opts.predictorToken ? { token: this.opts.predictorToken } : {}),
          },
          progressEveryMs: this.opts.progressEveryMs ?? 100,
          logger: this.opts.logger,
        },
        control,
      );
    }
    if (!prepared.job) throw new Error("prepared job has neither a resolution nor a spec");
    const log = this.opts.logger.child({ job: control.id });
    // One predictor stream per engine configuration: a cluster job's pools are priced concurrently.
    const outcome = await runJob(
      prepared.job,
      (config) =>
        this.channels.open(config, {
          signal: control.signal,
          messageDeadlineMs: this.opts.predictorDeadlineMs,
          retries: this.opts.predictorRetries,
          onReconnect: ({ attempt, delayMs, error }) =>
            log.warn({ attempt, delayMs: Math.round(delayMs), code: error.codeName, details: error.details }, "predictor stream failed; reconnecting"),
        }),
      {
        signal: control.signal,
        onProgress: control.onProgress,
        progressEveryMs: this.opts.progressEveryMs ?? 100,
        collectIterations: true,
      },
    );
    return { result: toJobResult(outcome), requests: outcome.records, iterations: outcome.iterations ?? [] };
  }

  /** A sweep job: its points against the predictor service, a few at a time, one stream each. */
  private async runSweep(sweep: PreparedSweep, control: RunControl): Promise<JobRunOutput> {
    const log = this.opts.logger.child({ job: control.id });
    const total = sweep.plan.points.length;
    let iterations = 0;
    let simTimeMs = 0;
    const results = await runSweepJob(sweep, {
      parallelism: this.opts.sweepParallelism ?? 2,
      signal: control.signal,
      open: (config) =>
        this.channels.open(config, {
          signal: control.signal,
          messageDeadlineMs: this.opts.predictorDeadlineMs,
          retries: this.opts.predictorRetries,
          onReconnect: ({ attempt, delayMs, error }) =>
            log.warn({ attempt, delayMs: Math.round(delayMs), code: error.codeName, details: error.details }, "predictor stream failed; reconnecting"),
        }),
      onResult: (r, done) => {
        iterations += Number(r.row.metrics["iterations"] ?? 0);
        simTimeMs += 1000 * Number(r.row.metrics["simulated_s"] ?? 0);
        control.onProgress({ iterations, requestsFinished: 0, requestsTotal: 0, simTimeMs, warmingUp: false, pointsFinished: done, pointsTotal: total });
      },
    });
    const rows = results.map((r) => r.row);
    const withGoodput = sweep.plan.slos.length > 0;
    const { ranked, winner } = rankCandidates(rows, withGoodput);
    const failed = rows.filter((r) => r.status === "failed").length;
    const columns = [
      { key: "label", label: "point" },
      ...metricColumns(sweep.plan.percentiles, withGoodput).filter((c) =>
        ["output_tok_s_per_gpu", "output_tok_s_per_user", "ttft_avg_ms", "tpot_avg_ms", "request_goodput_per_gpu", "slo_met"].includes(c.key),
      ),
    ];
    const reportText =
      `[SIM] servesim sweep: ${total} points, ${total - failed} ran, ${failed} failed.\n` +
      (ranked.length > 0
        ? `\nbest ${Math.min(10, ranked.length)} by ${withGoodput ? "goodput per GPU (objectives met first)" : "output tokens/s per GPU"}:\n${textTable(ranked.slice(0, 10), columns)}\n`
        : "");
    const reportJson = `${JSON.stringify({ sweep: { points: total, succeeded: total - failed, failed, best: winner?.id ?? ranked[0]?.id ?? null } }, null, 4)}\n`;
    return {
      result: { reportJson, reportText, numRequests: total, numFailedRequests: failed, numIterations: iterations },
      requests: [],
      iterations: [],
      sweepRows: rows.map(rowToWire),
    };
  }

  close(): void {
    this.channels.close();
  }
}

/** Input + output tokens of a workload's requests. */
function workloadTokens(requests: ReadonlyArray<{ inputLength: number; outputTokens: number }>): number {
  let n = 0;
  for (const r of requests) n += r.inputLength + r.outputTokens;
  return n;
}
