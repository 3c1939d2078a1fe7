import { encodeSimBatch } from "../../../services/predictor/src/batchCodec.js";
import type { SimBatch } from "../../../services/engine/src/simBatch.js";
import type { SimBatch as WireSimBatch } from "../../../gen/ts/servesim/v1/predictor.js";

/** Batches with more entries than this go out in the packed form (parallel arrays). */
export const PACKED_ABOVE_ENTRIES = 16;

/** The wire form of an engine batch, copied synchronously (the engine reuses its arrays). */
export function encodeBatch(batch: SimBatch): WireSimBatch {
  const n = batch.numContext + batch.numGeneration;
  return encodeSimBatch(batch, n > PACKED_ABOVE_ENTRIES ? "packed" : "entries");
}
