import { dtypeFromPrecision, parsePrecision, predictorByName, predictorChoiceList } from "@servesim/perf";
import { DType, type PredictorKind } from "@servesim/wire/predictor";

/** Predictor names accepted by --predictor and --sim-config `name`: the registry's names and aliases (PR #12700's `aiconfigurator` included). */
export function predictorKind(name: string): PredictorKind | undefined {
  return predictorByName(name)?.kind;
}

/** "constant, roofline, aic (aiconfigurator) or calibrated". */
export const PREDICTOR_NAMES = predictorChoiceList();

/** A dtype name (bf16, bfloat16, fp16, float16, fp8, nvfp4); "auto" → unspecified (the model's). */
export function dtypeByName(name: string): DType | undefined {
  if (name.trim().toLowerCase() === "auto") return DType.D_TYPE_UNSPECIFIED;
  const p = parsePrecision(name);
  return p === undefined ? undefined : dtypeFromPrecision(p);
}
