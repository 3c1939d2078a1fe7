import type { ModelArchitecture } from "@servesim/wire/predictor";
import type { Precision } from "../dtypes.js";
import { bytesPerElement } from "../dtypes.js";

/** AIC operator graph the model maps to (performance-model.md §2). */
export type ModelFamily = "llama" | "moe";

/** A resolved model architecture (the fields of a Hugging Face config.json that matter for cost). */
export interface ModelSpec {
  name: string;
  /** Hugging Face architecture class, e.g. LlamaForCausalLM. */
  architecture: string;
  family: ModelFamily;
  numLayers: number;
  hidden: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** FFN width (per expert for MoE). */
  intermediate: number;
  vocab: number;
  /** 0 for dense models. */
  numExperts: number;
  topK: number;
  qkvBias: boolean;
  /** Per-head RMSNorm on q and k (Qwen3): 2·head_dim weights per layer. */
  qkNorm: boolean;
  tiedEmbeddings: boolean;
  maxPositionEmbeddings: number;
}

export interface CatalogModelEntry {
  spec: ModelSpec;
  /** Short names and Hugging Face ids that resolve to this model at its default (bf16) precision. */
  aliases: string[];
  /** Checkpoints of the same architecture shipped quantized: id → default weight/KV precision. */
  quantizedAliases: Array<{ id: string; weight: Precision; kv: Precision }>;
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
  ...extra,
});

/** Hugging Face ids plus their part after the slash, so "Llama-3.1-8B-Instruct" works too. */
const withBasenames = (ids: string[]): string[] => ids.flatMap((id) => (id.includes("/") ? [id, id.slice(id.indexOf("/") + 1)] : [id]));

const FP8 = { weight: "fp8", kv: "fp8" } as const;

/** Built-in models (performance-model.md §8; Qwen3-32B and Llama-3.3-70B from their config.json). */
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
    quantizedAliases: [],
  },
  {
    spec: llama("Mixtral-8x7B", 32, 4096, 32, 8, 128, 14336, 32000, 32768, {
      architecture: "MixtralForCausalLM",
      family: "moe",
      numExperts: 8,
      topK: 2,
    }),
    aliases: ["mixtral-8x7b", ...withBasenames(["mistralai/Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-Instruct-v0.1"])],
    quantizedAliases: [],
  },
  {
    spec: llama("TinyLlama-1.1B", 22, 2048, 32, 4, 64, 5632, 32000, 2048),
    aliases: ["tinyllama-1.1b", "tinyllama", ...withBasenames(["TinyLlama/TinyLlama-1.1B-Chat-v1.0"])],
    quantizedAliases: [],
  },
];

export interface CatalogHit {
  spec: ModelSpec;
  /** Precision implied by the name (quantized checkpoints); undefined = bf16 default. */
  weight?: Precision;
  kv?: Precision;
}

const LOOKUP: ReadonlyMap<string, CatalogHit> = (() => {
  const m = new Map<string, CatalogHit>();
  for (const e of MODEL_CATALOG) {
    m.set(e.spec.name.toLowerCase(), { spec: e.spec });
    for (const a of e.aliases) m.set(a.toLowerCase(), { spec: e.spec });
    for (const q of e.quantizedAliases) m.set(q.id.toLowerCase(), { spec: e.spec, weight: q.weight, kv: q.kv });
  }
  return m;
})();

/** Looks a model up by short name or Hugging Face id (case-insensitive). */
export function lookupModel(name: string): CatalogHit | undefined {
  return LOOKUP.get(name.trim().toLowerCase());
}

/**
 * Parameter count (performance-model.md §8):
 * `2·V·h + L·(h·H·d + 2·h·K·d + H·d·h + 3·h·I + 2h) + h`, plus QKV bias, q/k norms, MoE experts and router.
 */
export function paramCount(m: ModelSpec): number {
  const { hidden: h, numHeads: H, numKvHeads: K, headDim: d, intermediate: I, vocab: V, numLayers: L } = m;
  const embeddings = (m.tiedEmbeddings ? 1 : 2) * V * h;
  const attention = h * H * d + 2 * h * K * d + H * d * h;
  const ffn = m.family === "moe" ? m.numExperts * 3 * h * I + h * m.numExperts : 3 * h * I;
  const bias = m.qkvBias ? H * d + 2 * K * d : 0;
  const qkNorm = m.qkNorm ? 2 * d : 0;
  return embeddings + L * (attention + ffn + 2 * h + bias + qkNorm) + h;
}

/** Weight bytes held by one GPU: all parameters at the weight precision, split evenly over TP × PP. */
export function weightBytesPerGpu(m: ModelSpec, weight: Precision, tp: number, pp: number): number {
  return (paramCount(m) * bytesPerElement(weight)) / (tp * pp);
}

/** KV-cache bytes per token on one GPU: `2·ceil(L/pp)·ceil(K/tp)·d·bytes` (trtllm-scheduling.md §8). */
export function kvBytesPerTokenPerGpu(m: ModelSpec, kv: Precision, tp: number, pp = 1): number {
  return 2 * Math.ceil(m.numLayers / pp) * Math.ceil(m.numKvHeads / tp) * m.headDim * bytesPerElement(kv);
}

/** The proto form of a model (DescribePredictor / ListCatalog). */
export function toModelArchitecture(m: ModelSpec): ModelArchitecture {
  return {
    name: m.name,
    architecture: m.architecture,
    numHiddenLayers: m.numLayers,
    hiddenSize: m.hidden,
    numAttentionHeads: m.numHeads,
    numKeyValueHeads: m.numKvHeads,
    headDim: m.headDim,
    intermediateSize: m.intermediate,
    vocabSize: m.vocab,
    numLocalExperts: m.numExperts,
    numExpertsPerTok: m.topK,
    attentionBias: m.qkvBias,
    tieWordEmbeddings: m.tiedEmbeddings,
    maxPositionEmbeddings: m.maxPositionEmbeddings,
  };
}
