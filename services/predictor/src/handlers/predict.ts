import type { CallContext } from "@servesim/server-common";
import { decodeSimBatch } from "@servesim/wire";
import type { PredictRequest, PredictResponse } from "@servesim/wire/predictor";
import { breakdownOf, priceStaged } from "../pricing.js";
import { type PredictorDeps, predictorFor, requireConfig } from "../serviceDeps.js";

/** Predict: one batch priced by the config's predictor. */
export async function predict(deps: PredictorDeps, req: PredictRequest, ctx: CallContext): Promise<PredictResponse> {
  const config = requireConfig(req.config);
  const batch = decodeSimBatch(req.batch, deps.batchLimits, "batch");
  const predictor = await predictorFor(deps, config);
  ctx.throwIfCancelled();
  const { timeMs, stageMs } = await priceStaged(predictor, batch);
  const breakdown = req.includeBreakdown ? await breakdownOf(predictor, batch) : [];
  return { timeMs, breakdown, stageMs };
}
