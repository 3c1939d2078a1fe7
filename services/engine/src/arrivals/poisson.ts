import { InvalidArgumentError } from "@servesim/core";
import { SeededRandom } from "../random.js";
import { type ArrivalProcessDef, identityOrder } from "./arrivalProcess.js";

/** Poisson arrivals at `rate` requests per second, seeded. */
export interface PoissonArrivals {
  kind: "poisson";
  rate: number;
  seed: number;
}

export const poisson = {
  kind: "poisson",
  description: "Poisson arrivals at `rate` requests/s (exponential gaps, seeded; the first at t = 0)",
  clockFree: false,
  validate: (spec: PoissonArrivals, _n: number, field: string) => {
    if (typeof spec.rate !== "number" || !Number.isFinite(spec.rate) || spec.rate <= 0) {
      throw new InvalidArgumentError(`${field}.rate`, `must be a finite number > 0 requests/s (got ${String(spec.rate)})`);
    }
    if (typeof spec.seed !== "number" || !Number.isSafeInteger(spec.seed)) {
      throw new InvalidArgumentError(`${field}.seed`, `must be an integer (got ${String(spec.seed)})`);
    }
  },
  plan: (spec: PoissonArrivals, n: number) => {
    // The first request at t = 0, then exponential gaps with mean 1000/rate ms.
    const rng = new SeededRandom(spec.seed);
    const mean = 1000 / spec.rate;
    const submitMs = new Float64Array(n);
    let t = 0;
    for (let i = 0; i < n; i++) {
      if (i > 0) t += rng.nextExponential(mean);
      submitMs[i] = t;
    }
    return { order: identityOrder(n), submitMs, initiallySubmitted: n, concurrency: 0 };
  },
} as const satisfies ArrivalProcessDef<PoissonArrivals>;
