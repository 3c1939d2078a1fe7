import { DENSE_DEFAULTS } from "../catalog/modelSpec.js";
import type { ArchitectureEntry } from "./entry.js";
import { commonSpec, expertFields } from "./fields.js";

/**
 * Qwen3-MoE (Qwen3-30B-A3B, Qwen3-235B-A22B, Qwen3-Coder-480B): GQA with per-head q/k RMSNorm and an
 * MoE FFN of `num_experts` experts of moe_intermediate_size in every layer, no shared expert.
 */
export const qwen3MoeArchitecture: ArchitectureEntry = {
  classes: ["Qwen3MoeForCausalLM"],
  family: "moe",
  approximations: ["mlp_only_layers (dense layers) are priced as the first layers of the model"],
  slidingWindow: false,
  build(f, c) {
    const base = commonSpec(f, c, "moe");
    const mlpOnly = Array.isArray(f.extra["mlp_only_layers"]) ? (f.extra["mlp_only_layers"] as unknown[]).length : 0;
    const step = typeof f.extra["decoder_sparse_step"] === "number" ? (f.extra["decoder_sparse_step"] as number) : 1;
    if (step !== 1) c.fail("decoder_sparse_step", `only 1 (every layer MoE) is supported (got ${step})`);
    return {
      ...base,
      ...DENSE_DEFAULTS,
      ...expertFields(f, c),
      intermediate: mlpOnly > 0 ? c.positiveInt(f.intermediate, "intermediate_size") : f.intermediate,
      qkvBias: f.attentionBias,
      qkNorm: true,
      denseLayers: mlpOnly,
    };
  },
};
