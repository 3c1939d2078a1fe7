/**
 * A worker thread running one job: resolves its spec (the workload generated here), opens its own
 * PredictStream and drives the engine, so the scheduler's event loop keeps answering health checks and
 * other calls while a large job builds, runs and assembles its report. Talks to the scheduler by messages
 * (see workerRun.ts).
 */
import { parentPort, workerData } from "node:worker_threads";
import { PredictorChannels, resolveJob, runJob, toJobResult } from "@servesim/runner";
import { JobSpec } from "@servesim/wire/scheduler";
import { type FromRunWorker, type RunWorkerInit, serializeError } from "./workerProtocol.js";

const init = workerData as RunWorkerInit;
const controller = new AbortController();
const post = (m: FromRunWorker) => parentPort!.postMessage(m);
parentPort!.on("message", (m: { cancel?: string }) => {
  if (m.cancel !== undefined) controller.abort(new Error(m.cancel));
});

async function main(): Promise<void> {
  const job = await resolveJob(JobSpec.decode(init.spec), { limits: init.limits });
  const channels = new PredictorChannels(init.predictor);
  try {
    // One predictor stream per engine configuration (a cluster job has one per pool).
    const outcome = await runJob(
      job,
      (config) =>
        channels.open(config, {
          signal: controller.signal,
          messageDeadlineMs: init.predictor.deadlineMs ?? 30_000,
          retries: init.predictor.retries ?? 0,
          onReconnect: ({ attempt, delayMs, error }) =>
            post({ reconnect: { attempt, delayMs: Math.round(delayMs), code: error.codeName, details: error.details } }),
        }),
      {
        signal: controller.signal,
        onProgress: (p) => post({ progress: p }),
        progressEveryMs: init.progressEveryMs,
        collectIterations: true,
      },
    );
    post({ output: { result: toJobResult(outcome), requests: outcome.records, iterations: outcome.iterations ?? [] } });
  } finally {
    channels.close();
  }
}

main().catch((err: unknown) => post({ error: serializeError(err) }));
