import { InvalidArgumentError } from "../../common/src/errors.js";
import type { BatchPredictor } from "../../engine/src/simBatch.js";
import { PredictorKind, type PredictorConfig } from "../../../gen/ts/servesim/v1/predictor.js";
import { ConstantPredictor } from "./constant.js";

const positive = (v: number | undefined, dflt: number, field: string): number => {
  const x = v ?? dflt;
  if (!Number.isFinite(x) || x <= 0) throw new InvalidArgumentError(field, `must be a finite number > 0 (got ${x})`);
  return x;
};

/** Validates a predictor configuration and builds the predictor it names. */
export async function createPredictor(config: PredictorConfig): Promise<BatchPredictor> {
  switch (config.kind) {
    case PredictorKind.PREDICTOR_KIND_CONSTANT:
      return new ConstantPredictor({
        prefillMs: positive(config.constantPrefillTimeMs, 10, "config.constant_prefill_time_ms"),
        decodeMs: positive(config.constantDecodeTimeMs, 5, "config.constant_decode_time_ms"),
        prefillScale: positive(config.prefillScaleFactor, 1, "config.prefill_scale_factor"),
        decodeScale: positive(config.decodeScaleFactor, 1, "config.decode_scale_factor"),
      });
    case PredictorKind.PREDICTOR_KIND_UNSPECIFIED:
      throw new InvalidArgumentError("config.kind", "predictor kind is required (constant, roofline, aic or calibrated)");
    default:
      throw new InvalidArgumentError("config.kind", `unknown predictor kind ${String(config.kind)}`);
  }
}
