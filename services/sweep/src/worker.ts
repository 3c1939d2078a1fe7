/** A sweep worker thread: runs the points it is sent against the workloads the pool shared with it. */
import { parentPort, workerData } from "node:worker_threads";
import { type PackedWorkload, type ResolvedWorkload, unpackWorkload } from "@servesim/runner";
import { JobSpec } from "@servesim/wire/scheduler";
import { PredictorCache } from "./predictors.js";
import { runPoint } from "./runPoint.js";
import type { SweepPoint } from "./space.js";

export interface WorkerInit {
  base: Uint8Array;
  withGoodput: boolean;
  reports: boolean;
  workloads: Record<string, PackedWorkload>;
}

export type ToWorker = { point: SweepPoint; workload: string };

const init = workerData as WorkerInit;
const base = JobSpec.decode(init.base);
const workloads = new Map<string, ResolvedWorkload>();
const predictors = new PredictorCache();

parentPort!.on("message", (msg: ToWorker) => {
  let w = workloads.get(msg.workload);
  if (w === undefined) {
    w = unpackWorkload(init.workloads[msg.workload]!);
    workloads.set(msg.workload, w);
  }
  runPoint(base, msg.point, w, (c) => predictors.get(c), { withGoodput: init.withGoodput, reports: init.reports }).then(
    (result) => parentPort!.postMessage({ result }),
    (e: unknown) => parentPort!.postMessage({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }),
  );
});
