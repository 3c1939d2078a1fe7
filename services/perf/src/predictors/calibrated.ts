import { PredictorKind } from "@servesim/wire/predictor";
import { CalibratedPredictor, validateCalibratedModel } from "../calibrated.js";
import { describeRun, resolveRun } from "../resolve.js";
import { definePredictor, type PredictorEntry } from "./entry.js";
import { composeParams, namesModelAndGpu, systemsDirOf } from "./params.js";

export const calibratedEntry: PredictorEntry = definePredictor({
  name: "calibrated",
  kind: PredictorKind.PREDICTOR_KIND_CALIBRATED,
  aliases: [],
  summary: "a linear model fitted to a real run's iteration log",
  requires: "the coefficients",
  needsModelAndGpu: false,
  build: (config) => new CalibratedPredictor(validateCalibratedModel(config.calibrated), composeParams(config)),
  describe(config) {
    validateCalibratedModel(config.calibrated);
    composeParams(config);
    if (!namesModelAndGpu(config)) return { description: "calibrated" };
    const run = resolveRun(config, systemsDirOf(config));
    return { description: `calibrated (${describeRun(run)})`, run };
  },
});
