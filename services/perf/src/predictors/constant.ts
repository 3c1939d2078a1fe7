import { PredictorKind } from "@servesim/wire/predictor";
import { ConstantPredictor } from "../constant.js";
import { describeRun, resolveRun } from "../resolve.js";
import { definePredictor, type PredictorEntry } from "./entry.js";
import { namesModelAndGpu, positive, systemsDirOf } from "./params.js";

function params(config: Parameters<PredictorEntry["build"]>[0]) {
  return {
    prefillMs: positive(config.constantPrefillTimeMs, 10, "config.constant_prefill_time_ms"),
    decodeMs: positive(config.constantDecodeTimeMs, 5, "config.constant_decode_time_ms"),
    prefillScale: positive(config.prefillScaleFactor, 1, "config.prefill_scale_factor"),
    decodeScale: positive(config.decodeScaleFactor, 1, "config.decode_scale_factor"),
  };
}

export const constantEntry: PredictorEntry = definePredictor({
  name: "constant",
  kind: PredictorKind.PREDICTOR_KIND_CONSTANT,
  aliases: [],
  summary: "TensorRT-LLM PR #12700's rule: the prefill time if the batch has a context request, else the decode time",
  requires: "nothing",
  needsModelAndGpu: false,
  build: (config) => new ConstantPredictor(params(config)),
  describe(config) {
    params(config);
    if (!namesModelAndGpu(config)) return { description: "constant" };
    const run = resolveRun(config, systemsDirOf(config));
    return { description: `constant (${describeRun(run)})`, run };
  },
});
