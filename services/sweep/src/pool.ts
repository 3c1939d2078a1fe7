import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { CancelledError } from "@servesim/core";
import { packWorkload, type ResolvedWorkload, type RunnerLimits, resolveSharedWorkload, sharedWorkloadKey, startWorker } from "@servesim/runner";
import { JobSpec } from "@servesim/wire/scheduler";
import { PredictorCache } from "./predictors.js";
import { failedRow } from "./row.js";
import { isPointError, type PointResult, runPoint } from "./runPoint.js";
import { pointSpec, type SweepPlan, type SweepPoint } from "./space.js";
import type { ToWorker, WorkerInit } from "./worker.js";

export interface LocalSweepOptions {
  /** Worker threads (default: one per core). 1 runs the points in this thread. */
  workers?: number;
  /** Ids of points already finished (a re-run skips them). */
  skip?: ReadonlySet<string>;
  /** Keep each point's report.json and text report. */
  reports?: boolean;
  signal?: AbortSignal;
  limits?: Partial<RunnerLimits>;
  /** Called with each point's result as it finishes (in completion order). */
  onResult?(r: PointResult, done: number, total: number): void;
}

/**
 * The workloads of a sweep, each resolved once: points share one unless they differ in what a resolution
 * depends on (the prefix-cache block size, and the model's vocabulary and context; sharedWorkloadKey).
 * Points whose model or workload cannot be resolved are returned as failed rows.
 */
export async function sharedWorkloads(
  plan: SweepPlan,
  points: readonly SweepPoint[],
  limits?: Partial<RunnerLimits>,
): Promise<{ workloads: Map<string, ResolvedWorkload>; keyOf: Map<string, string>; failed: PointResult[] }> {
  const workloads = new Map<string, ResolvedWorkload>();
  const failures = new Map<string, string>();
  const keyOf = new Map<string, string>();
  const failed: PointResult[] = [];
  for (const p of points) {
    const head = { id: p.id, index: p.index, label: p.label, settings: p.settings };
    const spec = JobSpec.fromPartial({ ...pointSpec(plan.base, p), workload: plan.base.workload });
    let key: string | undefined;
    try {
      key = sharedWorkloadKey(spec);
      if (!workloads.has(key) && !failures.has(key)) workloads.set(key, (await resolveSharedWorkload(spec, limits ? { limits } : {})).workload);
    } catch (e) {
      if (!isPointError(e)) throw e;
      if (key !== undefined) failures.set(key, e.message);
      failed.push({ row: failedRow(head, e.message) });
      continue;
    }
    const failure = failures.get(key);
    if (failure !== undefined) failed.push({ row: failedRow(head, failure) });
    else keyOf.set(p.id, key);
  }
  return { workloads, keyOf, failed };
}

/**
 * Runs a sweep's points on this machine: the workload is resolved once and shared with worker threads
 * (one per core by default) in SharedArrayBuffers; each thread runs one point at a time, the embedded
 * predictor in-process. Results come back in completion order; the returned list is in point order.
 */
export async function runSweepLocal(plan: SweepPlan, opts: LocalSweepOptions = {}): Promise<PointResult[]> {
  const todo = plan.points.filter((p) => !opts.skip?.has(p.id));
  const total = todo.length;
  const results: PointResult[] = [];
  let done = 0;
  const finish = (r: PointResult): void => {
    results.push(r);
    done++;
    opts.onResult?.(r, done, total);
  };
  const { workloads, keyOf, failed } = await sharedWorkloads(plan, todo, opts.limits);
  for (const f of failed) finish(f);
  const runnable = todo.filter((p) => keyOf.has(p.id));
  const withGoodput = plan.slos.length > 0;
  const threads = Math.max(1, Math.min(opts.workers ?? availableParallelism(), runnable.length));
  if (opts.signal?.aborted) throw new CancelledError("sweep cancelled");

  if (threads === 1) {
    const predictors = new PredictorCache();
    for (const p of runnable) {
      if (opts.signal?.aborted) throw new CancelledError("sweep cancelled");
      finish(
        await runPoint(plan.base, p, workloads.get(keyOf.get(p.id)!)!, (c) => predictors.get(c), {
          withGoodput,
          reports: opts.reports ?? false,
          ...(opts.signal ? { signal: opts.signal } : {}),
        }),
      );
    }
    return results.sort((a, b) => a.row.index - b.row.index);
  }

  const init: WorkerInit = {
    base: JobSpec.encode(plan.base).finish(),
    withGoodput,
    reports: opts.reports ?? false,
    workloads: Object.fromEntries([...workloads].map(([k, w]) => [k, packWorkload(w, true)])),
  };
  const queue = [...runnable];
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let running = 0;
      let settled = false;
      const fail = (e: Error): void => {
        if (!settled) {
          settled = true;
          reject(e);
        }
      };
      const onAbort = (): void => fail(new CancelledError("sweep cancelled"));
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      const feed = (w: Worker): void => {
        const p = queue.shift();
        if (p === undefined) {
          if (running === 0 && !settled) {
            settled = true;
            opts.signal?.removeEventListener("abort", onAbort);
            resolve();
          }
          return;
        }
        running++;
        w.postMessage({ point: p, workload: keyOf.get(p.id)! } satisfies ToWorker);
      };
      for (let i = 0; i < threads; i++) {
        const w = startWorker(import.meta.url, "worker.js", init);
        workers.push(w);
        w.on("message", (msg: { result?: PointResult; error?: string }) => {
          running--;
          if (msg.error !== undefined) return fail(new Error(`sweep worker: ${msg.error}`));
          finish(msg.result!);
          feed(w);
        });
        w.on("error", (e) => fail(e));
        w.on("exit", (code) => {
          if (code !== 0) fail(new Error(`sweep worker exited with code ${code}`));
        });
      }
      for (const w of workers) feed(w);
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results.sort((a, b) => a.row.index - b.row.index);
}
