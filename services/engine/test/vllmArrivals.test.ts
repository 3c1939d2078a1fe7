import { NumpyLegacyRandom } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { maxConcurrencyGate } from "../src/arrivals/reactive.js";
import { sessionClosedLoop } from "../src/arrivals/sessionLoop.js";
import { SubmissionQueue } from "../src/arrivals/submissionQueue.js";
import { vllmArrivalTimesMs } from "../src/arrivals/vllmSchedule.js";

// Expected values from NumPy 1.24.2 (Debian python3-numpy): np.random.seed(s); np.random.gamma(shape, scale),
// and from vLLM's get_request (vllm/benchmarks/serve.py) run with that NumPy.
describe("NumPy legacy gamma (np.random.gamma)", () => {
  const draws = (seed: number, shape: number, scale: number, k: number) => {
    const r = new NumpyLegacyRandom(seed);
    return Array.from({ length: k }, () => r.gamma(shape, scale));
  };
  it("shape < 1 (Johnk-style rejection): seed 0, gamma(0.5, 0.2)", () => {
    expect(draws(0, 0.5, 1 / (10 * 0.5), 6)).toEqual([
      0.06080037795214088, 0.07565434401356312, 0.03589667780057752, 0.03829651349213206, 0.17592170793623915, 0.06569854142435766,
    ]);
  });
  it("shape > 1 (Marsaglia–Tsang on the polar Gaussians): seed 42, gamma(2, 0.05)", () => {
    expect(draws(42, 2, 1 / (10 * 2), 6)).toEqual([
      0.11968396949346183, 0.07472323651077938, 0.06911417921854768, 0.06911511471659003, 0.23248572061153255, 0.1433353115482111,
    ]);
  });
  it("shape 1 (exponential): seed 7, gamma(1, 0.25)", () => {
    expect(draws(7, 1, 0.25, 4)).toEqual([0.019844227380361127, 0.3784396686396967, 0.14424546603912894, 0.3213546317052027]);
  });
});

describe("vLLM's request times (get_request)", () => {
  it("--request-rate 4 --burstiness 0.25 --seed 0: gamma gaps, scaled so the last is at n / rate", () => {
    expect(Array.from(vllmArrivalTimesMs(8, { rate: 4, burstiness: 0.25, seed: 0 }))).toEqual([
      58.50100868541669, 143.62493073442667, 164.39857647252887, 188.0426707625092, 1674.4053951800154, 1932.8416495497534, 1999.9835797556316,
      1999.9999999999998,
    ]);
  });
  it("linear ramp-up 2 -> 10 req/s, burstiness 1, seed 3 (no rescaling)", () => {
    expect(Array.from(vllmArrivalTimesMs(6, { rate: Infinity, burstiness: 1, seed: 3, rampUp: { strategy: "linear", startRps: 2, endRps: 10 } }))).toEqual([
      400.14119344123986, 742.226706424669, 808.3354375191296, 913.4884236998378, 1179.492091986182, 1406.1107441021409,
    ]);
  });
  it("exponential ramp-up 1 -> 16 req/s with burstiness inf: constant gaps 1 / rate", () => {
    expect(
      Array.from(vllmArrivalTimesMs(5, { rate: Infinity, burstiness: Infinity, seed: 0, rampUp: { strategy: "exponential", startRps: 1, endRps: 16 } })),
    ).toEqual([1000, 1500, 1750, 1875, 1937.5]);
  });
  it("an infinite rate without a ramp-up sends everything at t = 0", () => {
    expect(Array.from(vllmArrivalTimesMs(3, { rate: Infinity, burstiness: 1, seed: 0 }))).toEqual([0, 0, 0]);
  });
});

/** Drives a reactive process with given request durations (a request ends `dur` ms after its submission). */
function drive(p: ReturnType<typeof maxConcurrencyGate>, n: number, durMs: (r: number) => number): number[] {
  const submitted = new Array<number>(n).fill(Number.NaN);
  const pending: [number, number][] = []; // [end time, r]
  const submit = (r: number, t: number) => {
    expect(Number.isNaN(submitted[r]!)).toBe(true);
    submitted[r] = t;
    pending.push([t + durMs(r), r]);
  };
  p.begin(submit);
  while (pending.length > 0) {
    pending.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const [t, r] = pending.shift()!;
    p.ended(r, t, submit);
  }
  return submitted;
}

describe("reactive arrivals", () => {
  it("a maximum concurrency over a schedule: FIFO slots, no catching up", () => {
    // Scheduled at 0, 10, 20, 30, 40 ms; each request takes 25 ms; 2 slots.
    const order = Int32Array.from([0, 1, 2, 3, 4]);
    const got = drive(maxConcurrencyGate(order, [0, 10, 20, 30, 40], 2), 5, () => 25);
    // r2 waits for r0's end (25), r3 for r1's (35), r4 is due at 40 after r2 ends at 50 -> 50.
    expect(got).toEqual([0, 10, 25, 35, 50]);
  });
  it("sessions in a closed loop: each turn think-time after the previous one ends; 1 session slot", () => {
    // Requests: session 0 turns r0, r2; session 1 turns r1, r3, r4. Delays before later turns.
    const s = { count: 2, sessionOf: [0, 1, 0, 1, 1], delayMs: [0, 0, 100, 50, 7] };
    const got = drive(sessionClosedLoop(s, 5, Int32Array.from([0, 1]), [0, 5], 1), 5, (r) => 10 * (r + 1));
    // r0 at 0, ends 10; r2 at 110, ends 140 (session 0 done); r1 at max(5, 140) = 140, ends 160;
    // r3 at 210, ends 250; r4 at 257.
    expect(got).toEqual([0, 140, 110, 210, 257]);
  });
  it("sessions without a limit all start on schedule", () => {
    const s = { count: 2, sessionOf: [0, 1, 0], delayMs: [0, 0, 1] };
    expect(drive(sessionClosedLoop(s, 3, Int32Array.from([1, 0]), [3, 0], Infinity), 3, () => 4)).toEqual([3, 0, 8]);
  });
});

describe("SubmissionQueue", () => {
  it("pops earliest first, equal times in push order, against a sorted reference", () => {
    const q = new SubmissionQueue(2);
    let x = 12345;
    const ref: [number, number, number][] = [];
    for (let i = 0; i < 500; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const t = x % 37;
      q.push(i, t);
      ref.push([t, i, i]);
    }
    ref.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const got: number[] = [];
    while (q.length > 0) got.push(q.pop());
    expect(got).toEqual(ref.map((e) => e[2]));
    expect(q.peekTime()).toBe(Infinity);
  });
});
