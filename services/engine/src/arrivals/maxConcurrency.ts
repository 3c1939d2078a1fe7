import type { ArrivalProcessDef } from "./arrivalProcess.js";
import { maxConcurrencyGate } from "./reactive.js";
import { planSchedule, type ScheduleArrivals, validateLimit, validateSchedule } from "./schedules.js";

/**
 * A schedule under a ceiling of requests in flight (vLLM's --max-concurrency with --request-rate, AIPerf's
 * --concurrency with --request-rate): a request due by the schedule waits for a free slot (reactive.ts).
 */
export interface MaxConcurrencyArrivals {
  kind: "max_concurrency";
  limit: number;
  schedule: ScheduleArrivals;
}

export const maxConcurrency = {
  kind: "max_concurrency",
  description: "an open-loop schedule (Poisson, gamma, trace) with at most `limit` requests in flight (FIFO slots, no catching up)",
  clockFree: false,
  validate: (spec: MaxConcurrencyArrivals, n: number, field: string) => {
    validateLimit(spec.limit, `${field}.limit`);
    validateSchedule(spec.schedule, n, `${field}.schedule`);
  },
  plan: (spec: MaxConcurrencyArrivals, n: number) => {
    const plan = planSchedule(spec.schedule, n);
    return { ...plan, initiallySubmitted: 0, reactive: maxConcurrencyGate(plan.order, plan.submitMs, spec.limit) };
  },
} as const satisfies ArrivalProcessDef<MaxConcurrencyArrivals>;
