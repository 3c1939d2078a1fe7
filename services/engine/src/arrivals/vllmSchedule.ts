import { NumpyLegacyRandom } from "@servesim/core";

/** vLLM's request-rate ramp-up (`--ramp-up-strategy`, `--ramp-up-start-rps`, `--ramp-up-end-rps`). */
export interface RampUp {
  strategy: "linear" | "exponential";
  /** Rate of the first request (requests/s, > 0). */
  startRps: number;
  /** Rate of the last request (requests/s, >= startRps). */
  endRps: number;
}

/** What `vllm bench serve` needs to place its requests in time. */
export interface VllmRateSpec {
  /** Requests per second (Infinity: all at once); ignored under a ramp-up. */
  rate: number;
  /** Gamma shape of the gaps (1: exponential gaps, a Poisson process; Infinity: constant gaps). */
  burstiness: number;
  /** `np.random.seed(seed)`: vLLM's `--seed` (default 0). */
  seed: number;
  rampUp?: RampUp;
}

/** The rate of request `i` of `n` (vLLM's `_get_current_request_rate`). */
export function vllmRequestRate(spec: VllmRateSpec, i: number, n: number): number {
  const r = spec.rampUp;
  if (r === undefined) return spec.rate;
  const progress = i / Math.max(n - 1, 1);
  if (r.strategy === "linear") return r.startRps + (r.endRps - r.startRps) * progress;
  return r.startRps * (r.endRps / r.startRps) ** progress;
}

/**
 * Submit times (ms) of `n` requests as vLLM's benchmark (`vllm/benchmarks/serve.py`, `get_request`)
 * computes them: every request, the first included, waits a gap drawn from
 * `np.random.gamma(shape=burstiness, scale=1 / (rate · burstiness))` (mean 1/rate s) after the one before;
 * without a ramp-up the cumulative times are then scaled so the last request is sent at exactly n / rate
 * seconds. The draws come from NumPy's legacy generator seeded with `seed`, ported in
 * `@servesim/core` (`NumpyLegacyRandom.gamma`).
 */
export function vllmArrivalTimesMs(n: number, spec: VllmRateSpec): Float64Array {
  const rng = new NumpyLegacyRandom(spec.seed);
  const b = spec.burstiness;
  const delays = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const rate = vllmRequestRate(spec, i, n);
    if (rate === Infinity) delays[i] = 0;
    else if (b === Infinity) delays[i] = 1.0 / rate;
    else delays[i] = rng.gamma(b, 1.0 / (rate * b));
  }
  for (let i = 1; i < n; i++) delays[i]! += delays[i - 1]!;
  if (spec.rampUp === undefined && n > 0 && delays[n - 1] !== 0) {
    const factor = n / spec.rate / delays[n - 1]!;
    for (let i = 0; i < n; i++) delays[i]! *= factor;
  }
  for (let i = 0; i < n; i++) delays[i]! *= 1000;
  return delays;
}
