import { status as Status } from "@grpc/grpc-js";
import { ServesimError } from "./errors.js";

/**
 * Checks the stage_ms of a Predict or PredictStream answer as untrusted input for a pipeline of `stages`: none
 * (the service's predictor does not price stages) or exactly one finite, non-negative time per stage.
 * Returns the INTERNAL error naming what is wrong, or undefined.
 */
export function stageTimesError(stageMs: readonly number[], stages: number): ServesimError | undefined {
  if (stageMs.length === 0) return undefined;
  if (stageMs.length !== stages) {
    return new ServesimError(Status.INTERNAL, `predictor answered ${stageMs.length} stage times for a pipeline of ${stages} stages`);
  }
  for (let s = 0; s < stages; s++) {
    const v = stageMs[s]!;
    if (!Number.isFinite(v) || v < 0)
      return new ServesimError(Status.INTERNAL, `predictor answered ${String(v)} ms for pipeline stage ${s}; stage times must be finite and >= 0`);
  }
  return undefined;
}
