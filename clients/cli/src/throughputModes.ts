import { CancelledError } from "../../../services/common/src/errors.js";
import type { BatchPredictor } from "../../../services/engine/src/simBatch.js";
import type { IterationStats, RequestRecord } from "../../../services/engine/src/types.js";
import { createPredictor } from "../../../services/perf/src/factory.js";
import { resolveJob, runResolvedJob } from "../../../services/runner/src/index.js";
import type { PredictorConfig } from "../../../gen/ts/servesim/v1/predictor.js";
import {
  JobState,
  type IterationRecord,
  type JobSpec,
  type RequestRecord as WireRequestRecord,
} from "../../../gen/ts/servesim/v1/scheduler.js";
import { RemotePredictor } from "../../ts/src/remotePredictor.js";
import { SchedulerClient } from "../../ts/src/schedulerClient.js";
import { CliError, EXIT_FAILURE } from "./cliError.js";
import type { ProgressDisplay } from "./progress.js";

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
  signal: AbortSignal;
  progress: ProgressDisplay;
  wantRequests: boolean;
  wantIterations: boolean;
}

/** Resolves the spec here and runs it against `predictor` (embedded and remote-predictor modes). */
async function runLocally(spec: JobSpec, ctx: RunContext, connect: (config: PredictorConfig) => Promise<BatchPredictor>): Promise<ThroughputResult> {
  const job = await resolveJob(spec);
  const predictor = await connect(job.predictor.config);
  try {
    const outcome = await runResolvedJob(job, predictor, {
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
  } finally {
    await predictor.close?.();
  }
}

/** Default mode: the runner and a predictor in this process. */
export function runEmbedded(spec: JobSpec, ctx: RunContext): Promise<ThroughputResult> {
  return runLocally(spec, ctx, (config) => createPredictor(config));
}

/** --predictor-address: the runner here, every batch priced by the predictor service. */
export function runWithRemotePredictor(spec: JobSpec, address: string, ctx: RunContext): Promise<ThroughputResult> {
  return runLocally(spec, ctx, (config) => RemotePredictor.connect({ address, config, signal: ctx.signal }));
}

/** A wire request record in engine form (what the report writers take). */
export function fromWireRequest(r: WireRequestRecord): RequestRecord {
  const rec: RequestRecord = {
    taskId: r.taskId,
    inputLength: r.inputLength,
    outputLength: r.outputLength,
    startMs: r.startMs,
    firstTokenMs: r.firstTokenMs,
    endMs: r.endMs,
    ttftMs: r.ttftMs,
    tpotMs: r.tpotMs,
    e2eMs: r.e2eMs,
    tokenTimesMs: Float64Array.from(r.tokenTimesMs),
    pausedCount: r.pausedCount,
    reusedTokens: r.reusedTokens,
  };
  if (r.error) rec.error = r.error;
  return rec;
}

/** A wire iteration record in engine form. */
export function fromWireIteration(r: IterationRecord): IterationStats {
  const b = r.inflightBatchingStats;
  const k = r.kvCacheStats;
  return {
    iter: r.iter,
    iterLatencyMS: r.iterLatencyMs,
    simTimeMs: r.simTimeMs,
    numActiveRequests: r.numActiveRequests,
    numQueuedRequests: r.numQueuedRequests,
    numCompletedRequests: r.numCompletedRequests,
    numNewActiveRequests: r.numNewActiveRequests,
    maxNumActiveRequests: r.maxNumActiveRequests,
    inflightBatchingStats: {
      numScheduledRequests: b?.numScheduledRequests ?? 0,
      numContextRequests: b?.numContextRequests ?? 0,
      numCtxTokens: b?.numCtxTokens ?? 0,
      numGenRequests: b?.numGenRequests ?? 0,
      numPausedRequests: b?.numPausedRequests ?? 0,
    },
    kvCacheStats: {
      maxNumBlocks: k?.maxNumBlocks ?? 0,
      freeNumBlocks: k?.freeNumBlocks ?? 0,
      usedNumBlocks: k?.usedNumBlocks ?? 0,
      tokensPerBlock: k?.tokensPerBlock ?? 0,
      allocTotalBlocks: k?.allocTotalBlocks ?? 0,
      allocNewBlocks: k?.allocNewBlocks ?? 0,
      reusedBlocks: k?.reusedBlocks ?? 0,
      missedBlocks: k?.missedBlocks ?? 0,
      cacheHitRate: k?.cacheHitRate ?? 0,
    },
  };
}

/**
 * --scheduler-address: submits the job, follows it with WatchJob (progress bar), cancels it when the
 * signal aborts (Ctrl-C), then reads the report, records and iterations with GetResult.
 */
export async function runOnScheduler(spec: JobSpec, address: string, ctx: RunContext, onSubmitted?: (id: string) => void): Promise<ThroughputResult> {
  const client = new SchedulerClient({ address });
  try {
    const submitted = await client.submitJob(spec, { signal: ctx.signal });
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
      records: out.requests.map(fromWireRequest),
      iterations: out.iterations.map(fromWireIteration),
      warnings: submitted.warnings,
    };
  } finally {
    client.close();
  }
}
