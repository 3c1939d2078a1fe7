import type { ReactiveArrivals } from "./reactive.js";

/** Submission plan of the measured requests. */
export interface ArrivalPlan {
  /** Dataset indices in submission order. */
  order: Int32Array;
  /** Submit times by dataset index; under a concurrency limit only the first `initiallySubmitted` are known. */
  submitMs: Float64Array;
  initiallySubmitted: number;
  /** > 0: a new request is submitted whenever one ends (closed loop). */
  concurrency: number;
  /**
   * A process that reacts to the run (reactive.ts): when set, it makes every submission itself (order,
   * submitMs and initiallySubmitted are unused) from the requests' end times.
   */
  reactive?: ReactiveArrivals;
}

/**
 * An arrival process: how a run's requests are submitted to the engine. One file per process,
 * registered in arrivals/registry.ts; the `Arrivals` type (EngineOptions.arrivals) is the union of the
 * registered specs.
 */
export interface ArrivalProcessDef<S extends { kind: string }> {
  readonly kind: S["kind"];
  readonly description: string;
  /**
   * The batch sequence does not depend on the clock (every request is due whenever the engine looks):
   * iterations may then be committed before their times are known (Simulation's deferred times).
   */
  readonly clockFree: boolean;
  /** Throws InvalidArgumentError naming `${field}.<member>` for a malformed spec for `n` requests. */
  validate(spec: S, n: number, field: string): void;
  plan(spec: S, n: number): ArrivalPlan;
}

/** Dataset order, nothing submitted yet. */
export function identityOrder(n: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
}
