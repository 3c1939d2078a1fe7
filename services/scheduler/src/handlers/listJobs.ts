import { InvalidArgumentError } from "@servesim/core";
import type { CallContext } from "@servesim/server-common";
import { Job, JobState, type ListJobsRequest, type ListJobsResponse } from "@servesim/wire/scheduler";
import type { SchedulerDeps } from "./deps.js";

const KNOWN_STATES = new Set(Object.values(JobState).filter((v): v is JobState => typeof v === "number" && v >= 0));

/** Encoded bytes one ListJobs answer carries at most (a page ends early rather than exceed it). */
export const MAX_LIST_JOBS_BYTES = 4 * 1024 * 1024;

const MAX_STATES = 16;

function checkStates(states: readonly JobState[]): void {
  if (states.length > MAX_STATES) throw new InvalidArgumentError("states", `has ${states.length} entries, more than ${MAX_STATES}`);
  states.forEach((s, i) => {
    if (!KNOWN_STATES.has(s) || s === JobState.JOB_STATE_UNSPECIFIED) {
      throw new InvalidArgumentError(`states[${i}]`, `unknown job state ${String(s)}`);
    }
  });
}

/**
 * ListJobs: the caller's jobs (in the given states), oldest first, one page at a time: at most
 * page_size (cut to SERVESIM_MAX_LIST_JOBS) and MAX_LIST_JOBS_BYTES; next_page_token continues after
 * the page's last job.
 */
export async function listJobs(deps: SchedulerDeps, req: ListJobsRequest, ctx: CallContext): Promise<ListJobsResponse> {
  checkStates(req.states);
  const tenant = ctx.principal.tenant;
  const tokens = deps.manager.pageTokens;
  const pageSize = req.pageSize === 0 ? deps.maxListJobs : Math.min(req.pageSize, deps.maxListJobs);
  const afterSeq = req.pageToken === "" ? 0 : tokens.open(req.pageToken, tenant, req.states);
  // One more than the page: whether another page follows.
  const listed = await deps.manager.page(req.states, tenant, afterSeq, pageSize + 1);
  const jobs: Job[] = [];
  let bytes = 0;
  let lastSeq = afterSeq;
  for (const { seq, job, bytes: encoded } of listed.slice(0, pageSize)) {
    const size = (encoded ?? Job.encode(job).finish().length) + 8;
    if (jobs.length > 0 && bytes + size > MAX_LIST_JOBS_BYTES) break;
    jobs.push(job);
    bytes += size;
    lastSeq = seq;
  }
  const more = listed.length > jobs.length;
  return { jobs, nextPageToken: more ? tokens.seal(lastSeq, tenant, req.states) : "" };
}
