/**
 * A sweep as one job of the scheduler service: the spec's points validated at submission, the
 * workload resolved once, the points run with a bounded number at a time against the predictor service.
 */
import { type BatchPredictor, checkPercentiles, DEFAULT_PERCENTILES, InvalidArgumentError } from "@servesim/core";
import { type ResolvedReport, type ResolvedWorkload, type RunnerLimits, resolveReportOptions } from "@servesim/runner";
import type { PredictorConfig } from "@servesim/wire/predictor";
import { JobSpec } from "@servesim/wire/scheduler";
import { sharedWorkloads } from "./pool.js";
import { type PointResult, runPoint } from "./runPoint.js";
import type { SweepPlan } from "./space.js";
import { pointFromWire } from "./wire.js";

export interface PreparedSweep {
  plan: SweepPlan;
  report: ResolvedReport;
  workloads: Map<string, ResolvedWorkload>;
  keyOf: Map<string, string>;
  /** Points that failed already at submission (their model could not be resolved). */
  failed: PointResult[];
}

/** Validates a sweep job's spec and resolves its workload(s); bad input throws InvalidArgumentError naming the field. */
export async function prepareSweepJob(
  spec: JobSpec,
  opts: { maxPoints: number; limits?: Partial<RunnerLimits>; datasetStream?: AsyncIterable<Uint8Array> },
): Promise<PreparedSweep> {
  const wire = spec.sweep?.points ?? [];
  if (wire.length === 0) throw new InvalidArgumentError("spec.sweep.points", "a sweep needs at least one point");
  if (wire.length > opts.maxPoints) throw new InvalidArgumentError("spec.sweep.points", `${wire.length} points exceed the limit of ${opts.maxPoints}`);
  const points = wire.map((p, i) => pointFromWire(p, i, `spec.sweep.points[${i}]`));
  const ids = new Set<string>();
  points.forEach((p, i) => {
    if (ids.has(p.id)) throw new InvalidArgumentError(`spec.sweep.points[${i}].id`, `repeats ${JSON.stringify(p.id)}`);
    ids.add(p.id);
  });
  const report = resolveReportOptions(spec.report);
  const base = JobSpec.fromPartial({ ...spec, sweep: undefined });
  const plan: SweepPlan = {
    name: spec.name,
    base,
    points,
    varied: [],
    slos: report.slos,
    percentiles: checkPercentiles(report.percentiles.length > 0 ? report.percentiles : DEFAULT_PERCENTILES),
  };
  if (opts.datasetStream) {
    // A streamed dataset is read once, here, and kept as the spec's content for every point.
    const chunks: Uint8Array[] = [];
    for await (const c of opts.datasetStream) chunks.push(c);
    plan.base.workload = { ...plan.base.workload, dataset: { ...plan.base.workload!.dataset!, streamed: false, content: Buffer.concat(chunks) } };
  }
  const { workloads, keyOf, failed } = await sharedWorkloads(plan, points, opts.limits);
  return { plan, report, workloads, keyOf, failed };
}

export interface SweepRunOptions {
  /** Points at once. */
  parallelism: number;
  /** A predictor for one point; closed when the point is done. */
  open(config: PredictorConfig): Promise<BatchPredictor & { close?(): unknown }>;
  signal?: AbortSignal;
  onResult?(r: PointResult, done: number, total: number): void;
}

/** Runs a prepared sweep job's points; results in point order. */
export async function runSweepJob(p: PreparedSweep, opts: SweepRunOptions): Promise<PointResult[]> {
  const results: PointResult[] = [];
  const total = p.plan.points.length;
  const finish = (r: PointResult): void => {
    results.push(r);
    opts.onResult?.(r, results.length, total);
  };
  for (const f of p.failed) finish(f);
  const queue = p.plan.points.filter((x) => p.keyOf.has(x.id));
  const withGoodput = p.plan.slos.length > 0;
  const lane = async (): Promise<void> => {
    for (let point = queue.shift(); point !== undefined; point = queue.shift()) {
      const opened: (BatchPredictor & { close?(): unknown })[] = [];
      try {
        finish(
          await runPoint(
            p.plan.base,
            point,
            p.workloads.get(p.keyOf.get(point.id)!)!,
            async (config) => {
              const predictor = await opts.open(config);
              opened.push(predictor);
              return predictor;
            },
            { withGoodput, ...(opts.signal ? { signal: opts.signal } : {}) },
          ),
        );
      } finally {
        for (const o of opened) await o.close?.();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.parallelism, queue.length)) }, lane));
  return results.sort((a, b) => a.row.index - b.row.index);
}
