import { InvalidArgumentError } from "@servesim/core";
import { type AllAtOnceArrivals, allAtOnce } from "./allAtOnce.js";
import type { ArrivalPlan } from "./arrivalProcess.js";
import { type GammaArrivals, gamma } from "./gamma.js";
import { type PoissonArrivals, poisson } from "./poisson.js";
import { type TraceArrivals, trace } from "./trace.js";

/** An open-loop schedule: submit times fixed in advance (what max_concurrency gates and sessions start on). */
export type ScheduleArrivals = AllAtOnceArrivals | PoissonArrivals | GammaArrivals | TraceArrivals;

const SCHEDULES = [allAtOnce, poisson, gamma, trace] as const;

/** Validates an open-loop schedule of `n` items; InvalidArgumentError naming `${field}...`. */
export function validateSchedule(spec: unknown, n: number, field: string): void {
  if (spec === null || typeof spec !== "object") throw new InvalidArgumentError(field, "is required");
  const kind = (spec as { kind?: unknown }).kind;
  const def = SCHEDULES.find((d) => d.kind === kind);
  if (def === undefined) throw new InvalidArgumentError(`${field}.kind`, `must be ${SCHEDULES.map((d) => d.kind).join(", ")} (got ${String(kind)})`);
  (def.validate as (s: ScheduleArrivals, n: number, f: string) => void)(spec as ScheduleArrivals, n, field);
}

export function planSchedule(spec: ScheduleArrivals, n: number): ArrivalPlan {
  const def = SCHEDULES.find((d) => d.kind === spec.kind)!;
  return (def.plan as (s: ScheduleArrivals, n: number) => ArrivalPlan)(spec, n);
}

/** A limit of items in flight: an integer >= 1, or Infinity for none. */
export function validateLimit(limit: unknown, field: string): void {
  if (limit === Infinity) return;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > 2147483647) {
    throw new InvalidArgumentError(field, `must be an integer in [1, 2147483647] or Infinity (got ${String(limit)})`);
  }
}
