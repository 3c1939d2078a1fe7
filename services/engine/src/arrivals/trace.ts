import { InvalidArgumentError } from "@servesim/core";
import { type ArrivalProcessDef, identityOrder } from "./arrivalProcess.js";

/** Explicit submit times (ms), one per request, e.g. from a trace. */
export interface TraceArrivals {
  kind: "trace";
  submitMs: ArrayLike<number>;
}

export const trace = {
  kind: "trace",
  description: "explicit submit times, one per request (a trace); equal times keep dataset order",
  clockFree: false,
  validate: (spec: TraceArrivals, n: number, field: string) => {
    const s = spec.submitMs;
    if (s === null || typeof s !== "object" || s.length !== n) {
      throw new InvalidArgumentError(`${field}.submitMs`, `must hold one submit time per request (${n})`);
    }
    for (let i = 0; i < n; i++) {
      const v = s[i];
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
        throw new InvalidArgumentError(`${field}.submitMs[${i}]`, `must be a finite time >= 0 ms (got ${String(v)})`);
      }
    }
  },
  plan: (spec: TraceArrivals, n: number) => {
    const order = identityOrder(n);
    const submitMs = new Float64Array(n);
    for (let i = 0; i < n; i++) submitMs[i] = spec.submitMs[i]!;
    // Stable: equal times keep dataset order.
    const sorted = Array.from(order).sort((x, y) => submitMs[x]! - submitMs[y]! || x - y);
    order.set(sorted);
    return { order, submitMs, initiallySubmitted: n, concurrency: 0 };
  },
} as const satisfies ArrivalProcessDef<TraceArrivals>;
