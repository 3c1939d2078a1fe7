/** A worker thread resolving one job's workload (synthetic token generation is CPU-bound), packed for the way back. */
import { parentPort, workerData } from "node:worker_threads";
import { packWorkload, type RunnerLimits, resolveSharedWorkload } from "@servesim/runner";
import { JobSpec } from "@servesim/wire/scheduler";

const { spec, limits } = workerData as { spec: Uint8Array; limits: Partial<RunnerLimits> };
resolveSharedWorkload(JobSpec.decode(spec), { limits }).then(
  ({ workload }) => parentPort!.postMessage({ workload: packWorkload(workload) }),
  (e: unknown) =>
    parentPort!.postMessage({
      error:
        e instanceof Error
          ? { name: e.name, message: e.message, field: (e as { field?: string }).field, reason: (e as { reason?: string }).reason }
          : { name: "Error", message: String(e) },
    }),
);
