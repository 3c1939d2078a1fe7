import { DENSE_DEFAULTS } from "../catalog/modelSpec.js";
import type { ArchitectureEntry } from "./entry.js";
import { commonSpec, expertFields } from "./fields.js";

/** Mixtral: GQA attention and an MoE FFN (experts of intermediate_size) in every layer. */
export const mixtralArchitecture: ArchitectureEntry = {
  classes: ["MixtralForCausalLM"],
  family: "moe",
  approximations: [],
  slidingWindow: false,
  build(f, c) {
    const base = commonSpec(f, c, "moe");
    const experts = expertFields({ ...f, moeIntermediate: 0 }, c);
    return {
      ...base,
      ...DENSE_DEFAULTS,
      ...experts,
      intermediate: experts.moeIntermediate,
      qkvBias: f.attentionBias,
      qkNorm: false,
      denseLayers: 0,
    };
  },
};
