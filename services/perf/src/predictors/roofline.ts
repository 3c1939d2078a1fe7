import { type PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import { ComposedPredictor, type ComposeExtras, type KernelModel } from "../compose.js";
import { defaultEfficiency, defaultOverheads } from "../efficiency.js";
import { buildPlan, type PlanScope } from "../plan.js";
import { describeRun, type ResolvedRun, resolveRun } from "../resolve.js";
import { RooflineKernels } from "../roofline.js";
import { definePredictor, type PredictorEntry, type PredictorOptions } from "./entry.js";
import { composeParams, systemsDirOf } from "./params.js";

/**
 * The layers of each pipeline stage as TensorRT-LLM's Mapping.pp_layers splits them (tensorrt_llm/mapping.py:
 * torch.tensor_split of the layer indices): contiguous, floor(L / pp) each and one more on each of the first
 * L mod pp stages. The first stage embeds, each but the last sends its activations on, the last runs the LM head;
 * a stage's dense and MoE layers are the model's in its range (DeepSeek's first_k_dense_replace dense layers sit
 * on the first stage).
 */
export function stageScopes(run: ResolvedRun): PlanScope[] {
  if (run.pp <= 1) return [{}];
  const L = run.model.numLayers;
  const base = Math.floor(L / run.pp);
  const extra = L % run.pp;
  const scopes: PlanScope[] = [];
  let from = 0;
  for (let i = 0; i < run.pp; i++) {
    const to = from + base + (i < extra ? 1 : 0);
    scopes.push({ from, to, embedding: i === 0, p2pCalls: i < run.pp - 1 ? 1 : 0 });
    from = to;
  }
  return scopes;
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
