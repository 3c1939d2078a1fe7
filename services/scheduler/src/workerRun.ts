import { type RunnerLimits, startWorker } from "@servesim/runner";
import type { ClientOptions } from "@servesim/wire";
import { JobSpec } from "@servesim/wire/scheduler";
import type { Logger } from "pino";
import type { JobRunOutput, RunControl } from "./jobExecutor.js";
import { deserializeError, type FromRunWorker, type RunWorkerInit } from "./workerProtocol.js";

/** Jobs above this many simulated tokens run on a worker thread (runWorker.ts); smaller ones in the scheduler's thread. */
export const WORKER_ABOVE_TOKENS = 1_000_000;

/**
 * Runs a job (its validated spec) on a worker thread against the predictor service: progress and
 * reconnects come back as messages, cancellation (control.signal) goes there as one.
 */
export function runOnWorker(
  spec: JobSpec,
  opts: { limits: Partial<RunnerLimits>; predictor: ClientOptions; progressEveryMs: number; logger: Logger },
  control: RunControl,
): Promise<JobRunOutput> {
  const init: RunWorkerInit = { spec: JobSpec.encode(spec).finish(), limits: opts.limits, predictor: opts.predictor, progressEveryMs: opts.progressEveryMs };
  const worker = startWorker(import.meta.url, "runWorker.js", init);
  const log = opts.logger.child({ job: control.id });
  const onAbort = () => {
    const reason = control.signal.reason;
    worker.postMessage({ cancel: reason instanceof Error ? reason.message : "cancelled" });
  };
  control.signal.addEventListener("abort", onAbort);
  return new Promise<JobRunOutput>((resolve, reject) => {
    worker.on("message", (m: FromRunWorker) => {
      if ("progress" in m) control.onProgress(m.progress);
      else if ("reconnect" in m) log.warn(m.reconnect, "predictor stream failed; reconnecting");
      else if ("output" in m) resolve(m.output);
      else reject(control.signal.aborted ? control.signal.reason : deserializeError(m.error));
    });
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`job worker exited (code ${code}) before answering`)));
  }).finally(() => {
    control.signal.removeEventListener("abort", onAbort);
    void worker.terminate();
  });
}
