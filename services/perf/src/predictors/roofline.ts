import { type PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import { ComposedPredictor, type ComposeExtras, type KernelModel } from "../compose.js";
import { defaultEfficiency, defaultOverheads } from "../efficiency.js";
import { buildPlan, type PlanScope } from "../plan.js";
import { describeRun, type ResolvedRun, resolveRun } from "../resolve.js";
import { RooflineKernels } from "../roofline.js";
import { definePredictor, type PredictorEntry, type PredictorOptions } from "./entry.js";
import { composeParams, systemsDirOf } from "./params.js";

/** The layers of each pipeline stage: ceil(L/pp) per stage, the first embeds, each but the last sends on. */
export function stageScopes(run: ResolvedRun): PlanScope[] {
  if (run.pp <= 1) return [{}];
  const per = Math.ceil(run.model.numLayers / run.pp);
  return Array.from({ length: run.pp }, (_, i) => ({
    from: Math.min(run.model.numLayers, i * per),
    to: Math.min(run.model.numLayers, (i + 1) * per),
    embedding: i === 0,
    p2pCalls: i < run.pp - 1 ? 1 : 0,
  }));
}

/** Attention-DP ranks, the draft layer's kernels and the pipeline stages' kernels of a run. */
export function composeExtras(run: ResolvedRun, kernelsFor: (scope?: PlanScope) => KernelModel, stages: () => KernelModel[]): ComposeExtras {
  return { dpRanks: run.attentionDp ? run.tp : 1, draft: kernelsFor({ draft: true }), stages };
}

function rooflinePredictor(config: PredictorConfig, opts: PredictorOptions): ComposedPredictor {
  const run = resolveRun(config, systemsDirOf(config));
  const eff = opts.efficiency ?? defaultEfficiency(run.gpu);
  const kernelsFor = (scope: PlanScope = {}): RooflineKernels => new RooflineKernels(buildPlan(run, scope), eff);
  const params = composeParams(config, opts.overheads ?? defaultOverheads(run.gpu, "roofline"));
  return new ComposedPredictor(
    `roofline (${describeRun(run)})`,
    kernelsFor(),
    params,
    composeExtras(run, kernelsFor, () => stageScopes(run).map(kernelsFor)),
  );
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
