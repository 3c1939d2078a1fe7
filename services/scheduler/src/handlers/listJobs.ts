import { InvalidArgumentError } from "@servesim/core";
import type { CallContext } from "@servesim/server-common";
import { JobState, type ListJobsRequest, type ListJobsResponse } from "@servesim/wire/scheduler";
import type { SchedulerDeps } from "./deps.js";

const KNOWN_STATES = new Set(Object.values(JobState).filter((v): v is JobState => typeof v === "number" && v >= 0));

function checkStates(states: readonly JobState[]): void {
  states.forEach((s, i) => {
    if (!KNOWN_STATES.has(s) || s === JobState.JOB_STATE_UNSPECIFIED) {
      throw new InvalidArgumentError(`states[${i}]`, `unknown job state ${String(s)}`);
    }
  });
}

/** ListJobs: the caller's jobs (in the given states), oldest first, at most SERVESIM_MAX_LIST_JOBS. */
export async function listJobs(deps: SchedulerDeps, req: ListJobsRequest, ctx: CallContext): Promise<ListJobsResponse> {
  checkStates(req.states);
  return { jobs: await deps.manager.list(req.states, ctx.principal.tenant, deps.maxListJobs) };
}
