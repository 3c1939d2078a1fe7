import type { MlaDims, ModelSpec } from "../catalog/modelSpec.js";
import { DENSE_DEFAULTS } from "../catalog/modelSpec.js";
import type { ArchitectureEntry } from "./entry.js";
import { type ArchitectureFields, commonSpec, expertFields, type FieldChecks } from "./fields.js";

/** MLA dimensions (q/kv LoRA ranks, no-RoPE / RoPE / value head dims). */
export function mlaDims(f: ArchitectureFields, c: FieldChecks): MlaDims {
  return {
    qLoraRank: c.nonNegativeInt(f.qLoraRank, "q_lora_rank"),
    kvLoraRank: c.positiveInt(f.kvLoraRank, "kv_lora_rank"),
    qkNopeHeadDim: c.positiveInt(f.qkNopeHeadDim, "qk_nope_head_dim"),
    qkRopeHeadDim: c.positiveInt(f.qkRopeHeadDim, "qk_rope_head_dim"),
    vHeadDim: c.positiveInt(f.vHeadDim, "v_head_dim"),
  };
}

/**
 * The DeepSeek-V3 layout: MLA attention, `first_k_dense_replace` dense layers, then MoE layers of
 * routed experts (top-k of n_routed_experts) plus n_shared_experts shared experts.
 */
export function deepseekSpec(f: ArchitectureFields, c: FieldChecks): ModelSpec {
  const base = commonSpec(f, c, "moe");
  const experts = expertFields(f, c);
  const denseLayers = c.nonNegativeInt(f.firstKDense, "first_k_dense_replace");
  if (denseLayers >= base.numLayers) c.fail("first_k_dense_replace", `${denseLayers} leaves no MoE layer of ${base.numLayers}`);
  const freq = typeof f.extra["moe_layer_freq"] === "number" ? (f.extra["moe_layer_freq"] as number) : 1;
  if (freq !== 1) c.fail("moe_layer_freq", `only 1 (every layer after the dense ones is MoE) is supported (got ${freq})`);
  const shared = c.nonNegativeInt(f.sharedExperts, "n_shared_experts");
  return {
    ...base,
    ...DENSE_DEFAULTS,
    ...experts,
    // The config's num_key_value_heads equals the heads; MLA caches one latent per token instead.
    attention: "mla",
    mla: mlaDims(f, c),
    intermediate: denseLayers > 0 ? c.positiveInt(f.intermediate, "intermediate_size") : f.intermediate,
    qkvBias: false,
    qkNorm: false,
    denseLayers,
    sharedIntermediate: f.sharedIntermediate || shared * experts.moeIntermediate,
    // DeepSeek-V3's noaux_tc routing (the default when the config does not say) adds a per-expert score-correction bias.
    routerBias: f.extra["topk_method"] === undefined || f.extra["topk_method"] === "noaux_tc",
    mtpLayers: f.mtpLayers,
  };
}

/** DeepSeek-V3/R1, Kimi-K2 and K2.5 (through their text_config), DeepSeek-V3.1. */
export const deepseekV3Architecture: ArchitectureEntry = {
  classes: ["DeepseekV3ForCausalLM"],
  family: "moe",
  approximations: [
    "group-limited routing (n_group, topk_group) is not modelled: tokens spread over experts by the chosen distribution",
    "MTP layers (num_nextn_predict_layers) are priced as draft layers only when a batch carries draft tokens",
  ],
  slidingWindow: false,
  build: deepseekSpec,
};
