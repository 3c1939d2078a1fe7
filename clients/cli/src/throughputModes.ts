import { status as Status } from "@grpc/grpc-js";
import type { SchedulerClient } from "@servesim/client";
import type { BatchPredictor } from "@servesim/core";
import { CancelledError } from "@servesim/core";
import type { IterationStats, RequestRecord } from "@servesim/engine";
import { createPredictor } from "@servesim/perf";
import { RemotePredictor, type ResolvedWorkload, resolveJob, resolveSharedWorkload, runJob } from "@servesim/runner";
import { iterationFromWire, requestFromWire, ServesimError } from "@servesim/wire";
import type { PredictorConfig } from "@servesim/wire/predictor";
import { type Job, type JobSpec, JobState } from "@servesim/wire/scheduler";
import { CliError, EXIT_FAILURE } from "./cliError.js";
import { connectionOptions } from "./connection.js";
import type { DatasetFile } from "./datasetFile.js";
import type { ProgressDisplay } from "./progress.js";
import { reaching } from "./unreachable.js";

/** What every mode hands back to the throughput command. */
export interface ThroughputResult {
  reportText: string;
  /** report.json text (4-space indent). */
  reportJsonText: string;
  records: RequestRecord[];
  iterations: IterationStats[];
  /** Non-fatal remarks from resolving the job (here, or by the scheduler at submission: Job.warnings). */
  warnings: string[];
}

export interface RunContext {
  /** The dataset file of a spec whose dataset is streamed. */
  dataset?: DatasetFile;
  signal: AbortSignal;
  progress: ProgressDisplay;
  wantRequests: boolean;
  wantIterations: boolean;
  /** The dataset, parsed by an earlier run (the CLI's cache); the spec then carries no text. */
  workload?: ResolvedWorkload;
  /** Called with a dataset this run parsed in full, to keep for the next run. */
  onParsed?: (w: ResolvedWorkload) => void;
}

/** Resolves the spec here and runs it against `predictor` (embedded and remote-predictor modes). */
async function runLocally(spec: JobSpec, ctx: RunContext, connect: (config: PredictorConfig) => Promise<BatchPredictor>): Promise<ThroughputResult> {
  let workload = ctx.workload;
  if (workload === undefined && ctx.onParsed && spec.workload?.dataset && !spec.engine?.numRequests) {
    workload = (await resolveSharedWorkload(spec, ctx.dataset ? { datasetStream: ctx.dataset.open() } : {})).workload;
    ctx.onParsed(workload);
  }
  const job = await resolveJob(spec, workload ? { workload } : ctx.dataset ? { datasetStream: ctx.dataset.open() } : {});
  const outcome = await runJob(job, connect, {
    signal: ctx.signal,
    onProgress: (p) => ctx.progress.update(p),
    collectIterations: ctx.wantIterations,
  });
  return {
    reportText: outcome.reportText,
    reportJsonText: outcome.reportJsonText,
    records: outcome.records,
    iterations: outcome.iterations ?? [],
    warnings: job.warnings,
  };
}

/** Default mode: the runner and a predictor in this process. */
export function runEmbedded(spec: JobSpec, ctx: RunContext): Promise<ThroughputResult> {
  return runLocally(spec, ctx, (config) => createPredictor(config));
}

/** --predictor-address: the runner here, every batch priced by the predictor service. */
export function runWithRemotePredictor(spec: JobSpec, address: string, ctx: RunContext): Promise<ThroughputResult> {
  return reaching("predictor", address, () =>
    runLocally(spec, ctx, (config) => RemotePredictor.connect({ address, config, signal: ctx.signal, ...connectionOptions() })),
  );
}

/**
 * Submits the job: a streamed dataset with SubmitJobStream, or, to a scheduler that predates it
 * (UNIMPLEMENTED), inline in SubmitJob when it fits in one message.
 */
async function submit(client: SchedulerClient, spec: JobSpec, ctx: RunContext): Promise<Job> {
  const ds = ctx.dataset;
  if (!ds || !spec.workload?.dataset?.streamed) return client.submitJob(spec, { signal: ctx.signal });
  try {
    return await client.submitJobStream(spec, () => ds.open(), { signal: ctx.signal });
  } catch (err) {
    if (!(err instanceof ServesimError) || err.code !== Status.UNIMPLEMENTED) throw err;
  }
  const content = await ds.readAll();
  if (content.length > INLINE_LIMIT_BYTES) {
    throw new CliError(
      `--dataset ${ds.path}: the scheduler does not take streamed datasets (SubmitJobStream) and the file is larger than one message (${INLINE_LIMIT_BYTES} bytes)`,
    );
  }
  const dataset = { ...spec.workload.dataset, streamed: false, content };
  return client.submitJob({ ...spec, workload: { dataset } }, { signal: ctx.signal });
}

/** Largest dataset sent inline to an old scheduler (its default message size is 64 MiB). */
const INLINE_LIMIT_BYTES = 60 * 1024 * 1024;

/**
 * --scheduler-address: submits the job, follows it with WatchJob (progress bar), cancels it when the
 * signal aborts (Ctrl-C), then reads the report, records and iterations with GetResult.
 */
export function runOnScheduler(spec: JobSpec, address: string, ctx: RunContext, onSubmitted?: (id: string) => void): Promise<ThroughputResult> {
  return reaching("scheduler", address, () => runJobOnScheduler(spec, address, ctx, onSubmitted));
}

async function runJobOnScheduler(spec: JobSpec, address: string, ctx: RunContext, onSubmitted?: (id: string) => void): Promise<ThroughputResult> {
  // Loaded here: the local modes never need the scheduler's client.
  const { SchedulerClient } = await import("@servesim/client");
  const client = new SchedulerClient({ address, ...connectionOptions() });
  try {
    const submitted = await submit(client, spec, ctx);
    const id = submitted.id;
    onSubmitted?.(id);
    let final = submitted;
    try {
      for await (const event of client.watchJob(id, { signal: ctx.signal, minIntervalMs: 200 })) {
        if (!event.job) continue;
        final = event.job;
        const p = event.job.progress;
        if (p) ctx.progress.update(p);
      }
    } catch (err) {
      if (!ctx.signal.aborted) throw err;
      await client.cancelJob(id).catch(() => undefined);
      throw new CancelledError(`job ${id} cancelled`);
    }
    if (final.state === JobState.JOB_STATE_CANCELLED) throw new CancelledError(`job ${id} was cancelled${final.error ? `: ${final.error}` : ""}`);
    if (final.state !== JobState.JOB_STATE_SUCCEEDED) {
      throw new CliError(`job ${id} failed${final.error ? `: ${final.error}` : ""}`, EXIT_FAILURE);
    }
    const out = await client.getResult(id, {
      includeRequests: ctx.wantRequests,
      includeIterations: ctx.wantIterations,
      signal: ctx.signal,
    });
    return {
      reportText: out.result.reportText,
      reportJsonText: out.result.reportJson.endsWith("\n") ? out.result.reportJson : `${out.result.reportJson}\n`,
      records: out.requests.map(requestFromWire),
      iterations: out.iterations.map(iterationFromWire),
      warnings: submitted.warnings,
    };
  } finally {
    client.close();
  }
}
