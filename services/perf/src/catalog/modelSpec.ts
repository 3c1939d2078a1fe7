import type { ModelArchitecture } from "@servesim/wire/predictor";
import type { Precision } from "../dtypes.js";
import { bytesPerElement } from "../dtypes.js";

/** Dense FFN models (the AIC LLAMA graph) or models with mixture-of-experts layers. */
export type ModelFamily = "llama" | "moe";

/** GQA/MHA attention with a K and V cache per KV head, or multi-head latent attention (one latent per token). */
export type AttentionKind = "gqa" | "mla";

/** Multi-head latent attention (DeepSeek-V2/V3): low-rank q and a compressed KV latent with a decoupled RoPE key. */
export interface MlaDims {
  /** 0 = full-rank q projection. */
  qLoraRank: number;
  kvLoraRank: number;
  qkNopeHeadDim: number;
  qkRopeHeadDim: number;
  vHeadDim: number;
}

/** DeepSeek sparse attention (DeepSeek-V3.2, GLM-5): an indexer picks `indexTopk` tokens per query. */
export interface DsaDims {
  indexTopk: number;
  indexHeads: number;
  indexHeadDim: number;
}

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
  /** Dense FFN width (all layers of a dense model; DeepSeek's first_k_dense_replace layers). Mixtral-style MoE: the expert width. */
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
  attention: AttentionKind;
  /** Set when attention is "mla". */
  mla: MlaDims | null;
  /** Set for sparse (DSA) MLA models. */
  dsa: DsaDims | null;
  /** Routed-expert FFN width (0 for dense models). */
  moeIntermediate: number;
  /** Total shared-expert FFN width per MoE layer (n_shared_experts × width); 0 = none. */
  sharedIntermediate: number;
  /** Layers with a dense FFN of `intermediate`: all of a dense model, the first k of DeepSeek, none of Qwen3-MoE. */
  denseLayers: number;
  /** Sliding-window size of the sliding layers (0 = none). */
  slidingWindow: number;
  /** Which layers slide (null: none). */
  slidingLayers: readonly boolean[] | null;
  /** Learned per-head attention sinks (gpt-oss): H parameters per layer, no cost. */
  attentionSinks: boolean;
  /** o_proj bias (gpt-oss). */
  oBias: boolean;
  /** Per-head q/k norm over all heads at once (MiniMax-M2 "per_layer"): (H + K)·d weights per layer instead of 2·d. */
  qkNormPerLayer: boolean;
  /** Router bias or score-correction bias: E parameters per MoE layer. */
  routerBias: boolean;
  /** Bias on every expert's FFN (gpt-oss): E·(2·I + h) per MoE layer. */
  expertBias: boolean;
  /** MTP draft layers that come with the checkpoint (num_nextn_predict_layers); not in paramCount. */
  mtpLayers: number;
  /** What the model's cost model approximates (one sentence each; shown by DescribePredictor). */
  notes: readonly string[];
}

/** The defaults of the fields a dense GQA model leaves unset. */
export const DENSE_DEFAULTS = {
  attention: "gqa",
  mla: null,
  dsa: null,
  moeIntermediate: 0,
  sharedIntermediate: 0,
  slidingWindow: 0,
  slidingLayers: null,
  attentionSinks: false,
  oBias: false,
  qkNormPerLayer: false,
  routerBias: false,
  expertBias: false,
  mtpLayers: 0,
  notes: [],
} as const satisfies Partial<ModelSpec>;

/** MoE layers (all layers but the dense ones; 0 for dense models). */
export function moeLayers(m: ModelSpec): number {
  return m.family === "moe" ? m.numLayers - m.denseLayers : 0;
}

/** Number of sliding-window layers. */
export function slidingLayerCount(m: ModelSpec): number {
  return m.slidingLayers ? m.slidingLayers.filter(Boolean).length : 0;
}

/** Parameters by weight group: what a group's precision and sharding apply to. */
export interface ParamGroups {
  embedding: number;
  lmHead: number;
  /** q/k/v/o projections (MLA: q_a, q_b, kv_a, kv_b, o; DSA indexer), biases, q/k norms, sinks. */
  attention: number;
  /** The o_proj share of `attention` (its precision may differ). */
  attentionOut: number;
  denseMlp: number;
  sharedExpert: number;
  experts: number;
  router: number;
  /** RMSNorm weights (two per layer plus the final one). */
  norms: number;
}

/**
 * Attention parameters of one layer: the total, the o_proj share, and the share every TP rank holds whole
 * (MLA's q_a/kv_a down-projections and their norms, the DSA indexer's key path).
 */
export function attentionParams(m: ModelSpec): { total: number; out: number; replicated: number } {
  const { hidden: h, numHeads: H } = m;
  if (m.mla) {
    const { qLoraRank: q, kvLoraRank: kv, qkNopeHeadDim: nope, qkRopeHeadDim: rope, vHeadDim: v } = m.mla;
    const qProj = q > 0 ? h * q + q + q * H * (nope + rope) : h * H * (nope + rope);
    const kvProj = h * (kv + rope) + kv + kv * H * (nope + v);
    const out = H * v * h;
    let indexer = 0;
    let indexerReplicated = 0;
    if (m.dsa) {
      const { indexHeads: ih, indexHeadDim: id } = m.dsa;
      // wq_b (q latent → heads), wk (hidden → one key), its LayerNorm (weight + bias), weights_proj (hidden → per-head weights).
      indexer = (q > 0 ? q : h) * ih * id + h * id + 2 * id + h * ih;
      indexerReplicated = h * id + 2 * id;
    }
    const replicated = (q > 0 ? h * q + q : 0) + h * (kv + rope) + kv + indexerReplicated;
    return { total: qProj + kvProj + out + indexer, out, replicated };
  }
  const { numKvHeads: K, headDim: d } = m;
  const out = H * d * h + (m.oBias ? h : 0);
  let total = h * H * d + 2 * h * K * d + out;
  if (m.qkvBias) total += H * d + 2 * K * d;
  if (m.qkNorm) total += m.qkNormPerLayer ? (H + K) * d : 2 * d;
  if (m.attentionSinks) total += H;
  return { total, out, replicated: 0 };
}

/**
 * Parameters of the MTP draft layers shipped with a checkpoint (DeepSeek-V3's layer 61): each is one MoE
 * decoder layer plus the projection of [embedding; hidden] (2h × h) and its norms; embedding and LM head
 * are shared with the main model.
 */
export function mtpParamCount(m: ModelSpec): number {
  if (m.mtpLayers === 0) return 0;
  const h = m.hidden;
  const attn = attentionParams(m).total;
  const ffn =
    m.family === "moe"
      ? m.numExperts * (3 * h * m.moeIntermediate + (m.expertBias ? 2 * m.moeIntermediate + h : 0)) +
        h * m.numExperts +
        (m.routerBias ? m.numExperts : 0) +
        3 * h * m.sharedIntermediate
      : 3 * h * m.intermediate;
  return m.mtpLayers * (attn + ffn + 2 * h + 2 * h * h + 3 * h);
}

export function paramGroups(m: ModelSpec): ParamGroups {
  const { hidden: h, vocab: V, numLayers: L } = m;
  const attn = attentionParams(m);
  const moeL = moeLayers(m);
  const denseL = m.family === "moe" ? m.denseLayers : L;
  const E = m.numExperts;
  return {
    embedding: V * h,
    lmHead: m.tiedEmbeddings ? 0 : V * h,
    attention: L * attn.total,
    attentionOut: L * attn.out,
    denseMlp: denseL * 3 * h * m.intermediate,
    sharedExpert: moeL * 3 * h * m.sharedIntermediate,
    experts: moeL * E * (3 * h * m.moeIntermediate + (m.expertBias ? 2 * m.moeIntermediate + h : 0)),
    router: moeL * (h * E + (m.routerBias ? E : 0)),
    norms: L * 2 * h + h,
  };
}

/**
 * Parameter count of the main model (MTP layers excluded), the sum of `paramGroups`. For a dense GQA
 * model (the checkpoint's weight tensors: embeddings, LM head, per-layer attention, MLP, norms): `2·V·h + L·(h·H·d + 2·h·K·d + H·d·h + 3·h·I + 2h) + h`, plus QKV bias
 * and q/k norms; an MoE layer has `E·3·h·I_e + h·E` (+ shared experts and biases) instead of `3·h·I`.
 */
export function paramCount(m: ModelSpec): number {
  const g = paramGroups(m);
  return g.embedding + g.lmHead + g.attention + g.denseMlp + g.sharedExpert + g.experts + g.router + g.norms;
}

/**
 * KV-cache bytes per token of one layer on one GPU. GQA: K and V of the layer's KV heads on this rank
 * (`2·ceil(K/tp)·d`; under attention DP every rank holds all heads). MLA: one compressed latent plus the
 * RoPE key (`kv_lora_rank + qk_rope_head_dim`) whatever the TP, as TensorRT-LLM's KVCacheManager sizes
 * it; DSA adds the indexer's FP8 key and its fp32 scale.
 */
export function kvBytesPerTokenPerLayer(m: ModelSpec, kv: Precision, attnTp: number): number {
  if (m.mla) {
    const latent = (m.mla.kvLoraRank + m.mla.qkRopeHeadDim) * bytesPerElement(kv);
    return latent + (m.dsa ? m.dsa.indexHeadDim + 4 : 0);
  }
  return 2 * Math.ceil(m.numKvHeads / attnTp) * m.headDim * bytesPerElement(kv);
}

/**
 * KV-cache bytes per token on one GPU of a pipeline stage (the stage with the most layers):
 * `ceil(L/pp)` layers of `kvBytesPerTokenPerLayer` (GQA: `2·ceil(L/pp)·ceil(K/tp)·d·bytes`).
 */
export function kvBytesPerTokenPerGpu(m: ModelSpec, kv: Precision, tp: number, pp = 1): number {
  if (m.mla) return Math.ceil(m.numLayers / pp) * kvBytesPerTokenPerLayer(m, kv, tp);
  return 2 * Math.ceil(m.numLayers / pp) * Math.ceil(m.numKvHeads / tp) * m.headDim * bytesPerElement(kv);
}

/** The proto form of a model (DescribePredictor / ListCatalog). */
export function toModelArchitecture(m: ModelSpec): ModelArchitecture {
  const a: ModelArchitecture = {
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
  if (m.mla) {
    a.qLoraRank = m.mla.qLoraRank;
    a.kvLoraRank = m.mla.kvLoraRank;
    a.qkNopeHeadDim = m.mla.qkNopeHeadDim;
    a.qkRopeHeadDim = m.mla.qkRopeHeadDim;
    a.vHeadDim = m.mla.vHeadDim;
  }
  if (m.dsa) {
    a.indexTopk = m.dsa.indexTopk;
    a.indexNHeads = m.dsa.indexHeads;
    a.indexHeadDim = m.dsa.indexHeadDim;
  }
  if (m.family === "moe" && m.moeIntermediate !== m.intermediate) a.moeIntermediateSize = m.moeIntermediate;
  if (m.sharedIntermediate > 0) a.sharedIntermediateSize = m.sharedIntermediate;
  if (m.family === "moe" && m.denseLayers > 0) a.firstKDenseReplace = m.denseLayers;
  if (m.slidingWindow > 0) {
    a.slidingWindow = m.slidingWindow;
    if (m.slidingLayers) a.layerTypes = { types: m.slidingLayers.map((s) => (s ? "sliding_attention" : "full_attention")) };
  }
  if (m.mtpLayers > 0) a.numNextnPredictLayers = m.mtpLayers;
  return a;
}
