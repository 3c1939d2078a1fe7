import { FailedPreconditionError } from "../../common/src/errors.js";
import type { BatchPredictor, SimBatch } from "../../engine/src/simBatch.js";
import type { OpTime } from "../../../gen/ts/servesim/v1/predictor.js";

/** The batch time in ms, checked finite and > 0 (a predictor that breaks this is FAILED_PRECONDITION). */
export async function priceBatch(predictor: BatchPredictor, batch: SimBatch): Promise<number> {
  const ms = await predictor.predict(batch);
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0) {
    throw new FailedPreconditionError(
      `predictor "${predictor.description}" returned ${String(ms)} ms for a batch of ${batch.numContext} context and ` +
        `${batch.numGeneration} generation entries; a batch time must be finite and > 0`,
    );
  }
  return ms;
}

/** The per-op breakdown in wire form; empty when the predictor has none. */
export async function breakdownOf(predictor: BatchPredictor, batch: SimBatch): Promise<OpTime[]> {
  if (!predictor.breakdown) return [];
  const ops = await predictor.breakdown(batch);
  return ops.map((o) => ({ op: o.op, source: o.source, ms: o.ms, flops: o.flops ?? 0, bytes: o.bytes ?? 0 }));
}
