import type { GpuSpec } from "./catalog/gpus.js";
import { bytesPerElement, computeMultiplier, type Precision, weightBytesPerElement } from "./dtypes.js";

/**
 * Speed-of-light work of each op kind (AIConfigurator's SOL mode, aiconfigurator/sdk/perf_database.py): FLOPs, bytes and the FLOP rate they run
 * at. Time = max(flops / flopRate, bytes / BW) in seconds. All functions allocate nothing.
 */

/** FLOP/s of the tensor cores at a precision (bf16 rate × AIC q_c). */
export function flopRate(gpu: GpuSpec, p: Precision): number {
  return gpu.bf16Flops * computeMultiplier(p);
}

export function gemmFlops(m: number, n: number, k: number): number {
  return 2 * m * n * k;
}

export function gemmBytes(m: number, n: number, k: number, p: Precision): number {
  return bytesPerElement(p) * (m * n + m * k + n * k);
}

export function gemmSolMs(gpu: GpuSpec, m: number, n: number, k: number, p: Precision): number {
  return 1000 * Math.max(gemmFlops(m, n, k) / flopRate(gpu, p), gemmBytes(m, n, k, p) / gpu.memBw);
}

/** Causal context attention of b sequences of full_s tokens, the first `prefix` already cached. */
export function ctxAttnFlops(b: number, fullS: number, prefix: number, heads: number, d: number): number {
  return 2 * b * (fullS * fullS - prefix * prefix) * heads * d;
}

export function ctxAttnBytes(b: number, fullS: number, prefix: number, heads: number, kvHeads: number, d: number, kv: Precision): number {
  return 2 * b * (2 * heads * (fullS - prefix) * d) + bytesPerElement(kv) * b * 2 * kvHeads * fullS * d;
}

export function ctxAttnSolMs(
  gpu: GpuSpec,
  b: number,
  fullS: number,
  prefix: number,
  heads: number,
  kvHeads: number,
  d: number,
  kv: Precision,
  fmha: Precision,
): number {
  return 1000 * Math.max(ctxAttnFlops(b, fullS, prefix, heads, d) / flopRate(gpu, fmha), ctxAttnBytes(b, fullS, prefix, heads, kvHeads, d, kv) / gpu.memBw);
}

/** Decode attention of b sequences at s (= past KV + 1): reads s − 1 cached tokens each. */
export function genAttnFlops(b: number, s: number, heads: number, d: number): number {
  return 4 * b * heads * d * (s - 1);
}

export function genAttnBytes(b: number, s: number, heads: number, kvHeads: number, d: number, kv: Precision): number {
  return b * (2 * heads * d + 2 * kvHeads * (s - 1) * d * bytesPerElement(kv) + 2 * heads * d);
}

/** Compute runs at the bf16 rate, or the fp8 rate with an fp8 KV cache. */
export function genAttnSolMs(gpu: GpuSpec, b: number, s: number, heads: number, kvHeads: number, d: number, kv: Precision): number {
  const rate = flopRate(gpu, kv === "fp8" ? "fp8" : "bf16");
  return 1000 * Math.max(genAttnFlops(b, s, heads, d) / rate, genAttnBytes(b, s, heads, kvHeads, d, kv) / gpu.memBw);
}

/** Bytes one GPU sends in a ring all-reduce of `elements` bf16 values over t GPUs (2·size·2 B/t·(t−1)). */
export function allReduceBytes(elements: number, t: number): number {
  return (2 * elements * 2 * (t - 1)) / t;
}

/**
 * Per-GPU bandwidth of a collective over t GPUs (AIC sdk/system_spec.py): NVLink inside a node, the
 * inter-node link inside the NVLink domain (NVLink itself on GB200/GB300 NVL72), the inter-rack network beyond.
 */
export function linkBandwidth(gpu: GpuSpec, t: number): number {
  if (t <= gpu.numGpusPerNode) return gpu.intraNodeBw;
  return t <= gpu.nvlinkDomain ? gpu.interNodeBw : gpu.interRackBw;
}

export function allReduceSolMs(gpu: GpuSpec, elements: number, t: number): number {
  return t <= 1 ? 0 : (1000 * allReduceBytes(elements, t)) / linkBandwidth(gpu, t);
}

/** MoE FFN with even expert load (router ignored): T tokens, top-k of E experts. */
export function moeFlops(T: number, h: number, I: number, k: number, tp: number, ep: number): number {
  return (T * k * h * I * 3 * 2) / ep / tp;
}

export function moeBytes(T: number, h: number, I: number, k: number, E: number, tp: number, ep: number, p: Precision): number {
  const tk = (T * k) / ep;
  return bytesPerElement(p) * (tk * h * 2 + (tk * I * 3) / tp + ((h * I * 3) / tp) * Math.min(E / ep, tk));
}

export function moeSolMs(gpu: GpuSpec, T: number, h: number, I: number, k: number, E: number, tp: number, ep: number, p: Precision): number {
  return 1000 * Math.max(moeFlops(T, h, I, k, tp, ep) / flopRate(gpu, p), moeBytes(T, h, I, k, E, tp, ep, p) / gpu.memBw);
}

/**
 * Causal attention area of a chunk: Σ over the queries p+1..fullS of the keys each attends, keys capped
 * at `cap` (a sliding window or DSA's top-k; 0 = no cap), in the continuous form (fullS² − p²)/2.
 */
export function causalArea(fullS: number, prefix: number, cap: number): number {
  if (cap <= 0 || fullS <= cap) return (fullS * fullS - prefix * prefix) / 2;
  if (prefix >= cap) return cap * (fullS - prefix);
  return (cap * cap - prefix * prefix) / 2 + cap * (fullS - cap);
}

/** Windowed GQA context attention: QK and PV over the capped causal area. */
export function windowCtxAttnFlops(b: number, fullS: number, prefix: number, heads: number, d: number, window: number): number {
  return 4 * b * heads * d * causalArea(fullS, prefix, window);
}

/** Windowed GQA context attention bytes: Q/O of the chunk, K/V of the tokens inside the window. */
export function windowCtxAttnBytes(b: number, fullS: number, prefix: number, heads: number, kvHeads: number, d: number, kv: Precision, window: number): number {
  const keys = window > 0 ? Math.min(fullS, fullS - prefix + window) : fullS;
  return 2 * b * (2 * heads * (fullS - prefix) * d) + bytesPerElement(kv) * b * 2 * kvHeads * keys * d;
}

/** Keys a decode step reads: s − 1 cached tokens, at most the window / top-k. */
export const genKeys = (s: number, cap: number): number => (cap > 0 ? Math.min(s - 1, cap) : s - 1);

/** MLA context (per layer, b sequences; the chunk's keys and values expanded per head by kv_b). */
export function mlaCtxFlops(b: number, fullS: number, prefix: number, heads: number, dq: number, dv: number, cap: number): number {
  return 2 * b * heads * (dq + dv) * causalArea(fullS, prefix, cap);
}

export function mlaCtxBytes(b: number, fullS: number, prefix: number, heads: number, dq: number, dv: number, kv: Precision): number {
  return b * heads * (bytesPerElement(kv) * fullS * (dq + dv) + 2 * (fullS - prefix) * (dq + dv));
}

/** MLA decode with absorbed projections: every head attends the cached latents (kv_lora + rope) and returns kv_lora values. */
export function mlaGenFlops(b: number, keys: number, heads: number, kvLora: number, rope: number): number {
  return 2 * b * heads * (2 * kvLora + rope) * keys;
}

export function mlaGenBytes(b: number, keys: number, heads: number, kvLora: number, rope: number, kv: Precision): number {
  return b * (heads * (2 * kvLora + rope) * 2 + keys * (kvLora + rope) * bytesPerElement(kv));
}

/** The absorbed decode BMMs: pre (q_nope × W_UK: nope → kv_lora) and post (latent × W_UV: kv_lora → v), per head. */
export function mlaBmmFlops(tokens: number, heads: number, inDim: number, outDim: number): number {
  return 2 * tokens * heads * inDim * outDim;
}

export function mlaBmmBytes(tokens: number, heads: number, inDim: number, outDim: number, p: Precision): number {
  return heads * (tokens * (inDim + outDim) * 2 + inDim * outDim * bytesPerElement(p));
}

/** The DSA indexer's scoring of `keys` cached index keys per query (FP8 dot products), and its reads. */
export function indexerFlops(queries: number, keys: number, indexHeads: number, indexHeadDim: number): number {
  return 2 * queries * keys * indexHeads * indexHeadDim;
}

/** Bytes of an all-gather or reduce-scatter of `totalBytes` over t GPUs, per GPU: (t − 1)/t of the total. */
export function gatherBytes(totalBytes: number, t: number): number {
  return (totalBytes * (t - 1)) / t;
}

/** Activation bytes per element a precision's kernels move (weight-only formats keep 16-bit activations). */
export function activationBytes(p: Precision): number {
  switch (p) {
    case "fp8":
    case "fp8_block":
      return 1;
    case "nvfp4":
      return 9 / 16;
    default:
      return 2;
  }
}

/** The load of the most loaded EP rank (moeLoad.ts): token-expert pairs and experts it runs. */
export interface RankLoad {
  pairs: number;
  activeExperts: number;
}

/** MoE FFN FLOPs on the most loaded rank (gated: 3 GEMMs of h×I). */
export function moeRankFlops(load: RankLoad, h: number, I: number, tp: number): number {
  return (load.pairs * h * I * 3 * 2) / tp;
}

/** MoE FFN bytes on the most loaded rank: token activations in and out, intermediate, and the active experts' weights. */
export function moeRankBytes(load: RankLoad, h: number, I: number, tp: number, p: Precision): number {
  const act = activationBytes(p);
  return act * (load.pairs * h * 2 + (load.pairs * I * 3) / tp) + weightBytesPerElement(p) * ((h * I * 3) / tp) * load.activeExperts;
}
