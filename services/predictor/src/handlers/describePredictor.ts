import { describePredictor as describe } from "@servesim/perf";
import type { DescribePredictorRequest, DescribePredictorResponse } from "@servesim/wire/predictor";
import { type PredictorDeps, predictorFor, requireConfig } from "../serviceDeps.js";

/** DescribePredictor: what the config resolves to (model, GPU, tables). */
export async function describePredictor(deps: PredictorDeps, req: DescribePredictorRequest): Promise<DescribePredictorResponse> {
  const config = requireConfig(req.config);
  return describe(config, await predictorFor(deps, config));
}
