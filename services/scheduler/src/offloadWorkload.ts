import { InvalidArgumentError } from "@servesim/core";
import { type PackedWorkload, type ResolvedWorkload, type RunnerLimits, startWorker, unpackWorkload } from "@servesim/runner";
import { JobSpec } from "@servesim/wire/scheduler";

/** Synthetic workloads above this many tokens are generated on a worker thread (the event loop keeps answering health and other calls). */
export const OFFLOAD_ABOVE_TOKENS = 2_000_000;

/** Rough token count of a synthetic workload (means or upper bounds), 0 for other sources. */
export function syntheticTokens(spec: JobSpec): number {
  const s = spec.workload?.synthetic;
  if (!s) return 0;
  const perRequest = Math.max(s.inputMean + s.outputMean, (s.inputMax ?? 0) + (s.outputMax ?? 0)) + (s.randomPrefixLen ?? 0);
  return s.numRequests * (Number.isFinite(perRequest) ? perRequest : 0);
}

/** Resolves a spec's workload on a worker thread; validation errors come back as InvalidArgumentError naming the field. */
export function resolveWorkloadOffThread(spec: JobSpec, limits: Partial<RunnerLimits>): Promise<ResolvedWorkload> {
  return new Promise((resolve, reject) => {
    const worker = startWorker(import.meta.url, "workloadWorker.js", { spec: JobSpec.encode(spec).finish(), limits });
    worker.once("message", (m: { workload?: PackedWorkload; error?: { name: string; message: string; field?: string; reason?: string } }) => {
      void worker.terminate();
      if (m.workload) return resolve(unpackWorkload(m.workload));
      const e = m.error!;
      reject(e.name === "InvalidArgumentError" && e.field !== undefined ? new InvalidArgumentError(e.field, e.reason ?? e.message) : new Error(e.message));
    });
    worker.once("error", (err) => reject(err));
  });
}
