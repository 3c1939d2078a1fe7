import type { CallContext } from "@servesim/server-common";
import type { GetJobRequest, GetJobResponse } from "@servesim/wire/scheduler";
import type { SchedulerDeps } from "./deps.js";

/** GetJob: the caller's job as it is now. */
export async function getJob(deps: SchedulerDeps, req: GetJobRequest, ctx: CallContext): Promise<GetJobResponse> {
  return { job: await deps.manager.get(req.id, ctx.principal.tenant) };
}
