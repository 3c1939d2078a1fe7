import { type PackedWorkload, type ResolvedWorkload, type RunnerLimits, startWorker, unpackWorkload } from "@servesim/runner";
import { JobSpec } from "@servesim/wire/scheduler";
import type { JobSummary } from "./jobSummary.js";
import { deserializeError, type SerializedError } from "./workerProtocol.js";

/** Synthetic workloads above this many tokens are generated on a worker thread (the event loop keeps answering health and other calls). */
export const OFFLOAD_ABOVE_TOKENS = 2_000_000;

/** Rough token count of a synthetic workload (means or upper bounds), 0 for other sources. */
export function syntheticTokens(spec: JobSpec): number {
  const s = spec.workload?.synthetic;
  if (!s) return 0;
  const perRequest = Math.max(s.inputMean + s.outputMean, (s.inputMax ?? 0) + (s.outputMax ?? 0)) + (s.randomPrefixLen ?? 0);
  return s.numRequests * (Number.isFinite(perRequest) ? perRequest : 0);
}

/** What a workload worker is started with. */
export interface WorkloadWorkerInit {
  spec: Uint8Array;
  limits: Partial<RunnerLimits>;
  /** Jobs above this many simulated tokens run on a run worker from their spec: their workload does not come back. */
  workloadBackUpToTokens: number;
}

export type FromWorkloadWorker = { summary: JobSummary; workload?: PackedWorkload } | { error: SerializedError };

/**
 * Validates and resolves a spec (its workload generated) on a worker thread: the summary always comes
 * back, the workload only when the job has at most `workloadBackUpToTokens` tokens (it then runs in
 * the scheduler's thread and is resolved there from this workload). A job larger than that runs on a
 * run worker from its spec, so nothing per request crosses to, or is unpacked or re-validated on, the
 * scheduler's event loop. Validation errors come back as the scheduler's error kinds (InvalidArgumentError naming the field).
 */
export function resolveJobOffThread(
  spec: JobSpec,
  limits: Partial<RunnerLimits>,
  workloadBackUpToTokens: number,
): Promise<{ summary: JobSummary; workload?: ResolvedWorkload }> {
  const init: WorkloadWorkerInit = { spec: JobSpec.encode(spec).finish(), limits, workloadBackUpToTokens };
  return new Promise((resolve, reject) => {
    const worker = startWorker(import.meta.url, "workloadWorker.js", init);
    worker.once("message", (m: FromWorkloadWorker) => {
      void worker.terminate();
      if ("error" in m) return reject(deserializeError(m.error));
      resolve({ summary: m.summary, ...(m.workload ? { workload: unpackWorkload(m.workload) } : {}) });
    });
    worker.once("error", (err) => reject(err));
  });
}
