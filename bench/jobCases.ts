/**
 * Cases A–E: one job spec simulated in the three modes of `servesim throughput` (embedded, with
 * --predictor-address, with --scheduler-address), through the same functions the CLI calls, in this
 * process (no dataset file, no process start-up). Each repetition also times the job's parts
 * (resolve, simulate, metrics + reports) so the totals can be read.
 */

import { ProgressDisplay, type RunContext, runEmbedded, runOnScheduler, runWithRemotePredictor } from "@servesim/cli";
import type { BatchPredictor } from "@servesim/core";
import type { SimulationResult } from "@servesim/engine";
import { runAttentionDp, runPipeline, runSimulation, Simulation } from "@servesim/engine";
import { createPredictor } from "@servesim/perf";
import { computeMetrics, renderReportJson, renderTextReport } from "@servesim/report";
import { RemotePredictor, type ResolvedJob, reportInput, resolveJob, runJob } from "@servesim/runner";
import type { JobSpec } from "@servesim/wire/scheduler";
import { collectGarbage, type Sample, timed } from "./measure.js";

const quietIo = { stdout: { write: () => true }, stderr: { write: () => true, isTTY: false } };

function context(): RunContext {
  return { signal: new AbortController().signal, progress: new ProgressDisplay(quietIo, true), wantRequests: false, wantIterations: false };
}

/** num_iterations from a report.json text. */
function reportedIterations(reportJsonText: string): number {
  const m = /"num_iterations":\s*(\d+)/.exec(reportJsonText);
  return m ? Number(m[1]) : Number.NaN;
}

export interface SimulateOptions {
  decodeRuns?: boolean;
  maxInFlight?: number;
}

/** Engine + predictor only: the measured requests' records (warm-up included, as in a job). */
export async function simulate(job: ResolvedJob, predictor: BatchPredictor, opts: SimulateOptions = {}): Promise<SimulationResult> {
  if (job.engine.ppSize > 1) {
    return runPipeline(job.engine, job.requests, predictor, job.warmup.length > 0 ? { warmup: job.warmup } : {});
  }
  if ((job.engine.attentionDpRanks ?? 1) > 1) {
    return runAttentionDp(job.engine, job.requests, predictor, {
      ...(job.warmup.length > 0 ? { warmup: job.warmup } : {}),
      ...(opts.decodeRuns !== undefined ? { decodeRuns: opts.decodeRuns } : {}),
    });
  }
  const sim = new Simulation(job.engine, job.requests, job.warmup.length > 0 ? { warmup: job.warmup } : {});
  return runSimulation(sim, predictor, {
    ...(opts.decodeRuns !== undefined ? { decodeRuns: opts.decodeRuns } : {}),
    ...(opts.maxInFlight !== undefined ? { maxInFlight: opts.maxInFlight } : {}),
  });
}

/** What runResolvedJob does after the simulation: metrics, text report and report.json. */
export function reportOf(job: ResolvedJob, result: SimulationResult, description: string): void {
  const input = reportInput(job, result, description, 0);
  const metrics = computeMetrics(result.requests, { worldSize: job.predictor.tp * job.predictor.pp });
  renderTextReport(metrics, input);
  renderReportJson(metrics, input);
}

/** A (and E, and the 40k linearity check): the embedded job, then its parts. */
export async function embeddedSample(spec: JobSpec, parts: { report: boolean; plain: boolean }): Promise<Sample> {
  const sample: Sample = {};
  collectGarbage();
  const total = await timed(() => runEmbedded(spec, context()));
  sample.totalMs = total.ms;
  sample.iterations = reportedIterations(total.value.reportJsonText);
  collectGarbage();
  const resolved = await timed(() => resolveJob(spec));
  sample.resolveMs = resolved.ms;
  const job = resolved.value;
  const predictor = await createPredictor(job.predictor.config);
  const sim = await timed(() => simulate(job, predictor));
  sample.simMs = sim.ms;
  sample.iterations = sim.value.numIterations;
  if (parts.report) {
    sample.reportMs = (await timed(() => reportOf(job, sim.value, predictor.description))).ms;
  }
  if (parts.plain) {
    collectGarbage();
    sample.plainSimMs = (await timed(() => simulate(job, predictor, { decodeRuns: false }))).ms;
  }
  return sample;
}

/** B: the job with the predictor service over loopback gRPC, then the simulation alone. */
export async function remotePredictorSample(spec: JobSpec, job: ResolvedJob, address: string, variants: boolean): Promise<Sample> {
  const sample: Sample = {};
  collectGarbage();
  const total = await timed(() => runWithRemotePredictor(spec, address, context()));
  sample.totalMs = total.ms;
  sample.iterations = reportedIterations(total.value.reportJsonText);
  const simWith = async (opts: SimulateOptions) => {
    const predictor = await RemotePredictor.connect({ address, config: job.predictor.config });
    try {
      return await timed(() => simulate(job, predictor, opts));
    } finally {
      await predictor.close();
    }
  };
  collectGarbage();
  const sim = await simWith({});
  sample.simMs = sim.ms;
  if (variants) {
    // The plain remote path: every iteration priced and awaited in turn.
    collectGarbage();
    sample.pingPongSimMs = (await simWith({ decodeRuns: false, maxInFlight: 1 })).ms;
  }
  return sample;
}

/** C: the job submitted to the scheduler service (which prices batches with the predictor service). */
export async function schedulerSample(spec: JobSpec, address: string): Promise<Sample> {
  collectGarbage();
  const total = await timed(() => runOnScheduler(spec, address, context()));
  return { totalMs: total.ms, iterations: reportedIterations(total.value.reportJsonText) };
}

/** D: resolve once, then the simulation (engine + embedded predictor) per repetition. */
export async function largeSimulationSample(job: ResolvedJob, report: boolean): Promise<Sample> {
  collectGarbage();
  const predictor = await createPredictor(job.predictor.config);
  const sim = await timed(() => simulate(job, predictor));
  const sample: Sample = { simMs: sim.ms, iterations: sim.value.numIterations };
  if (report) sample.reportMs = (await timed(() => reportOf(job, sim.value, predictor.description))).ms;
  return sample;
}

/** K: a cluster job, embedded (resolve, the cluster simulation, metrics + reports with the cluster section). */
export async function clusterSample(spec: JobSpec): Promise<Sample> {
  const sample: Sample = {};
  collectGarbage();
  const resolved = await timed(() => resolveJob(spec));
  sample.resolveMs = resolved.ms;
  const job = resolved.value;
  const run = await timed(() => runJob(job, (config) => createPredictor(config)));
  sample.simMs = run.ms;
  sample.iterations = run.value.result.numIterations;
  sample.reportMs = (await timed(() => [run.value.reportText, run.value.reportJsonText])).ms;
  sample.totalMs = sample.resolveMs + sample.simMs + sample.reportMs;
  return sample;
}
