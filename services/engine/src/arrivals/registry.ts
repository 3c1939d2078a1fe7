import { InvalidArgumentError } from "@servesim/core";
import { choiceList } from "../choices.js";
import { allAtOnce } from "./allAtOnce.js";
import type { ArrivalPlan, ArrivalProcessDef } from "./arrivalProcess.js";
import { concurrency } from "./concurrency.js";
import { gamma } from "./gamma.js";
import { maxConcurrency } from "./maxConcurrency.js";
import { poisson } from "./poisson.js";
import { sessions } from "./sessions.js";
import { trace } from "./trace.js";

/** Arrival processes. Adding one: a file exporting an ArrivalProcessDef for its spec type, plus its line here. */
export const ARRIVAL_PROCESSES = [allAtOnce, concurrency, poisson, trace, gamma, maxConcurrency, sessions] as const;

type SpecOf<D> = D extends ArrivalProcessDef<infer S> ? S : never;

/** EngineOptions.arrivals: the spec of one registered arrival process. */
export type Arrivals = SpecOf<(typeof ARRIVAL_PROCESSES)[number]>;

export const ARRIVAL_KINDS: readonly Arrivals["kind"][] = ARRIVAL_PROCESSES.map((p) => p.kind);

/** The process of `spec.kind`; InvalidArgumentError naming `${field}.kind` for anything else. */
export function arrivalProcess(spec: unknown, field = "options.arrivals"): ArrivalProcessDef<Arrivals> {
  if (spec === null || typeof spec !== "object") throw new InvalidArgumentError(field, "is required");
  const kind = (spec as { kind?: unknown }).kind;
  const def = ARRIVAL_PROCESSES.find((p) => p.kind === kind);
  if (def === undefined) throw new InvalidArgumentError(`${field}.kind`, `must be ${choiceList(ARRIVAL_KINDS)} (got ${String(kind)})`);
  return def as unknown as ArrivalProcessDef<Arrivals>;
}

export function validateArrivals(spec: Arrivals, n: number, field = "options.arrivals"): void {
  arrivalProcess(spec, field).validate(spec, n, field);
}

export function planArrivals(spec: Arrivals, n: number): ArrivalPlan {
  return arrivalProcess(spec).plan(spec, n);
}
