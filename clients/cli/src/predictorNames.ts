import { dtypeFromPrecision, parsePrecision } from "@servesim/perf";
import { DType, PredictorKind } from "@servesim/wire/predictor";

/** Predictor names accepted by --predictor and --sim-config `name` (PR #12700's `aiconfigurator` included). */
export function predictorKind(name: string): PredictorKind | undefined {
  switch (name.trim().toLowerCase()) {
    case "constant":
      return PredictorKind.PREDICTOR_KIND_CONSTANT;
    case "roofline":
      return PredictorKind.PREDICTOR_KIND_ROOFLINE;
    case "aic":
    case "aiconfigurator":
      return PredictorKind.PREDICTOR_KIND_AIC;
    case "calibrated":
      return PredictorKind.PREDICTOR_KIND_CALIBRATED;
    default:
      return undefined;
  }
}

export const PREDICTOR_NAMES = "constant, roofline, aic (aiconfigurator) or calibrated";

/** A dtype name (bf16, bfloat16, fp16, float16, fp8, nvfp4); "auto" → unspecified (the model's). */
export function dtypeByName(name: string): DType | undefined {
  if (name.trim().toLowerCase() === "auto") return DType.D_TYPE_UNSPECIFIED;
  const p = parsePrecision(name);
  return p === undefined ? undefined : dtypeFromPrecision(p);
}
