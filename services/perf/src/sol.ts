import type { GpuSpec } from "./catalog/gpus.js";
import { bytesPerElement, computeMultiplier, type Precision } from "./dtypes.js";

/**
 * Speed-of-light work of each op kind (performance-model.md §5): FLOPs, bytes and the FLOP rate they run
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

export function linkBandwidth(gpu: GpuSpec, t: number): number {
  return t <= gpu.numGpusPerNode ? gpu.intraNodeBw : gpu.interNodeBw;
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
