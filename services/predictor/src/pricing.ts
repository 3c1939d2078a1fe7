import type { BatchPredictor, SimBatch } from "@servesim/core";
import { FailedPreconditionError } from "@servesim/core";
import type { OpTime } from "@servesim/wire/predictor";

/** `ms` if it is a valid batch time (finite and > 0), else FAILED_PRECONDITION naming the batch. */
function checkedTime(predictor: BatchPredictor, ms: unknown, numContext: number, numGeneration: number): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0) {
    throw new FailedPreconditionError(
      `predictor "${predictor.description}" returned ${String(ms)} ms for a batch of ${numContext} context and ` +
        `${numGeneration} generation entries; a batch time must be finite and > 0`,
    );
  }
  return ms;
}

/** The batch time in ms, checked finite and > 0 (a predictor that breaks this is FAILED_PRECONDITION). */
export async function priceBatch(predictor: BatchPredictor, batch: SimBatch): Promise<number> {
  return checkedTime(predictor, await predictor.predict(batch), batch.numContext, batch.numGeneration);
}

/**
 * priceBatch's time and, with pipeline parallelism, the batch's stage times (BatchPredictor.predictStages; empty
 * without pipeline stages): what a Predict response and a PredictStream batch answer carry.
 */
export async function priceStaged(predictor: BatchPredictor, batch: SimBatch): Promise<{ timeMs: number; stageMs: number[] }> {
  const stages = predictor.pipelineStages ?? 1;
  if (stages <= 1 || typeof predictor.predictStages !== "function") return { timeMs: await priceBatch(predictor, batch), stageMs: [] };
  const out = new Float64Array(stages);
  const timeMs = checkedTime(predictor, await predictor.predictStages(batch, out), batch.numContext, batch.numGeneration);
  for (let s = 0; s < stages; s++) {
    if (!Number.isFinite(out[s]) || out[s]! < 0) {
      throw new FailedPreconditionError(
        `predictor "${predictor.description}" returned ${String(out[s])} ms for pipeline stage ${s}; stage times must be finite and >= 0`,
      );
    }
  }
  return { timeMs, stageMs: Array.from(out) };
}

/**
 * A decode run's step times from the predictor's own `predictDecodeRun` (O(requests + steps); each
 * element equals predict() of its step by that method's contract), each checked like priceBatch's.
 */
export async function priceDecodeRun(
  predictor: BatchPredictor & Required<Pick<BatchPredictor, "predictDecodeRun">>,
  pastKvLength: readonly number[],
  numSteps: number,
): Promise<number[]> {
  const count = pastKvLength.length;
  const times = await predictor.predictDecodeRun(pastKvLength, count, numSteps);
  if (times.length < numSteps) {
    throw new FailedPreconditionError(`predictor "${predictor.description}" returned ${times.length} times for a decode run of ${numSteps} steps`);
  }
  const out = new Array<number>(numSteps);
  for (let i = 0; i < numSteps; i++) out[i] = checkedTime(predictor, times[i], 0, count);
  return out;
}

/** The per-op breakdown in wire form; empty when the predictor has none. */
export async function breakdownOf(predictor: BatchPredictor, batch: SimBatch): Promise<OpTime[]> {
  if (!predictor.breakdown) return [];
  const ops = await predictor.breakdown(batch);
  return ops.map((o) => ({ op: o.op, source: o.source, ms: o.ms, flops: o.flops ?? 0, bytes: o.bytes ?? 0 }));
}
