import type { BatchPredictor, OpTime, SimBatch } from "@servesim/core";
import { InvalidArgumentError } from "@servesim/core";
import { worseSource } from "./opSource.js";

/** One op's priced cost (per call, or per forward for dense totals). */
export interface OpCost {
  ms: number;
  source: string;
  flops: number;
  bytes: number;
}

/**
 * What a kernel-level model (roofline, AIC tables) provides; the composer turns it into batch times.
 * The `…Ms` methods are the hot path (no allocation); the `…Cost`/breakdown methods feed breakdowns.
 */
export interface KernelModel {
  readonly layers: number;
  /** Every token-count op (GEMMs, norms, activation, MoE, all-reduces, embedding, P2P) at x tokens, summed over layers. */
  denseMs(x: number): number;
  denseBreakdown(x: number): OpTime[];
  /** LM head at m = n_seq rows. */
  logitsMs(nseq: number): number;
  logitsCost(nseq: number): OpCost;
  /** One layer's causal context attention of b sequences of fullS tokens, `prefix` of them cached. */
  ctxAttnMs(b: number, fullS: number, prefix: number): number;
  ctxAttnCost(b: number, fullS: number, prefix: number): OpCost;
  /** One layer's decode attention of b sequences at s = past KV + 1. */
  genAttnMs(b: number, s: number): number;
  genAttnCost(b: number, s: number): OpCost;
}

export type CtxAttentionMode = "grouped" | "per-request";

export interface ComposeParams {
  prefillScale: number;
  decodeScale: number;
  stepOverheadUs: number;
  perRequestOverheadUs: number;
  perLayerOverheadUs: number;
  ctxAttention: CtxAttentionMode;
}

/** Below this the imbalance correction is not applied (SGLang's guard, performance-model.md §3.2). */
export const MIN_IMBALANCE_RATIO = 0.4;
const DENSE_CACHE_LIMIT = 1 << 17;
const GEN_KEY_S = 1 << 22;
const GEN_CACHE_LIMIT = 1 << 20;

/** Actual ÷ averaged causal attention area, or 1 below the 0.4 guard. */
function imbalanceRatio(n: number, meanE: number, meanPast: number, area: number): number {
  const r = area / (n * (2 * meanPast + meanE) * meanE);
  return r >= MIN_IMBALANCE_RATIO ? r : 1;
}

/** Σ chunk, Σ past KV and Σ causal area (2p + e)·e over the context entries, in a reused object (hot path). */
const CONTEXT_SUMS = { sumE: 0, sumP: 0, area: 0 };
function sumContext(batch: SimBatch): typeof CONTEXT_SUMS {
  let sumE = 0;
  let sumP = 0;
  let area = 0;
  for (let i = 0; i < batch.numContext; i++) {
    const e = batch.inputLength[i]!;
    const p = batch.pastKvLength[i]!;
    sumE += e;
    sumP += p;
    area += (2 * p + e) * e;
  }
  CONTEXT_SUMS.sumE = sumE;
  CONTEXT_SUMS.sumP = sumP;
  CONTEXT_SUMS.area = area;
  return CONTEXT_SUMS;
}

function groupOf(n: number, sumE: number, sumP: number, area: number): ContextGroup {
  const meanE = sumE / n;
  const meanPast = sumP / n;
  return { n, fullS: Math.max(1, Math.round(meanE + meanPast)), meanPast, ratio: imbalanceRatio(n, meanE, meanPast, area) };
}

/** Context-attention summary of a batch: grouped shape and imbalance ratio. */
export interface ContextGroup {
  n: number;
  fullS: number;
  meanPast: number;
  /** Actual ÷ averaged causal area (1 when below the 0.4 guard). */
  ratio: number;
}

/**
 * servesim's per-request-aware composition (performance-model.md §3.2):
 * `(dense(T_tok) + logits(n_seq) + L·CA(C) + L·GA(|G|, round(mean p) + 1)) × scale + overheads`.
 * Dense and LM-head totals and generation attention are memoized (n, k fixed per configuration).
 */
export class ComposedPredictor implements BatchPredictor {
  readonly description: string;
  private readonly km: KernelModel;
  private readonly p: ComposeParams;
  private readonly layerOverheadMs: number;
  private denseCache = new Float64Array(0);
  private logitsCache = new Float64Array(0);
  private readonly genCache = new Map<number, number>();

  constructor(description: string, km: KernelModel, p: ComposeParams) {
    this.description = description;
    this.km = km;
    this.p = p;
    this.layerOverheadMs = (p.perLayerOverheadUs * km.layers) / 1000;
  }

  private cached(which: "dense" | "logits", x: number): number {
    let cache = which === "dense" ? this.denseCache : this.logitsCache;
    if (x >= DENSE_CACHE_LIMIT || !Number.isInteger(x)) return which === "dense" ? this.km.denseMs(x) : this.km.logitsMs(x);
    if (x >= cache.length) {
      let size = Math.max(1024, cache.length);
      while (size <= x) size *= 2;
      const grown = new Float64Array(Math.min(size, DENSE_CACHE_LIMIT)).fill(Number.NaN);
      grown.set(cache);
      cache = grown;
      if (which === "dense") this.denseCache = grown;
      else this.logitsCache = grown;
    }
    let v = cache[x]!;
    if (Number.isNaN(v)) {
      v = which === "dense" ? this.km.denseMs(x) : this.km.logitsMs(x);
      cache[x] = v;
    }
    return v;
  }

  private genAttn(b: number, s: number): number {
    if (s >= GEN_KEY_S) return this.km.genAttnMs(b, s);
    const key = b * GEN_KEY_S + s;
    let v = this.genCache.get(key);
    if (v === undefined) {
      v = this.km.genAttnMs(b, s);
      if (this.genCache.size >= GEN_CACHE_LIMIT) this.genCache.clear();
      this.genCache.set(key, v);
    }
    return v;
  }

  private overheadMs(nseq: number): number {
    return (this.p.stepOverheadUs + this.p.perRequestOverheadUs * nseq) / 1000 + this.layerOverheadMs;
  }

  /** Grouped context shape of entries [0, n) (performance-model.md §3.2). */
  static contextGroup(batch: SimBatch): ContextGroup {
    const c = sumContext(batch);
    return groupOf(batch.numContext, c.sumE, c.sumP, c.area);
  }

  private ctxAttention(batch: SimBatch): number {
    const n = batch.numContext;
    if (n === 0) return 0;
    if (this.p.ctxAttention === "per-request") {
      let t = 0;
      for (let i = 0; i < n; i++) {
        const p = batch.pastKvLength[i]!;
        t += this.km.ctxAttnMs(1, batch.inputLength[i]! + p, p);
      }
      return t;
    }
    const c = sumContext(batch);
    const meanE = c.sumE / n;
    const meanPast = c.sumP / n;
    const fullS = Math.max(1, Math.round(meanE + meanPast));
    return this.km.ctxAttnMs(n, fullS, meanPast) * imbalanceRatio(n, meanE, meanPast, c.area);
  }

  private meanGenPast(batch: SimBatch): number {
    const start = batch.numContext;
    const end = start + batch.numGeneration;
    let sum = 0;
    for (let i = start; i < end; i++) sum += batch.pastKvLength[i]!;
    return sum / batch.numGeneration;
  }

  predict(batch: SimBatch): number {
    const nc = batch.numContext;
    const ng = batch.numGeneration;
    const nseq = nc + ng;
    if (nseq === 0) throw new InvalidArgumentError("batch", "empty batch");
    const tokens = batch.numContextTokens + ng;
    let kernels = this.cached("dense", tokens) + this.cached("logits", nseq);
    if (nc > 0) kernels += this.km.layers * this.ctxAttention(batch);
    if (ng > 0) kernels += this.km.layers * this.genAttn(ng, Math.round(this.meanGenPast(batch)) + 1);
    return kernels * (nc > 0 ? this.p.prefillScale : this.p.decodeScale) + this.overheadMs(nseq);
  }

  /**
   * Times of `steps` consecutive decode-only iterations of `count` requests whose past KV lengths start at
   * `pastKv[0..count)` and grow by one per step. O(count + steps).
   */
  predictDecodeRun(pastKv: ArrayLike<number>, count: number, steps: number): number[] {
    if (count <= 0) throw new InvalidArgumentError("decode_run.past_kv_length", "at least one request is required");
    let sum = 0;
    for (let i = 0; i < count; i++) sum += pastKv[i]!;
    const s0 = Math.round(sum / count) + 1;
    const fixed = this.cached("dense", count) + this.cached("logits", count);
    const overhead = this.overheadMs(count);
    const out = new Array<number>(steps);
    for (let i = 0; i < steps; i++) {
      out[i] = (fixed + this.km.layers * this.genAttn(count, s0 + i)) * this.p.decodeScale + overhead;
    }
    return out;
  }

  breakdown(batch: SimBatch): OpTime[] {
    const nc = batch.numContext;
    const ng = batch.numGeneration;
    const nseq = nc + ng;
    if (nseq === 0) throw new InvalidArgumentError("batch", "empty batch");
    const L = this.km.layers;
    const out = this.km.denseBreakdown(batch.numContextTokens + ng);
    const lm = this.km.logitsCost(nseq);
    out.push({ op: "logits_gemm", ...lm });
    if (nc > 0) {
      const total: OpTime = { op: "context_attention", source: "table", ms: 0, flops: 0, bytes: 0 };
      if (this.p.ctxAttention === "per-request") {
        for (let i = 0; i < nc; i++) {
          const p = batch.pastKvLength[i]!;
          const c = this.km.ctxAttnCost(1, batch.inputLength[i]! + p, p);
          total.ms += L * c.ms;
          total.flops! += L * c.flops;
          total.bytes! += L * c.bytes;
          total.source = i === 0 ? c.source : worseSource(total.source, c.source);
        }
      } else {
        const g = ComposedPredictor.contextGroup(batch);
        const c = this.km.ctxAttnCost(g.n, g.fullS, g.meanPast);
        total.ms = L * c.ms * g.ratio;
        total.flops = L * c.flops * g.ratio;
        total.bytes = L * c.bytes * g.ratio;
        total.source = c.source;
      }
      out.push(total);
    }
    if (ng > 0) {
      const c = this.km.genAttnCost(ng, Math.round(this.meanGenPast(batch)) + 1);
      out.push({ op: "generation_attention", source: c.source, ms: L * c.ms, flops: L * c.flops, bytes: L * c.bytes });
    }
    let kernels = 0;
    for (const o of out) kernels += o.ms;
    const scale = nc > 0 ? this.p.prefillScale : this.p.decodeScale;
    if (scale !== 1) out.push({ op: nc > 0 ? "prefill_scale_factor" : "decode_scale_factor", source: "empirical", ms: kernels * (scale - 1) });
    if (this.p.stepOverheadUs > 0) out.push({ op: "step_overhead", source: "empirical", ms: this.p.stepOverheadUs / 1000 });
    if (this.p.perRequestOverheadUs > 0) out.push({ op: "request_overhead", source: "empirical", ms: (this.p.perRequestOverheadUs * nseq) / 1000 });
    if (this.layerOverheadMs > 0) out.push({ op: "layer_overhead", source: "empirical", ms: this.layerOverheadMs });
    return out;
  }
}
