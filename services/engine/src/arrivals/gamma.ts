import { InvalidArgumentError } from "@servesim/core";
import { type ArrivalProcessDef, identityOrder } from "./arrivalProcess.js";
import { type RampUp, vllmArrivalTimesMs } from "./vllmSchedule.js";

/**
 * vLLM's request-rate arrivals (`vllm bench serve --request-rate R --burstiness B`, optionally with a
 * ramp-up): gamma-distributed gaps of shape `burstiness` and mean 1/rate, drawn exactly as vLLM draws
 * them (vllmSchedule.ts).
 */
export interface GammaArrivals {
  kind: "gamma";
  /** Requests per second (> 0; Infinity: all at once); ignored under a ramp-up. */
  rate: number;
  /** Gamma shape (> 0; 1: exponential gaps; Infinity: constant gaps). */
  burstiness: number;
  seed: number;
  rampUp?: RampUp;
}

const positive = (v: unknown): v is number => typeof v === "number" && !Number.isNaN(v) && v > 0;

export const gamma = {
  kind: "gamma",
  description: "vLLM's --request-rate with --burstiness (gamma gaps, NumPy's draws) and ramp-up",
  clockFree: false,
  validate: (spec: GammaArrivals, _n: number, field: string) => {
    if (!positive(spec.burstiness)) throw new InvalidArgumentError(`${field}.burstiness`, `must be a number > 0 or +inf (got ${String(spec.burstiness)})`);
    if (typeof spec.seed !== "number" || !Number.isSafeInteger(spec.seed) || spec.seed < 0 || spec.seed > 0xffffffff) {
      throw new InvalidArgumentError(`${field}.seed`, `must be an integer in [0, 2^32) (NumPy's seed; got ${String(spec.seed)})`);
    }
    const r = spec.rampUp;
    if (r === undefined) {
      if (!positive(spec.rate)) throw new InvalidArgumentError(`${field}.rate`, `must be a number > 0 requests/s (got ${String(spec.rate)})`);
      return;
    }
    if (r.strategy !== "linear" && r.strategy !== "exponential") {
      throw new InvalidArgumentError(`${field}.ramp_up.strategy`, `must be linear or exponential (got ${String(r.strategy)})`);
    }
    if (!positive(r.startRps) || !Number.isFinite(r.startRps)) {
      throw new InvalidArgumentError(`${field}.ramp_up.start_rps`, `must be a finite number > 0 requests/s (got ${String(r.startRps)})`);
    }
    if (!positive(r.endRps) || !Number.isFinite(r.endRps) || r.endRps < r.startRps) {
      throw new InvalidArgumentError(`${field}.ramp_up.end_rps`, `must be a finite number >= start_rps ${r.startRps} (got ${String(r.endRps)})`);
    }
  },
  plan: (spec: GammaArrivals, n: number) => ({ order: identityOrder(n), submitMs: vllmArrivalTimesMs(n, spec), initiallySubmitted: n, concurrency: 0 }),
} as const satisfies ArrivalProcessDef<GammaArrivals>;
