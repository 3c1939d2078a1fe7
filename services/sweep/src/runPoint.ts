import { type BatchPredictor, CancelledError, FailedPreconditionError, InvalidArgumentError, NotFoundError, ResourceExhaustedError } from "@servesim/core";
import { type ResolvedWorkload, resolveJob, runJob } from "@servesim/runner";
import type { PredictorConfig } from "@servesim/wire/predictor";
import type { JobSpec } from "@servesim/wire/scheduler";
import { failedRow, rowOfOutcome, type SweepRow } from "./row.js";
import type { SweepPoint } from "./space.js";
import { pointSpec } from "./space.js";
import { topology } from "./topologies.js";

/** What a point's run can hand back besides its row. */
export interface PointReports {
  reportJsonText: string;
  reportText: string;
}

export interface PointResult {
  row: SweepRow;
  reports?: PointReports;
}

export type PredictorFactory = (config: PredictorConfig) => Promise<BatchPredictor>;

/** Errors that describe the point (its settings cannot run), not the sweep: the point fails, the sweep goes on. */
export const isPointError = (e: unknown): e is Error =>
  e instanceof InvalidArgumentError || e instanceof FailedPreconditionError || e instanceof ResourceExhaustedError || e instanceof NotFoundError;

/**
 * Runs one point against the shared workload: resolve (the point's settings over the base), simulate,
 * compute its row. A point whose settings cannot run (a model that does not fit, a batch budget below
 * the longest prompt, ...) gives a failed row with the reason; anything else is thrown.
 */
export async function runPoint(
  base: JobSpec,
  point: SweepPoint,
  workload: ResolvedWorkload,
  predictorFor: PredictorFactory,
  opts: { withGoodput: boolean; reports?: boolean; signal?: AbortSignal },
): Promise<PointResult> {
  const head = { id: point.id, index: point.index, label: point.label, settings: point.settings };
  const spec = pointSpec(base, point);
  try {
    const job = await resolveJob(spec, { workload });
    // Predictors are shared between points (PredictorCache): runJob leaves them open.
    const outcome = await runJob(job, predictorFor, { closePredictors: false, ...(opts.signal ? { signal: opts.signal } : {}) });
    const gpus = job.cluster ? job.cluster.totalGpus : topology(String(point.settings["topology"] ?? "aggregated"))!.gpusPerInstance(spec);
    const row = rowOfOutcome(head, outcome, gpus, opts.withGoodput);
    return opts.reports ? { row, reports: { reportJsonText: outcome.reportJsonText, reportText: outcome.reportText } } : { row };
  } catch (e) {
    if (e instanceof CancelledError) throw e;
    if (isPointError(e)) return { row: failedRow(head, e.message) };
    throw e;
  }
}
