import type { CallContext } from "@servesim/server-common";
import type { CancelJobRequest, CancelJobResponse } from "@servesim/wire/scheduler";
import type { SchedulerDeps } from "./deps.js";

/** CancelJob: a queued job at once, a running one at its next iteration (waited for briefly). */
export async function cancelJob(deps: SchedulerDeps, req: CancelJobRequest, ctx: CallContext): Promise<CancelJobResponse> {
  return { job: await deps.manager.cancel(req.id, undefined, ctx.principal.tenant) };
}
