/**
 * A worker thread validating and resolving one job's spec (synthetic token generation is CPU-bound):
 * answers with the job's summary, plus its workload packed when the job is small enough to run in the
 * scheduler's thread (see offloadWorkload.ts).
 */
import { parentPort, workerData } from "node:worker_threads";
import { packWorkload, resolveJob, resolveSharedWorkload } from "@servesim/runner";
import { JobSpec } from "@servesim/wire/scheduler";
import { summarizeJob } from "./jobSummary.js";
import type { FromWorkloadWorker, WorkloadWorkerInit } from "./offloadWorkload.js";
import { serializeError } from "./workerProtocol.js";

const init = workerData as WorkloadWorkerInit;
const post = (m: FromWorkloadWorker) => parentPort!.postMessage(m);

async function main(): Promise<void> {
  const spec = JobSpec.decode(init.spec);
  // The same two steps as the scheduler's thread takes with the workload that comes back (identical resolution).
  const { workload } = await resolveSharedWorkload(spec, { limits: init.limits });
  const summary = summarizeJob(await resolveJob(spec, { limits: init.limits, workload }));
  post(summary.simulatedTokens > init.workloadBackUpToTokens ? { summary } : { summary, workload: packWorkload(workload) });
}

main().catch((err: unknown) => post({ error: serializeError(err) }));
