import { InvalidArgumentError } from "@servesim/core";
import type { CallContext } from "@servesim/server-common";
import type { SubmitJobRequest, SubmitJobResponse } from "@servesim/wire/scheduler";
import type { SchedulerDeps } from "./deps.js";

/** SubmitJob: validates and queues a job (the pipeline already answered a request the guarded decoder marked). */
export async function submitJob(deps: SchedulerDeps, req: SubmitJobRequest, ctx: CallContext): Promise<SubmitJobResponse> {
  if (req.spec?.workload?.dataset?.streamed === true) {
    throw new InvalidArgumentError("spec.workload.dataset.streamed", "a streamed dataset is sent with SubmitJobStream (its bytes follow the job)");
  }
  return { job: await deps.manager.submit(req.spec, req.requestId, undefined, ctx.principal.tenant, ctx.principal.claims) };
}
