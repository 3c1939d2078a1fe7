import { DENSE_DEFAULTS } from "../catalog/modelSpec.js";
import type { ArchitectureEntry } from "./entry.js";
import { commonSpec, expertFields } from "./fields.js";

/**
 * MiniMax-M2 / M2.5 / M2.7: GQA (head_dim 128, partial RoPE) with q/k RMSNorm over all heads and an MoE
 * FFN (top-k of num_local_experts experts of intermediate_size, sigmoid routing with a bias) in every layer.
 */
export const minimaxM2Architecture: ArchitectureEntry = {
  classes: ["MiniMaxM2ForCausalLM"],
  family: "moe",
  approximations: [
    "partial rotary embedding (rotary_dim) and the per-layer q/k norm cost no extra time",
    "the MTP modules (num_mtp_modules) are priced as draft layers only when a batch carries draft tokens",
  ],
  slidingWindow: false,
  build(f, c) {
    const base = commonSpec(f, c, "moe");
    const experts = expertFields({ ...f, moeIntermediate: 0 }, c);
    const mtpModules = Number(f.extra["use_mtp"] === true ? (f.extra["num_mtp_modules"] ?? 0) : 0);
    const mtpDepth = Number(f.extra["mtp_transformer_layers"] ?? 1);
    return {
      ...base,
      ...DENSE_DEFAULTS,
      ...experts,
      intermediate: experts.moeIntermediate,
      qkvBias: f.attentionBias,
      // The M2 family's defaults when the config does not say (an inline architecture): per-layer q/k norm, routing bias.
      qkNorm: f.extra["use_qk_norm"] !== false,
      qkNormPerLayer: (f.extra["qk_norm_type"] ?? "per_layer") === "per_layer",
      denseLayers: 0,
      sharedIntermediate: f.sharedIntermediate,
      routerBias: f.extra["use_routing_bias"] !== false,
      mtpLayers: f.mtpLayers || mtpModules * mtpDepth,
    };
  },
};
