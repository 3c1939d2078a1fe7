import type { ServerWritableStream } from "@grpc/grpc-js";
import { type CallContext, toServiceError } from "@servesim/server-common";
import type { Job, JobResult, WatchJobRequest, WatchJobResponse } from "@servesim/wire/scheduler";
import { isTerminal } from "../jobManager.js";
import type { SchedulerDeps } from "./deps.js";

/** WatchJob's interval between progress events when the request leaves min_interval_ms 0. */
export const DEFAULT_WATCH_INTERVAL_MS = 200;

/**
 * WatchJob: the job now, then its state changes at once and its progress at most every
 * min_interval_ms, then its final state (with the result of a succeeded job); the stream ends there.
 */
export function watchJob(deps: SchedulerDeps, call: ServerWritableStream<WatchJobRequest, WatchJobResponse>, ctx: CallContext): void {
  const tenant = ctx.principal.tenant;
  const { id } = call.request;
  const minInterval = call.request.minIntervalMs || DEFAULT_WATCH_INTERVAL_MS;
  let timer: NodeJS.Timeout | undefined;
  let latest: Job | undefined;
  let lastSent = 0;
  let unsubscribe = () => {};
  let open = true;
  const cleanup = () => {
    open = false;
    clearTimeout(timer);
    timer = undefined;
    unsubscribe();
  };
  const send = (job: Job, result?: JobResult) => {
    if (!open) return;
    lastSent = Date.now();
    call.write({ job, result });
  };
  const finish = (job: Job, result: JobResult | undefined) => {
    send(job, result);
    cleanup();
    call.end();
  };
  ctx.signal.addEventListener("abort", cleanup);
  const watch = async () => {
    const job = await deps.manager.get(id, tenant);
    if (isTerminal(job.state)) return finish(job, await deps.manager.result(id, tenant));
    send(job);
    const stop = await deps.manager.subscribe(
      id,
      (event, now, result) => {
        if (event === "final") return finish(now, result);
        if (event === "state") {
          clearTimeout(timer);
          timer = undefined;
          return send(now);
        }
        latest = now;
        if (timer) return;
        const wait = lastSent + minInterval - Date.now();
        if (wait <= 0) return send(now);
        timer = setTimeout(() => {
          timer = undefined;
          if (latest) send(latest);
        }, wait);
      },
      tenant,
    );
    if (!open) return stop();
    unsubscribe = stop;
    // The job may have finished between the first read and the subscription.
    const again = await deps.manager.get(id, tenant);
    if (open && isTerminal(again.state)) finish(again, await deps.manager.result(id, tenant));
  };
  watch().catch((err: unknown) => {
    cleanup();
    if (!call.cancelled) call.emit("error", toServiceError(err, ctx.logger));
  });
}
