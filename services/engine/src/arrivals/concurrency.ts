import { InvalidArgumentError } from "@servesim/core";
import { type ArrivalProcessDef, identityOrder } from "./arrivalProcess.js";

/** At most `concurrency` in flight; the next request starts when one ends (start = admission). */
export interface ConcurrencyArrivals {
  kind: "concurrency";
  concurrency: number;
}

export const concurrency = {
  kind: "concurrency",
  description: "a closed loop: at most `concurrency` requests in flight, the next submitted when one ends",
  clockFree: true,
  validate: (spec: ConcurrencyArrivals, _n: number, field: string) => {
    const c = spec.concurrency;
    if (typeof c !== "number" || !Number.isInteger(c) || c < 1 || c > 2147483647) {
      throw new InvalidArgumentError(`${field}.concurrency`, `must be an integer in [1, 2147483647] (got ${String(c)})`);
    }
  },
  plan: (spec: ConcurrencyArrivals, n: number) => ({
    order: identityOrder(n),
    submitMs: new Float64Array(n),
    initiallySubmitted: Math.min(spec.concurrency, n),
    concurrency: spec.concurrency,
  }),
} as const satisfies ArrivalProcessDef<ConcurrencyArrivals>;
