import { InvalidArgumentError } from "@servesim/core";
import { type GpuSpec, ncclMemFor } from "./catalog/gpus.js";
import { attentionParams, kvBytesPerTokenPerLayer, mtpParamCount, paramGroups, slidingLayerCount } from "./catalog/modelSpec.js";
import { kvBytesPerTokenPerGpu, type ModelSpec, paramCount, weightBytesPerGpu } from "./catalog/models.js";
import type { OpPrecisions } from "./catalog/quant.js";
import { bytesPerElement, type Precision, weightBytesPerElement } from "./dtypes.js";

/**
 * How weights and KV heads spread over the GPUs of a run, beyond TP × PP (from a ResolvedRun). Without
 * it, every weight is at the weight precision and split evenly over TP × PP.
 */
export interface WeightLayout {
  /** Attention DP: attention, dense FFN, shared experts, embedding and LM head are whole on every rank. */
  attentionDp: boolean;
  precisions: OpPrecisions;
  /** Count every weight at the headline precision, split over TP × PP (servesim's dense-model accounting). */
  uniform: boolean;
  /** MTP draft layers held in memory (on the last pipeline stage). */
  mtpLayers?: number;
}

/**
 * Weight bytes on one GPU. Under attention TP the attention projections (but MLA's replicated
 * down-projections), dense FFN, shared experts, embedding and LM head split over TP; under attention DP they
 * are whole on every rank. Routed experts split over moe_tp × moe_ep = TP either way; router and norms are
 * whole. Everything splits over PP. 4-bit formats count their scales.
 */
export function weightBytesPerRank(m: ModelSpec, weight: Precision, tp: number, pp: number, layout?: WeightLayout): number {
  if (!layout || (layout.uniform && !layout.attentionDp && !layout.mtpLayers)) return weightBytesPerGpu(m, weight, tp, pp);
  const g = paramGroups(m);
  const q = layout.precisions;
  const b = (p: Precision): number => (layout.uniform ? bytesPerElement(weight) : weightBytesPerElement(p));
  const attnTp = layout.attentionDp ? 1 : tp;
  const embed = layout.uniform ? bytesPerElement(weight) : 2;
  const replicated = m.numLayers * attentionParams(m).replicated;
  const qkv = g.attention - g.attentionOut - replicated;
  const split = (g.embedding + g.lmHead) * embed + qkv * b(q.qkv) + g.attentionOut * b(q.o) + g.denseMlp * b(q.denseMlp) + g.sharedExpert * b(q.sharedExpert);
  const whole = replicated * b(q.qkv) + (g.router + g.norms) * embed;
  const experts = g.experts * b(q.experts);
  const mtp = (layout.mtpLayers ?? 0) > 0 ? (mtpParamCount({ ...m, mtpLayers: layout.mtpLayers! }) * b(q.experts)) / tp : 0;
  return (split / attnTp + whole + experts / tp + mtp) / pp;
}

/** KV bytes per token on one GPU: the stage's layers (and MTP layers) at the attention TP of the run. */
export function kvBytesPerTokenPerRank(m: ModelSpec, kv: Precision, tp: number, pp: number, layout?: WeightLayout): number {
  if (!layout || (!layout.attentionDp && !layout.mtpLayers)) return kvBytesPerTokenPerGpu(m, kv, tp, pp);
  const attnTp = layout.attentionDp ? 1 : tp;
  return (Math.ceil(m.numLayers / pp) + (layout.mtpLayers ?? 0)) * kvBytesPerTokenPerLayer(m, kv, attnTp);
}

const GiB = 2 ** 30;

export interface KvCapacityInput {
  model: ModelSpec;
  gpu: GpuSpec;
  tp: number;
  pp: number;
  weightDtype: Precision;
  kvDtype: Precision;
  maxNumTokens: number;
  maxBatchSize: number;
  /** kv_cache_config.free_gpu_memory_fraction (default 0.9). */
  freeGpuMemoryFraction?: number;
  /** Activation bytes per token per hidden element / 2 B (default 12). */
  actFactor?: number;
  tokensPerBlock?: number;
  /** kv_cache_config.max_tokens: caps the token capacity. */
  maxTokens?: number;
  /** The run's weight layout (attention DP, per-group precisions, MTP layers); unset = even TP × PP split. */
  layout?: WeightLayout;
  /**
   * kv_cache_config.max_attention_window set to the model's windows: sliding-window layers keep only
   * their window (+ one block) per request, in pools of their own. Default false: TensorRT-LLM keeps every
   * layer's KV at full length.
   */
  capSlidingWindows?: boolean;
}

/** Memory budget of one GPU and the KV pool it leaves (all bytes). */
export interface KvCapacity {
  totalMem: number;
  weights: number;
  /** max_num_tokens × hidden × 2 B × ACT_FACTOR. */
  activations: number;
  /** max_batch_size × vocab × 4 B (fp32 logits). */
  logits: number;
  /** other_mem + nccl_mem[tp]. */
  reserved: number;
  kvMem: number;
  /** With capSlidingWindows: the sliding layers' pools for max_batch_size requests (inside kvMem). */
  windowMem: number;
  kvBytesPerToken: number;
  maxTokens: number;
  numBlocks: number;
}

/**
 * KV capacity of one GPU from its memory (as KvCacheCreator in tensorrt_llm/_torch/pyexecutor/_util.py):
 * `kv_mem = max(0, total − weights − activations − reserved) × free_gpu_memory_fraction`,
 * tokens = floor(kv_mem / kv_bytes_per_token) (capped by max_tokens), blocks = floor(tokens / tpb).
 */
export function kvCapacity(inp: KvCapacityInput): KvCapacity {
  const fraction = inp.freeGpuMemoryFraction ?? 0.9;
  const actFactor = inp.actFactor ?? 12;
  const tpb = inp.tokensPerBlock ?? 32;
  if (!(fraction > 0 && fraction <= 1)) throw new InvalidArgumentError("free_gpu_memory_fraction", `must be in (0, 1] (got ${fraction})`);
  if (!(actFactor >= 0)) throw new InvalidArgumentError("act_factor", `must be >= 0 (got ${actFactor})`);
  if (!Number.isInteger(tpb) || tpb < 1) throw new InvalidArgumentError("tokens_per_block", `must be a positive integer (got ${tpb})`);
  const totalMem = inp.gpu.memCapacity;
  const weights = weightBytesPerRank(inp.model, inp.weightDtype, inp.tp, inp.pp, inp.layout);
  const activations = inp.maxNumTokens * inp.model.hidden * 2 * actFactor;
  const logits = inp.maxBatchSize * inp.model.vocab * 4;
  const reserved = inp.gpu.otherMem + ncclMemFor(inp.gpu, inp.tp);
  const kvMem = Math.max(0, totalMem - weights - activations - logits - reserved) * fraction;
  let kvBytesPerToken = kvBytesPerTokenPerRank(inp.model, inp.kvDtype, inp.tp, inp.pp, inp.layout);
  let windowMem = 0;
  const sliding = slidingLayerCount(inp.model);
  if (inp.capSlidingWindows && sliding > 0) {
    // The stage's share of the sliding layers, each holding window + one block per request.
    const perLayer = kvBytesPerTokenPerLayer(inp.model, inp.kvDtype, inp.layout?.attentionDp ? 1 : inp.tp);
    const stageSliding = Math.ceil(sliding / inp.pp);
    kvBytesPerToken -= stageSliding * perLayer;
    windowMem = Math.min(kvMem, inp.maxBatchSize * (inp.model.slidingWindow + tpb) * stageSliding * perLayer);
  }
  let maxTokens = kvBytesPerToken > 0 ? Math.floor((kvMem - windowMem) / kvBytesPerToken) : 0;
  if (inp.maxTokens !== undefined && inp.maxTokens > 0) maxTokens = Math.min(maxTokens, inp.maxTokens);
  return { totalMem, weights, activations, logits, reserved, kvMem, windowMem, kvBytesPerToken, maxTokens, numBlocks: Math.floor(maxTokens / tpb) };
}

export interface BenchHeuristicInput {
  model: ModelSpec;
  tp: number;
  pp: number;
  weightDtype: Precision;
  kvDtype: Precision;
  /** Device memory in bytes (system YAML mem_capacity). */
  deviceMemBytes: number;
  /** Dataset averages (truncated to integers as trtllm-bench does). */
  avgIsl: number;
  avgOsl: number;
  /** Longest prompt of the dataset. */
  maxIsl: number;
  chunkedPrefill: boolean;
  /** --kv_cache_free_gpu_mem_fraction (default 0.90). */
  kvFraction?: number;
  /** User-given values win; the heuristic fills the other. */
  maxBatchSize?: number;
  maxNumTokens?: number;
  /** Per-group precisions (the heuristic reads the checkpoint's quant_algo and parameter count). */
  precisions?: OpPrecisions;
}

/** trtllm-bench's bytes per weight element (tuning.py BYTES_PER_ELEM): only FP8, FP8 block and NVFP4 are below 2. */
function benchBytesPerElement(p: Precision): number {
  return p === "fp8" || p === "fp8_block" ? 1 : p === "nvfp4" ? 0.5 : 2;
}

/**
 * The parameter count trtllm-bench reads from the checkpoint's safetensors headers: every tensor's element
 * count, MTP layers included; packed 4-bit weights count their storage elements (NVFP4: k/2 bytes plus
 * k/16 scales per row; MXFP4: k/2 + k/32; INT4 packed in int32: k/8 + k/32 group scales).
 */
export function checkpointElements(m: ModelSpec, precisions: OpPrecisions): number {
  const g = paramGroups(m);
  const packed = (p: Precision): number => (p === "nvfp4" ? 9 / 16 : p === "mxfp4" ? 17 / 32 : p === "int4" ? 5 / 32 : 1);
  const qkv = g.attention - g.attentionOut;
  let n = g.embedding + g.lmHead + g.router + g.norms;
  n += qkv * packed(precisions.qkv) + g.attentionOut * packed(precisions.o) + g.denseMlp * packed(precisions.denseMlp);
  n += g.sharedExpert * packed(precisions.sharedExpert) + g.experts * packed(precisions.experts);
  return Math.round(n + mtpParamCount(m) * packed(precisions.experts));
}

export interface BenchHeuristic {
  maxBatchSize: number;
  maxNumTokens: number;
  /** Intermediate values in GiB (for run headers and tests). */
  bytePerTokenGiB: number;
  engineSizeGiB: number;
  totalMemGiB: number;
  cacheMemGiB: number;
  kvMaxRequests: number;
}

/**
 * trtllm-bench's max_batch_size / max_num_tokens heuristic (`calc_engine_setting` + `finetune_setting`,
 * tensorrt_llm/bench/build/tuning.py). Throws when the model does not fit or leaves no room for one request's KV.
 */
export function benchHeuristic(inp: BenchHeuristicInput): BenchHeuristic {
  const kvFraction = inp.kvFraction ?? 0.9;
  const avgIsl = Math.trunc(inp.avgIsl);
  const avgOsl = Math.trunc(inp.avgOsl);
  if (avgIsl < 1 || avgOsl < 1) throw new InvalidArgumentError("dataset", `average input and output lengths must be >= 1 (got ${inp.avgIsl}, ${inp.avgOsl})`);
  const m = inp.model;
  const bytePerTokenGiB = (2 * m.numLayers * Math.max(inp.tp, m.numKvHeads) * m.headDim * bytesPerElement(inp.kvDtype)) / GiB;
  // Dense models keep servesim's original estimate (parameters × the weight precision's bytes).
  const engineSizeGiB = inp.precisions
    ? (checkpointElements(m, inp.precisions) * benchBytesPerElement(inp.weightDtype)) / GiB
    : (paramCount(m) * bytesPerElement(inp.weightDtype)) / GiB;
  const totalMemGiB = (inp.deviceMemBytes / GiB) * inp.tp * inp.pp;
  if (totalMemGiB < engineSizeGiB) {
    throw new InvalidArgumentError(
      "config.parallelism.tp",
      `The model requires at least ${engineSizeGiB.toFixed(2)} GiB of weights, but TP${inp.tp} × PP${inp.pp} provides ${totalMemGiB.toFixed(2)} GiB`,
    );
  }
  const cacheMemGiB = (totalMemGiB - engineSizeGiB) * kvFraction;
  const kvMaxRequests = cacheMemGiB / (bytePerTokenGiB * (avgIsl + avgOsl));
  if (kvMaxRequests < 1) {
    throw new InvalidArgumentError(
      "config.parallelism.tp",
      `insufficient memory for the KV cache: ${cacheMemGiB.toFixed(2)} GiB holds ${kvMaxRequests.toFixed(2)} requests of ${avgIsl + avgOsl} tokens`,
    );
  }
  const rawBs = Math.min(kvMaxRequests, 4096) / inp.pp;
  const rawTok = Math.min(rawBs * (1 + avgIsl / avgOsl), 32768);
  const heuristicBs = rawBs < 256 ? Math.max(64, 32 * Math.ceil(rawBs / 32)) : rawBs < 1024 ? 128 * Math.ceil(rawBs / 128) : 256 * Math.ceil(rawBs / 256);
  let heuristicTok =
    rawTok < 4096 ? Math.max(2048, 256 * Math.ceil(rawTok / 256)) : rawTok < 8192 ? 512 * Math.ceil(rawTok / 512) : 1024 * Math.ceil(rawTok / 1024);
  const maxBatchSize = inp.maxBatchSize ?? heuristicBs;
  if (!inp.chunkedPrefill) heuristicTok = Math.max(heuristicTok, inp.maxIsl + maxBatchSize);
  const maxNumTokens = inp.maxNumTokens ?? heuristicTok;
  return { maxBatchSize, maxNumTokens, bytePerTokenGiB, engineSizeGiB, totalMemGiB, cacheMemGiB, kvMaxRequests };
}
