import { DENSE_DEFAULTS } from "../catalog/modelSpec.js";
import type { ArchitectureEntry } from "./entry.js";
import { commonSpec } from "./fields.js";

/** Dense GQA decoders (the AIC LLAMA graph): Llama, Mistral, Qwen2 (q/k/v bias), Qwen3 (q/k norm). */
export const llamaArchitecture: ArchitectureEntry = {
  classes: ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"],
  family: "llama",
  approximations: [],
  slidingWindow: false,
  build(f, c) {
    if (f.numExperts > 1) c.fail("num_local_experts", `${f.architecture} is a dense architecture (use MixtralForCausalLM for MoE)`);
    const base = commonSpec(f, c, "llama");
    return {
      ...base,
      ...DENSE_DEFAULTS,
      intermediate: c.positiveInt(f.intermediate, "intermediate_size"),
      numExperts: 0,
      topK: 0,
      // Qwen2 always has q/k/v biases; the others only when attention_bias is set.
      qkvBias: f.architecture === "Qwen2ForCausalLM" || f.attentionBias,
      qkNorm: f.architecture === "Qwen3ForCausalLM",
      denseLayers: base.numLayers,
    };
  },
};
