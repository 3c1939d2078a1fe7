import { SeededRandom } from "./random.js";
import type { Arrivals } from "./types.js";

/** Submission plan of the measured requests (trtllm-bench-compat.md §4). */
export interface ArrivalPlan {
  /** Dataset indices in submission order. */
  order: Int32Array;
  /** Submit times by dataset index; under a concurrency limit only the first `initiallySubmitted` are known. */
  submitMs: Float64Array;
  initiallySubmitted: number;
  /** > 0: a new request is submitted whenever one ends (closed loop). */
  concurrency: number;
}

export function planArrivals(a: Arrivals, n: number): ArrivalPlan {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const submitMs = new Float64Array(n);
  switch (a.kind) {
    case "all_at_once":
      return { order, submitMs, initiallySubmitted: n, concurrency: 0 };
    case "concurrency":
      return { order, submitMs, initiallySubmitted: Math.min(a.concurrency, n), concurrency: a.concurrency };
    case "poisson": {
      // The first request at t = 0, then exponential gaps with mean 1000/rate ms.
      const rng = new SeededRandom(a.seed);
      const mean = 1000 / a.rate;
      let t = 0;
      for (let i = 0; i < n; i++) {
        if (i > 0) t += rng.nextExponential(mean);
        submitMs[i] = t;
      }
      return { order, submitMs, initiallySubmitted: n, concurrency: 0 };
    }
    case "trace": {
      for (let i = 0; i < n; i++) submitMs[i] = a.submitMs[i]!;
      // Stable: equal times keep dataset order.
      const sorted = Array.from(order).sort((x, y) => submitMs[x]! - submitMs[y]! || x - y);
      order.set(sorted);
      return { order, submitMs, initiallySubmitted: n, concurrency: 0 };
    }
  }
}
