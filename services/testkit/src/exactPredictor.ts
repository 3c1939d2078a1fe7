import type { BatchPredictor, SimBatch } from "@servesim/core";

/** Deterministic test predictors for checking that the engine's fast paths give the plain loop's results. */

/**
 * A batch time that depends on every entry, its position and its KV length, so that a wrong step, a
 * wrong order or a wrong request in a decode run changes the times.
 */
export function exactPrice(b: SimBatch): number {
  let t = 1 + 0.37 * b.numContext + 0.0013 * b.numContextTokens + 0.11 * b.numGeneration;
  const n = b.numContext + b.numGeneration;
  for (let i = 0; i < n; i++) t += 1e-4 * b.pastKvLength[i]! * ((i % 7) + 1) + 1e-3 * b.inputLength[i]! * (i % 3);
  return t;
}

/** Prices decode runs step by step with the same function: element i equals predict() of step i. */
export class ExactPredictor implements BatchPredictor {
  readonly description = "exact";
  predicts = 0;
  runs = 0;
  runSteps = 0;

  predict(b: SimBatch): number {
    this.predicts++;
    return exactPrice(b);
  }

  predictDecodeRun(pastKv: ArrayLike<number>, count: number, steps: number): number[] {
    this.runs++;
    this.runSteps += steps;
    const past = new Int32Array(count);
    const ones = new Int32Array(count).fill(1);
    const batch: SimBatch = { numContext: 0, numGeneration: count, inputLength: ones, pastKvLength: past, numContextTokens: 0 };
    const out: number[] = new Array(steps);
    for (let s = 0; s < steps; s++) {
      for (let j = 0; j < count; j++) past[j] = pastKv[j]! + s;
      out[s] = exactPrice(batch);
    }
    return out;
  }
}

/**
 * An asynchronous wrapper like a remote predictor: it reads the batch when called, answers later (some
 * answers overtake others), and counts how many calls were outstanding at once.
 */
export function asyncPredictor(inner: BatchPredictor, maxInFlight: number, withRuns: boolean): BatchPredictor & { maxOutstanding: number } {
  let outstanding = 0;
  let calls = 0;
  const state = { maxOutstanding: 0 };
  const later = <T>(v: T, onAnswer?: () => void): Promise<T> => {
    outstanding++;
    state.maxOutstanding = Math.max(state.maxOutstanding, outstanding);
    const settle = (resolve: (x: T) => void) => () => {
      outstanding--;
      onAnswer?.();
      resolve(v);
    };
    return new Promise<T>((resolve) => (++calls % 3 === 0 ? setImmediate(settle(resolve)) : queueMicrotask(settle(resolve))));
  };
  const p: BatchPredictor & { maxOutstanding: number } = {
    description: `async ${inner.description}`,
    maxInFlight,
    get maxOutstanding() {
      return state.maxOutstanding;
    },
    predict: (b) => later(inner.predict(b) as number),
  };
  if (inner.predictStages) {
    const staged = inner.predictStages.bind(inner);
    // Like the remote predictor, the stage times arrive with the answer, not when asked for.
    p.predictStages = (b, out) => {
      const answer = new Float64Array(out.length);
      const t = staged(b, answer) as number;
      return later(t, () => out.set(answer));
    };
    Object.defineProperty(p, "pipelineStages", { value: inner.pipelineStages, enumerable: true });
  }
  if (withRuns && inner.predictDecodeRun) {
    const run = inner.predictDecodeRun.bind(inner);
    p.predictDecodeRun = (pastKv, count, steps) => later(run(pastKv, count, steps) as number[]);
  }
  return p;
}
