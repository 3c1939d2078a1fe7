/** Hands a request (dataset index) to the engine at simulated time tMs (>= the time of the event that caused it). */
export type Submit = (r: number, tMs: number) => void;

/**
 * An arrival process that reacts to the run: it submits requests as earlier ones end, at times it
 * computes from those ends (a maximum concurrency over a schedule, the turns of multi-turn sessions).
 * The engine calls `begin` once, then `ended` for every request that finishes or fails, in the order of
 * their simulated end times. Every request must eventually be submitted exactly once.
 */
export interface ReactiveArrivals {
  begin(submit: Submit): void;
  ended(r: number, tMs: number, submit: Submit): void;
}

/**
 * A schedule under a maximum concurrency (vLLM's `--max-concurrency` with `--request-rate`, AIPerf's
 * `--concurrency` with `--request-rate`): a request due at its scheduled time waits for a free slot, and
 * slots go to waiting requests in schedule order (a FIFO semaphore). Request k beyond the limit is thus
 * submitted at max(its scheduled time, the time of the slot's release); the schedule does not catch up.
 */
export function maxConcurrencyGate(order: Int32Array, submitMs: ArrayLike<number>, limit: number): ReactiveArrivals {
  let next = 0;
  return {
    begin(submit) {
      const first = Math.min(limit, order.length);
      for (; next < first; next++) submit(order[next]!, submitMs[order[next]!]!);
    },
    ended(_r, tMs, submit) {
      if (next >= order.length) return;
      const q = order[next++]!;
      submit(q, Math.max(submitMs[q]!, tMs));
    },
  };
}
