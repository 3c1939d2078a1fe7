import type { Precision } from "../dtypes.js";
import { bytesPerElement } from "../dtypes.js";
import { DENSE_DEFAULTS, type ModelSpec, paramCount } from "./modelSpec.js";
import type { CheckpointQuant, OpPrecisions } from "./quant.js";

export {
  type AttentionKind,
  type DsaDims,
  kvBytesPerTokenPerGpu,
  type MlaDims,
  type ModelFamily,
  type ModelSpec,
  paramCount,
  paramGroups,
  toModelArchitecture,
} from "./modelSpec.js";

/** A checkpoint's precisions: headline weight, KV cache, and the groups that differ (e.g. attention bf16). */
export interface QuantPreset {
  weight: Precision;
  kv: Precision;
  groups?: Partial<OpPrecisions>;
}

export interface CatalogModelEntry {
  spec: ModelSpec;
  /** Short names and Hugging Face ids that resolve to this model at its native precision. */
  aliases: string[];
  /** The precision of the original checkpoint (DeepSeek-R1: FP8 block scales); unset = bf16. */
  native?: QuantPreset;
  /** Checkpoints of the same architecture shipped quantized: id → its precisions. */
  quantizedAliases: Array<{ id: string } & QuantPreset>;
}

const llama = (
  name: string,
  numLayers: number,
  hidden: number,
  numHeads: number,
  numKvHeads: number,
  headDim: number,
  intermediate: number,
  vocab: number,
  maxPositionEmbeddings: number,
  extra: Partial<ModelSpec> = {},
): ModelSpec => ({
  name,
  architecture: "LlamaForCausalLM",
  family: "llama",
  numLayers,
  hidden,
  numHeads,
  numKvHeads,
  headDim,
  intermediate,
  vocab,
  numExperts: 0,
  topK: 0,
  qkvBias: false,
  qkNorm: false,
  tiedEmbeddings: false,
  maxPositionEmbeddings,
  ...DENSE_DEFAULTS,
  denseLayers: numLayers,
  ...extra,
});

/** Hugging Face ids plus their part after the slash, so "Llama-3.1-8B-Instruct" works too. */
const withBasenames = (ids: string[]): string[] => ids.flatMap((id) => (id.includes("/") ? [id, id.slice(id.indexOf("/") + 1)] : [id]));

const FP8 = { weight: "fp8", kv: "fp8" } as const;

/** A DeepSeek-V3-layout model (MLA + first_k dense layers + routed and shared experts). */
const deepseekV3 = (
  name: string,
  d: {
    layers: number;
    hidden: number;
    heads: number;
    dense: number;
    experts: number;
    topK: number;
    moeInter: number;
    shared: number;
    firstKDense: number;
    mla: [qLora: number, kvLora: number, nope: number, rope: number, v: number];
    vocab: number;
    maxPos: number;
    mtp: number;
    architecture?: string;
  },
): ModelSpec => ({
  ...DENSE_DEFAULTS,
  name,
  architecture: d.architecture ?? "DeepseekV3ForCausalLM",
  family: "moe",
  numLayers: d.layers,
  hidden: d.hidden,
  numHeads: d.heads,
  numKvHeads: d.heads,
  headDim: d.hidden / d.heads,
  intermediate: d.dense,
  vocab: d.vocab,
  numExperts: d.experts,
  topK: d.topK,
  qkvBias: false,
  qkNorm: false,
  tiedEmbeddings: false,
  maxPositionEmbeddings: d.maxPos,
  attention: "mla",
  mla: { qLoraRank: d.mla[0], kvLoraRank: d.mla[1], qkNopeHeadDim: d.mla[2], qkRopeHeadDim: d.mla[3], vHeadDim: d.mla[4] },
  moeIntermediate: d.moeInter,
  sharedIntermediate: d.shared * d.moeInter,
  denseLayers: d.firstKDense,
  routerBias: true,
  mtpLayers: d.mtp,
  notes: [
    "group-limited routing (n_group, topk_group) is not modelled: tokens spread over experts by the chosen distribution",
    "MTP layers (num_nextn_predict_layers) are priced as draft layers only when a batch carries draft tokens",
  ],
});

/** A GQA model with an MoE FFN in every layer (Qwen3-MoE, MiniMax-M2, gpt-oss). */
const gqaMoe = (
  name: string,
  architecture: string,
  d: {
    layers: number;
    hidden: number;
    heads: number;
    kvHeads: number;
    headDim: number;
    experts: number;
    topK: number;
    moeInter: number;
    vocab: number;
    maxPos: number;
    dense?: number;
  },
  extra: Partial<ModelSpec> = {},
): ModelSpec => ({
  ...DENSE_DEFAULTS,
  name,
  architecture,
  family: "moe",
  numLayers: d.layers,
  hidden: d.hidden,
  numHeads: d.heads,
  numKvHeads: d.kvHeads,
  headDim: d.headDim,
  intermediate: d.dense ?? d.moeInter,
  vocab: d.vocab,
  numExperts: d.experts,
  topK: d.topK,
  qkvBias: false,
  qkNorm: false,
  tiedEmbeddings: false,
  maxPositionEmbeddings: d.maxPos,
  moeIntermediate: d.moeInter,
  denseLayers: 0,
  ...extra,
});

const FP8_BLOCK = { weight: "fp8_block", kv: "bf16" } as const;
/** NVIDIA's NVFP4 MoE checkpoints: attention kept in bf16, an FP8 KV cache. */
const NVFP4_ATTN_BF16 = { weight: "nvfp4", kv: "fp8", groups: { qkv: "bf16", o: "bf16" } } as const;
const GPT_OSS_EXPERTS = { weight: "mxfp4", kv: "bf16", groups: { qkv: "bf16", o: "bf16", denseMlp: "bf16", sharedExpert: "bf16" } } as const;
const GPT_OSS_NOTES = ["the clamped SwiGLU (swiglu_limit) costs the same as SwiGLU", "attention sinks add no time"];
const alternating = (n: number): boolean[] => Array.from({ length: n }, (_, i) => i % 2 === 0);

/** Built-in models (the models' Hugging Face config.json; Qwen3-32B and Llama-3.3-70B from their config.json). */
export const MODEL_CATALOG: readonly CatalogModelEntry[] = [
  {
    spec: llama("Llama-3.1-8B", 32, 4096, 32, 8, 128, 14336, 128256, 131072),
    aliases: [
      "llama-3.1-8b",
      "llama3.1-8b",
      ...withBasenames([
        "meta-llama/Llama-3.1-8B",
        "meta-llama/Llama-3.1-8B-Instruct",
        "meta-llama/Meta-Llama-3.1-8B",
        "meta-llama/Meta-Llama-3.1-8B-Instruct",
      ]),
    ],
    quantizedAliases: withBasenames(["nvidia/Llama-3.1-8B-Instruct-FP8"]).map((id) => ({ id, ...FP8 })),
  },
  {
    spec: llama("Llama-3.1-70B", 80, 8192, 64, 8, 128, 28672, 128256, 131072),
    aliases: [
      "llama-3.1-70b",
      "llama3.1-70b",
      ...withBasenames([
        "meta-llama/Llama-3.1-70B",
        "meta-llama/Llama-3.1-70B-Instruct",
        "meta-llama/Meta-Llama-3.1-70B",
        "meta-llama/Meta-Llama-3.1-70B-Instruct",
      ]),
    ],
    quantizedAliases: withBasenames(["nvidia/Llama-3.1-70B-Instruct-FP8"]).map((id) => ({ id, ...FP8 })),
  },
  {
    spec: llama("Llama-3.3-70B", 80, 8192, 64, 8, 128, 28672, 128256, 131072),
    aliases: ["llama-3.3-70b", "llama3.3-70b", ...withBasenames(["meta-llama/Llama-3.3-70B-Instruct"])],
    quantizedAliases: withBasenames(["nvidia/Llama-3.3-70B-Instruct-FP8"]).map((id) => ({ id, ...FP8 })),
  },
  {
    spec: llama("Qwen2.5-7B", 28, 3584, 28, 4, 128, 18944, 152064, 32768, {
      architecture: "Qwen2ForCausalLM",
      qkvBias: true,
    }),
    aliases: ["qwen2.5-7b", ...withBasenames(["Qwen/Qwen2.5-7B", "Qwen/Qwen2.5-7B-Instruct"])],
    quantizedAliases: [],
  },
  {
    spec: llama("Qwen3-32B", 64, 5120, 64, 8, 128, 25600, 151936, 40960, {
      architecture: "Qwen3ForCausalLM",
      qkNorm: true,
    }),
    aliases: ["qwen3-32b", ...withBasenames(["Qwen/Qwen3-32B"])],
    // NVIDIA's ModelOpt NVFP4 checkpoint: every linear layer of the blocks NVFP4, an FP8 KV cache (the
    // recipe of its ModelOpt NVFP4 Qwen3 siblings, e.g. nvidia/Qwen3-235B-A22B-NVFP4's hf_quant_config.json).
    quantizedAliases: withBasenames(["nvidia/Qwen3-32B-NVFP4", "nvidia/Qwen3-32B-FP4"]).map((id) => ({ id, weight: "nvfp4" as const, kv: "fp8" as const })),
  },
  {
    spec: llama("Mixtral-8x7B", 32, 4096, 32, 8, 128, 14336, 32000, 32768, {
      architecture: "MixtralForCausalLM",
      family: "moe",
      numExperts: 8,
      topK: 2,
      moeIntermediate: 14336,
      denseLayers: 0,
    }),
    aliases: ["mixtral-8x7b", ...withBasenames(["mistralai/Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-Instruct-v0.1"])],
    quantizedAliases: [],
  },
  {
    spec: llama("TinyLlama-1.1B", 22, 2048, 32, 4, 64, 5632, 32000, 2048),
    aliases: ["tinyllama-1.1b", "tinyllama", ...withBasenames(["TinyLlama/TinyLlama-1.1B-Chat-v1.0"])],
    quantizedAliases: [],
  },
  {
    spec: deepseekV3("DeepSeek-R1", {
      layers: 61,
      hidden: 7168,
      heads: 128,
      dense: 18432,
      experts: 256,
      topK: 8,
      moeInter: 2048,
      shared: 1,
      firstKDense: 3,
      mla: [1536, 512, 128, 64, 128],
      vocab: 129280,
      maxPos: 163840,
      mtp: 1,
    }),
    aliases: ["deepseek-r1", ...withBasenames(["deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-R1-0528"])],
    native: FP8_BLOCK,
    quantizedAliases: [
      ...withBasenames(["nvidia/DeepSeek-R1-FP4"]).map((id) => ({ id, ...NVFP4_ATTN_BF16, kv: "bf16" as const })),
      ...withBasenames(["nvidia/DeepSeek-R1-0528-FP4", "nvidia/DeepSeek-R1-NVFP4", "nvidia/DeepSeek-R1-0528-NVFP4"]).map((id) => ({ id, ...NVFP4_ATTN_BF16 })),
    ],
  },
  {
    spec: deepseekV3("DeepSeek-V3", {
      layers: 61,
      hidden: 7168,
      heads: 128,
      dense: 18432,
      experts: 256,
      topK: 8,
      moeInter: 2048,
      shared: 1,
      firstKDense: 3,
      mla: [1536, 512, 128, 64, 128],
      vocab: 129280,
      maxPos: 163840,
      mtp: 1,
    }),
    aliases: ["deepseek-v3", ...withBasenames(["deepseek-ai/DeepSeek-V3", "deepseek-ai/DeepSeek-V3-0324", "deepseek-ai/DeepSeek-V3.1"])],
    native: FP8_BLOCK,
    quantizedAliases: withBasenames(["nvidia/DeepSeek-V3.1-NVFP4"]).map((id) => ({ id, weight: "nvfp4", kv: "fp8", groups: { qkv: "bf16" } })),
  },
  {
    spec: deepseekV3("Kimi-K2.5", {
      layers: 61,
      hidden: 7168,
      heads: 64,
      dense: 18432,
      experts: 384,
      topK: 8,
      moeInter: 2048,
      shared: 1,
      firstKDense: 1,
      mla: [1536, 512, 128, 64, 128],
      vocab: 163840,
      maxPos: 262144,
      mtp: 0,
    }),
    aliases: ["kimi-k2.5", ...withBasenames(["moonshotai/Kimi-K2.5"])],
    // The released checkpoint: INT4 (group 32) routed experts, everything else bf16.
    native: { weight: "int4", kv: "bf16", groups: { qkv: "bf16", o: "bf16", denseMlp: "bf16", sharedExpert: "bf16" } },
    quantizedAliases: withBasenames(["nvidia/Kimi-K2.5-NVFP4"]).map((id) => ({ id, ...NVFP4_ATTN_BF16 })),
  },
  {
    spec: deepseekV3("Kimi-K2", {
      layers: 61,
      hidden: 7168,
      heads: 64,
      dense: 18432,
      experts: 384,
      topK: 8,
      moeInter: 2048,
      shared: 1,
      firstKDense: 1,
      mla: [1536, 512, 128, 64, 128],
      vocab: 163840,
      maxPos: 131072,
      mtp: 0,
    }),
    aliases: ["kimi-k2", ...withBasenames(["moonshotai/Kimi-K2-Instruct", "moonshotai/Kimi-K2-Instruct-0905", "moonshotai/Kimi-K2-Base"])],
    native: FP8_BLOCK,
    quantizedAliases: [],
  },
  {
    spec: {
      ...deepseekV3("GLM-5", {
        layers: 78,
        hidden: 6144,
        heads: 64,
        dense: 12288,
        experts: 256,
        topK: 8,
        moeInter: 2048,
        shared: 1,
        firstKDense: 3,
        mla: [2048, 512, 192, 64, 256],
        vocab: 154880,
        maxPos: 202752,
        mtp: 1,
        architecture: "GlmMoeDsaForCausalLM",
      }),
      dsa: { indexTopk: 2048, indexHeads: 32, indexHeadDim: 128 },
    },
    aliases: ["glm-5", ...withBasenames(["zai-org/GLM-5"])],
    quantizedAliases: [
      ...withBasenames(["zai-org/GLM-5-FP8"]).map((id) => ({ id, ...FP8_BLOCK })),
      ...withBasenames(["nvidia/GLM-5-NVFP4"]).map((id) => ({ id, ...NVFP4_ATTN_BF16 })),
    ],
  },
  {
    spec: gqaMoe(
      "gpt-oss-120b",
      "GptOssForCausalLM",
      { layers: 36, hidden: 2880, heads: 64, kvHeads: 8, headDim: 64, experts: 128, topK: 4, moeInter: 2880, vocab: 201088, maxPos: 131072 },
      {
        qkvBias: true,
        oBias: true,
        slidingWindow: 128,
        slidingLayers: alternating(36),
        attentionSinks: true,
        routerBias: true,
        expertBias: true,
        notes: GPT_OSS_NOTES,
      },
    ),
    aliases: withBasenames(["openai/gpt-oss-120b"]),
    native: GPT_OSS_EXPERTS,
    quantizedAliases: [],
  },
  {
    spec: gqaMoe(
      "gpt-oss-20b",
      "GptOssForCausalLM",
      { layers: 24, hidden: 2880, heads: 64, kvHeads: 8, headDim: 64, experts: 32, topK: 4, moeInter: 2880, vocab: 201088, maxPos: 131072 },
      {
        qkvBias: true,
        oBias: true,
        slidingWindow: 128,
        slidingLayers: alternating(24),
        attentionSinks: true,
        routerBias: true,
        expertBias: true,
        notes: GPT_OSS_NOTES,
      },
    ),
    aliases: withBasenames(["openai/gpt-oss-20b"]),
    native: GPT_OSS_EXPERTS,
    quantizedAliases: [],
  },
  {
    spec: gqaMoe(
      "Qwen3-235B-A22B",
      "Qwen3MoeForCausalLM",
      { layers: 94, hidden: 4096, heads: 64, kvHeads: 4, headDim: 128, experts: 128, topK: 8, moeInter: 1536, vocab: 151936, maxPos: 40960, dense: 12288 },
      { qkNorm: true },
    ),
    aliases: ["qwen3-235b-a22b", ...withBasenames(["Qwen/Qwen3-235B-A22B", "Qwen/Qwen3-235B-A22B-Instruct-2507", "Qwen/Qwen3-235B-A22B-Thinking-2507"])],
    quantizedAliases: [
      ...withBasenames(["Qwen/Qwen3-235B-A22B-FP8", "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", "Qwen/Qwen3-235B-A22B-Thinking-2507-FP8"]).map((id) => ({
        id,
        ...FP8_BLOCK,
      })),
      ...withBasenames(["nvidia/Qwen3-235B-A22B-NVFP4"]).map((id) => ({ id, weight: "nvfp4" as const, kv: "fp8" as const })),
    ],
  },
  {
    spec: gqaMoe(
      "Qwen3-30B-A3B",
      "Qwen3MoeForCausalLM",
      { layers: 48, hidden: 2048, heads: 32, kvHeads: 4, headDim: 128, experts: 128, topK: 8, moeInter: 768, vocab: 151936, maxPos: 40960, dense: 6144 },
      { qkNorm: true },
    ),
    aliases: ["qwen3-30b-a3b", ...withBasenames(["Qwen/Qwen3-30B-A3B", "Qwen/Qwen3-30B-A3B-Instruct-2507"])],
    quantizedAliases: withBasenames(["Qwen/Qwen3-30B-A3B-FP8"]).map((id) => ({ id, ...FP8_BLOCK })),
  },
  {
    spec: gqaMoe(
      "MiniMax-M2.5",
      "MiniMaxM2ForCausalLM",
      { layers: 62, hidden: 3072, heads: 48, kvHeads: 8, headDim: 128, experts: 256, topK: 8, moeInter: 1536, vocab: 200064, maxPos: 196608 },
      {
        qkNorm: true,
        qkNormPerLayer: true,
        routerBias: true,
        mtpLayers: 3,
        notes: [
          "partial rotary embedding (rotary_dim) and the per-layer q/k norm cost no extra time",
          "the MTP modules (num_mtp_modules) are priced as draft layers only when a batch carries draft tokens",
        ],
      },
    ),
    aliases: ["minimax-m2.5", ...withBasenames(["MiniMaxAI/MiniMax-M2.5", "MiniMaxAI/MiniMax-M2"])],
    native: FP8_BLOCK,
    quantizedAliases: withBasenames(["nvidia/MiniMax-M2.5-NVFP4"]).map((id) => ({ id, ...NVFP4_ATTN_BF16 })),
  },
];

export interface CatalogHit {
  spec: ModelSpec;
  /** Precision implied by the name (quantized or natively quantized checkpoints); undefined = bf16 default. */
  weight?: Precision;
  kv?: Precision;
  /** The checkpoint's per-group precisions. */
  quant?: CheckpointQuant;
}

function hitOf(spec: ModelSpec, preset: QuantPreset | undefined, id: string): CatalogHit {
  if (!preset) return { spec };
  return { spec, weight: preset.weight, kv: preset.kv, quant: { weight: preset.weight, groups: preset.groups ?? {}, kv: preset.kv, source: `catalog: ${id}` } };
}

const LOOKUP: ReadonlyMap<string, CatalogHit> = (() => {
  const m = new Map<string, CatalogHit>();
  for (const e of MODEL_CATALOG) {
    m.set(e.spec.name.toLowerCase(), hitOf(e.spec, e.native, e.spec.name));
    for (const a of e.aliases) m.set(a.toLowerCase(), hitOf(e.spec, e.native, a));
    for (const q of e.quantizedAliases) m.set(q.id.toLowerCase(), hitOf(e.spec, q, q.id));
  }
  return m;
})();

/** Looks a model up by short name or Hugging Face id (case-insensitive). */
export function lookupModel(name: string): CatalogHit | undefined {
  return LOOKUP.get(name.trim().toLowerCase());
}

/** Weight bytes held by one GPU: all parameters at the weight precision, split evenly over TP × PP. */
export function weightBytesPerGpu(m: ModelSpec, weight: Precision, tp: number, pp: number): number {
  return (paramCount(m) * bytesPerElement(weight)) / (tp * pp);
}
