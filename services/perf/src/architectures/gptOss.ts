import { DENSE_DEFAULTS } from "../catalog/modelSpec.js";
import type { ArchitectureEntry } from "./entry.js";
import { commonSpec, expertFields, slidingLayersOf } from "./fields.js";

/**
 * gpt-oss (TensorRT-LLM modeling_gpt_oss.py): GQA (head_dim 64) with q/k/v/o biases and learned
 * attention sinks, sliding-window attention on the layers layer_types names (every other layer), and an
 * MoE FFN (top-k of num_local_experts experts of intermediate_size, with biases) in every layer.
 */
export const gptOssArchitecture: ArchitectureEntry = {
  classes: ["GptOssForCausalLM"],
  family: "moe",
  approximations: ["the clamped SwiGLU (swiglu_limit) costs the same as SwiGLU", "attention sinks add no time"],
  slidingWindow: true,
  build(f, c) {
    const base = commonSpec(f, c, "moe");
    const experts = expertFields({ ...f, topK: f.topK || Number(f.extra["experts_per_token"] ?? 0), moeIntermediate: 0 }, c);
    const slidingLayers = slidingLayersOf(f, c, base.numLayers);
    return {
      ...base,
      ...DENSE_DEFAULTS,
      ...experts,
      intermediate: experts.moeIntermediate,
      qkvBias: f.attentionBias,
      oBias: f.attentionBias,
      qkNorm: false,
      denseLayers: 0,
      slidingWindow: slidingLayers ? f.slidingWindow : 0,
      slidingLayers,
      attentionSinks: true,
      routerBias: true,
      expertBias: true,
    };
  },
};
