import { deepseekSpec } from "./deepseekV3.js";
import type { ArchitectureEntry } from "./entry.js";

/**
 * DeepSeek sparse attention models (GLM-5's GlmMoeDsaForCausalLM, DeepSeek-V3.2): the DeepSeek-V3 layout
 * plus an indexer that selects `index_topk` cached tokens per query.
 */
export const dsaArchitecture: ArchitectureEntry = {
  classes: ["GlmMoeDsaForCausalLM", "DeepseekV32ForCausalLM"],
  family: "moe",
  approximations: [
    "sparse attention is priced as MLA over min(KV length, index_topk) tokens plus the indexer's scoring of every cached token (FP8 dot products)",
    "the indexer's K cache is counted as index_head_dim FP8 bytes plus a 4-byte scale per token and layer",
  ],
  slidingWindow: false,
  build(f, c) {
    const spec = deepseekSpec(f, c);
    return {
      ...spec,
      dsa: {
        indexTopk: c.positiveInt(f.indexTopk, "index_topk"),
        indexHeads: c.positiveInt(f.indexHeads, "index_n_heads"),
        indexHeadDim: c.positiveInt(f.indexHeadDim, "index_head_dim"),
      },
    };
  },
};
