import { type ArrivalProcessDef, identityOrder } from "./arrivalProcess.js";

/** Every request submitted at t = 0 (trtllm-bench's default). */
export interface AllAtOnceArrivals {
  kind: "all_at_once";
}

export const allAtOnce = {
  kind: "all_at_once",
  description: "every request submitted at t = 0 (trtllm-bench's default)",
  clockFree: true,
  validate: () => undefined,
  plan: (_spec: AllAtOnceArrivals, n: number) => ({ order: identityOrder(n), submitMs: new Float64Array(n), initiallySubmitted: n, concurrency: 0 }),
} as const satisfies ArrivalProcessDef<AllAtOnceArrivals>;
