import type { ClusterResult } from "@servesim/cluster";
import { type BatchPredictor, FailedPreconditionError } from "@servesim/core";
import type { IterationStats, RequestRecord, SimulationProgress, SimulationResult } from "@servesim/engine";
import { DraftTokensPredictor, runAttentionDp, runPipeline, runSimulation, Simulation, withHostDeviceTiming } from "@servesim/engine";
import type { ReportInput } from "@servesim/report";
import { buildReportJson, computeMetrics, type RunMetrics, renderReportJson, renderTextReport } from "@servesim/report";
import type { JobResult } from "@servesim/wire/scheduler";
import { type ConnectPredictor, runResolvedClusterJob } from "./cluster/runCluster.js";
import { reportInput } from "./reportInput.js";
import type { ResolvedJob } from "./resolveJob.js";

export interface RunJobOptions {
  /** Aborting stops the run at the next iteration with a CancelledError. */
  signal?: AbortSignal;
  onProgress?: (p: SimulationProgress) => void;
  /** Wall-clock interval between onProgress calls (default 250 ms); a final call is always made. */
  progressEveryMs?: number;
  /** Called with every measured iteration's stats. */
  onIteration?: (s: IterationStats) => void;
  /** Keep every measured iteration's stats in the outcome (the iteration log). */
  collectIterations?: boolean;
  /** runJob: close the predictors it opened at the end (default true; false when the caller shares them). */
  closePredictors?: boolean;
  /**
   * Cluster jobs: price the batches of independent instances concurrently (default true; the results are
   * the same, docs/cluster.md "Pricing"). false prices one group of instances at a time.
   */
  pipelinedCluster?: boolean;
}

/** Everything a finished job produced. */
export interface JobOutcome {
  result: SimulationResult;
  /** One per measured request, dataset order (= result.requests). */
  records: RequestRecord[];
  /** Measured iterations, when collectIterations was set. */
  iterations?: IterationStats[];
  metrics: RunMetrics;
  reportInput: ReportInput;
  /** trtllm-bench's text report with the [SIM] banner and SIMULATION DETAILS (rendered on first access). */
  readonly reportText: string;
  /** report.json as an object (render with JSON.stringify(…, null, 4) or reportJsonText). */
  readonly reportJson: Record<string, unknown>;
  /** report.json text, 4-space indented like trtllm-bench. */
  readonly reportJsonText: string;
  wallMs: number;
  /** Cluster jobs: per-instance and per-stage figures (the report's cluster section). */
  cluster?: ClusterResult;
}

/**
 * Runs a resolved job against a predictor (local or RemotePredictor): warm-up, then the measured
 * requests, then the metrics and reports. The records depend only on the job and the predictor's
 * times, so an embedded and a service run of the same job give identical records.
 */
export async function runResolvedJob(job: ResolvedJob, predictor: BatchPredictor, opts: RunJobOptions = {}): Promise<JobOutcome> {
  if (job.cluster) throw new FailedPreconditionError("a cluster job needs one predictor per pool: run it with runJob");
  const started = performance.now();
  const iterations: IterationStats[] | undefined = opts.collectIterations ? [] : undefined;
  const onIteration =
    iterations || opts.onIteration
      ? (s: IterationStats): void => {
          iterations?.push(s);
          opts.onIteration?.(s);
        }
      : undefined;
  const partitioned = {
    ...(job.warmup.length > 0 ? { warmup: job.warmup } : {}),
    ...(onIteration ? { onIteration } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.progressEveryMs !== undefined ? { progressEveryMs: opts.progressEveryMs } : {}),
  };
  const result =
    // Pipeline micro-batches (with or without attention DP in their stages) are timed on the device clock:
    // the host/device timing (per stage) is not applied to them yet.
    job.engine.ppSize > 1
      ? await runPipeline(job.engine, job.requests, predictor, partitioned)
      : (job.engine.attentionDpRanks ?? 1) > 1
        ? // Every rank's batch is priced together; the host/device timing takes the busiest rank's host.
          await runAttentionDp(job.engine, job.requests, withHostDeviceTiming(predictor, job.settings.timing), partitioned)
        : // The predictor prices device time; the engine profile's timing model makes it wall time.
          await runSimulation(
            new Simulation(job.engine, job.requests, {
              ...(job.warmup.length > 0 ? { warmup: job.warmup } : {}),
              ...(onIteration ? { onIteration } : {}),
            }),
            withHostDeviceTiming(
              job.engine.speculative ? new DraftTokensPredictor(predictor, job.engine.speculative.maxDraftLen) : predictor,
              job.settings.timing,
            ),
            {
              ...(opts.signal ? { signal: opts.signal } : {}),
              ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
              ...(opts.progressEveryMs !== undefined ? { progressEveryMs: opts.progressEveryMs } : {}),
            },
          );
  const wallMs = performance.now() - started;
  const input = reportInput(job, result, predictor.description, wallMs);
  const metrics = computeMetrics(result.requests, {
    worldSize: job.predictor.tp * job.predictor.pp,
    percentiles: job.report.percentiles,
    slos: job.report.slos,
  });
  // The reports are rendered on first use: a sweep point that only needs its metrics never pays for them.
  let text: string | undefined;
  let json: Record<string, unknown> | undefined;
  let jsonText: string | undefined;
  const outcome: JobOutcome = {
    result,
    records: result.requests,
    metrics,
    reportInput: input,
    get reportText() {
      return (text ??= renderTextReport(metrics, input));
    },
    get reportJson() {
      return (json ??= buildReportJson(metrics, input));
    },
    get reportJsonText() {
      return (jsonText ??= renderReportJson(metrics, input));
    },
    wallMs,
  };
  if (iterations) outcome.iterations = iterations;
  return outcome;
}

/** The JobResult summary of an outcome (what the scheduler service returns). */
export function toJobResult(o: JobOutcome): JobResult {
  return {
    reportJson: o.reportJsonText,
    reportText: o.reportText,
    numRequests: o.records.length,
    numFailedRequests: o.result.numFailed,
    numIterations: o.result.numIterations,
  };
}

/**
 * Runs any resolved job: a single engine against the predictor of its config, or a cluster with one
 * predictor per pool. `connect` opens a predictor for a config (createPredictor, RemotePredictor.connect,
 * a predictor-service stream); every predictor it opened is closed at the end.
 */
export async function runJob(job: ResolvedJob, connect: ConnectPredictor, opts: RunJobOptions = {}): Promise<JobOutcome> {
  if (job.cluster) return runResolvedClusterJob(job, job.cluster, connect, opts);
  const predictor = await connect(job.predictor.config);
  try {
    return await runResolvedJob(job, predictor, opts);
  } finally {
    if (opts.closePredictors !== false) await predictor.close?.();
  }
}
