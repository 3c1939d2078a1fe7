import { type PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import { ComposedPredictor } from "../compose.js";
import { defaultEfficiency, defaultOverheads } from "../efficiency.js";
import { buildPlan } from "../plan.js";
import { describeRun, resolveRun } from "../resolve.js";
import { RooflineKernels } from "../roofline.js";
import { definePredictor, type PredictorEntry, type PredictorOptions } from "./entry.js";
import { composeParams, systemsDirOf } from "./params.js";

function rooflinePredictor(config: PredictorConfig, opts: PredictorOptions): ComposedPredictor {
  const run = resolveRun(config, systemsDirOf(config));
  const plan = buildPlan(run);
  const kernels = new RooflineKernels(plan, opts.efficiency ?? defaultEfficiency(run.gpu));
  const params = composeParams(config, opts.overheads ?? defaultOverheads(run.gpu, "roofline"));
  return new ComposedPredictor(`roofline (${describeRun(run)})`, kernels, params);
}

export const rooflineEntry: PredictorEntry = definePredictor({
  name: "roofline",
  kind: PredictorKind.PREDICTOR_KIND_ROOFLINE,
  aliases: [],
  summary: "a speed-of-light time per operator × efficiency factors, for any GPU with a datasheet",
  requires: "model, GPU",
  needsModelAndGpu: true,
  build: rooflinePredictor,
  describe(config) {
    composeParams(config);
    const run = resolveRun(config, systemsDirOf(config));
    return { description: `roofline (${describeRun(run)})`, run };
  },
});
