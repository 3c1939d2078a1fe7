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
  /** Layers sharing one attention shape (full and sliding-window GQA, MLA), with their layer counts. */
  readonly groups: ReadonlyArray<{ readonly count: number }>;
  /** Every token-count op (GEMMs, norms, activation, MoE, all-reduces, embedding, P2P) at x tokens, summed over layers. */
  denseMs(x: number): number;
  denseBreakdown(x: number): OpTime[];
  /** Attention DP: one rank's token-count ops at its x tokens (everything but the routed experts and their dispatch/combine). */
  rankDenseMs(x: number): number;
  rankDenseBreakdown(x: number): OpTime[];
  /** Attention DP: the routed experts at X tokens over all ranks, and the dispatch/combine (busiest rank: xMax tokens). */
  moePartMs(X: number, xMax: number): number;
  moePartBreakdown(X: number, xMax: number): OpTime[];
  /** LM head at m = n_seq rows. */
  logitsMs(nseq: number): number;
  logitsCost(nseq: number): OpCost;
  /** One layer of group g: causal context attention of b sequences of fullS tokens, `prefix` of them cached. */
  ctxGroupMs(g: number, b: number, fullS: number, prefix: number): number;
  ctxGroupCost(g: number, b: number, fullS: number, prefix: number): OpCost;
  /** One layer of group g: decode attention of b query rows at s = past KV + 1. */
  genGroupMs(g: number, b: number, s: number): number;
  genGroupCost(g: number, b: number, s: number): OpCost;
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

/** What a configuration adds to the plain composition. */
export interface ComposeExtras {
  /** Attention-DP ranks (TP under enable_attention_dp); 1 = no attention DP. */
  dpRanks?: number;
  /** The MTP/Eagle draft layer's kernels (priced when a batch carries draft tokens). */
  draft?: KernelModel;
  /** One kernel model per pipeline stage (built on first use). */
  stages?: () => KernelModel[];
}

/** Below this the imbalance correction is not applied (SGLang's guard). */
export const MIN_IMBALANCE_RATIO = 0.4;
const DENSE_CACHE_LIMIT = 1 << 17;
const GEN_KEY_S = 1 << 22;
const GEN_KEY_B = 1 << 20;
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

/** Σ draft tokens of the generation entries and the largest draft count of any entry (0 without drafts). */
function draftSums(batch: SimBatch): { gen: number; max: number } {
  const d = batch.draftTokens;
  if (!d) return { gen: 0, max: 0 };
  let gen = 0;
  let max = 0;
  const end = batch.numContext + batch.numGeneration;
  for (let i = 0; i < end; i++) {
    const v = d[i]!;
    if (i >= batch.numContext) gen += v;
    if (v > max) max = v;
  }
  return { gen, max };
}

/** The part of a batch one pricing pass needs: tokens, sequences, context shape, decode rows and mean KV. */
interface BatchShape {
  nc: number;
  /** Decode query rows: generation entries × (1 + their draft tokens). */
  genRows: number;
  nseq: number;
  tokens: number;
  /** round(mean past KV of the generation entries) + 1. */
  genS: number;
}

function shapeOf(batch: SimBatch): BatchShape {
  const nc = batch.numContext;
  const ng = batch.numGeneration;
  const drafts = draftSums(batch).gen;
  let genS = 0;
  if (ng > 0) {
    let sum = 0;
    for (let i = nc; i < nc + ng; i++) sum += batch.pastKvLength[i]!;
    genS = Math.round(sum / ng) + 1;
  }
  return { nc, genRows: ng + drafts, nseq: nc + ng, tokens: batch.numContextTokens + ng + drafts, genS };
}

/** Splits a batch with attention-DP ranks into one batch per rank (context entries first in each). */
export function splitByRank(batch: SimBatch, ranks: number): SimBatch[] {
  const r = batch.attentionDpRank!;
  const out: Array<{ ctxE: number[]; ctxP: number[]; genE: number[]; genP: number[]; ctxD: number[]; genD: number[]; tokens: number }> = [];
  for (let k = 0; k < ranks; k++) out.push({ ctxE: [], ctxP: [], genE: [], genP: [], ctxD: [], genD: [], tokens: 0 });
  const end = batch.numContext + batch.numGeneration;
  const d = batch.draftTokens;
  for (let i = 0; i < end; i++) {
    const rank = r[i]!;
    if (!Number.isInteger(rank) || rank < 0 || rank >= ranks) {
      throw new InvalidArgumentError(
        `batch.facts.attention_dp_rank[${i}]`,
        `must be an integer in [0, ${ranks}) (the attention-DP ranks are the TP size ${ranks})`,
      );
    }
    const o = out[rank]!;
    if (i < batch.numContext) {
      o.ctxE.push(batch.inputLength[i]!);
      o.ctxP.push(batch.pastKvLength[i]!);
      o.ctxD.push(d ? d[i]! : 0);
      o.tokens += batch.inputLength[i]!;
    } else {
      o.genE.push(batch.inputLength[i]!);
      o.genP.push(batch.pastKvLength[i]!);
      o.genD.push(d ? d[i]! : 0);
    }
  }
  return out.map((o) => {
    const b: SimBatch = {
      numContext: o.ctxE.length,
      numGeneration: o.genE.length,
      inputLength: [...o.ctxE, ...o.genE],
      pastKvLength: [...o.ctxP, ...o.genP],
      numContextTokens: o.tokens,
    };
    if (d) b.draftTokens = [...o.ctxD, ...o.genD];
    return b;
  });
}

/** What TensorRT-LLM runs on an attention-DP rank without requests: one dummy generation request. */
const DUMMY_RANK_BATCH: SimBatch = { numContext: 0, numGeneration: 1, inputLength: [1], pastKvLength: [0], numContextTokens: 0 };

/**
 * servesim's per-request-aware composition (docs/performance-models.md):
 * `(dense(T_tok) + logits(n_seq) + Σ_groups count·CA(C) + Σ_groups count·GA(|G|, round(mean p) + 1)) × scale + overheads`.
 * Dense and LM-head totals and generation attention are memoized (n, k fixed per configuration).
 *
 * With attention DP the iteration is the slowest rank's attention path plus the MoE layers over all
 * ranks' tokens; with draft tokens the target verifies 1 + D tokens per generation entry and the draft
 * layer runs its chain (docs/performance-models.md, "The predictor API").
 */
export class ComposedPredictor implements BatchPredictor {
  readonly description: string;
  private readonly km: KernelModel;
  private readonly p: ComposeParams;
  private readonly layerOverheadMs: number;
  private readonly dp: number;
  private readonly draft: KernelModel | undefined;
  private readonly stageFactory: (() => KernelModel[]) | undefined;
  private stageModels: KernelModel[] | undefined;
  private denseCache = new Float64Array(0);
  private logitsCache = new Float64Array(0);
  private readonly genCache = new Map<number, number>();

  constructor(description: string, km: KernelModel, p: ComposeParams, extras: ComposeExtras = {}) {
    this.description = description;
    this.km = km;
    this.p = p;
    this.layerOverheadMs = (p.perLayerOverheadUs * km.layers) / 1000;
    this.dp = extras.dpRanks ?? 1;
    this.draft = extras.draft;
    this.stageFactory = extras.stages;
  }

  /** The kernel model (tests, tools). */
  get kernels(): KernelModel {
    return this.km;
  }

  /** Attention-DP ranks (1 without attention DP). */
  get attentionDpRanks(): number {
    return this.dp;
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

  /** One layer of group g's decode attention (memoized). */
  private genAttn(g: number, b: number, s: number): number {
    if (s >= GEN_KEY_S || b >= GEN_KEY_B) return this.km.genGroupMs(g, b, s);
    const key = (g * GEN_KEY_B + b) * GEN_KEY_S + s;
    let v = this.genCache.get(key);
    if (v === undefined) {
      v = this.km.genGroupMs(g, b, s);
      if (this.genCache.size >= GEN_CACHE_LIMIT) this.genCache.clear();
      this.genCache.set(key, v);
    }
    return v;
  }

  private overheadMs(nseq: number): number {
    return (this.p.stepOverheadUs + this.p.perRequestOverheadUs * nseq) / 1000 + this.layerOverheadMs;
  }

  /** Grouped context shape of entries [0, n). */
  static contextGroup(batch: SimBatch): ContextGroup {
    const c = sumContext(batch);
    return groupOf(batch.numContext, c.sumE, c.sumP, c.area);
  }

  /** One layer of group g's context attention of the batch's context entries. */
  private ctxAttention(km: KernelModel, g: number, batch: SimBatch): number {
    const n = batch.numContext;
    if (n === 0) return 0;
    if (this.p.ctxAttention === "per-request") {
      let t = 0;
      for (let i = 0; i < n; i++) {
        const p = batch.pastKvLength[i]!;
        t += km.ctxGroupMs(g, 1, batch.inputLength[i]! + p, p);
      }
      return t;
    }
    const c = sumContext(batch);
    const meanE = c.sumE / n;
    const meanPast = c.sumP / n;
    const fullS = Math.max(1, Math.round(meanE + meanPast));
    return km.ctxGroupMs(g, n, fullS, meanPast) * imbalanceRatio(n, meanE, meanPast, c.area);
  }

  /** `t` plus the attention over all layers of a kernel model (context, then decode), added group by group. */
  private addAttention(t: number, km: KernelModel, batch: SimBatch, s: BatchShape, cachedGen: boolean): number {
    const groups = km.groups;
    if (s.nc > 0) for (let g = 0; g < groups.length; g++) t += groups[g]!.count * this.ctxAttention(km, g, batch);
    if (s.genRows > 0) {
      for (let g = 0; g < groups.length; g++) t += groups[g]!.count * (cachedGen ? this.genAttn(g, s.genRows, s.genS) : km.genGroupMs(g, s.genRows, s.genS));
    }
    return t;
  }

  /** The draft chain of a batch with draft tokens: the first pass over every entry's tokens, then one token per entry and pass. */
  private draftMs(batch: SimBatch, part: "all" | "rank"): number {
    const km = this.draft;
    const d = batch.draftTokens;
    if (!km || !d) return 0;
    const { max } = draftSums(batch);
    if (max === 0) return 0;
    const s = shapeOf(batch);
    let t = this.addAttention((part === "rank" ? km.rankDenseMs(s.tokens) : km.denseMs(s.tokens)) + km.logitsMs(s.nseq), km, batch, s, false);
    const end = batch.numContext + batch.numGeneration;
    for (let pass = 2; pass <= max; pass++) {
      let rows = 0;
      let past = 0;
      for (let i = 0; i < end; i++) {
        if (d[i]! >= pass) {
          rows += 1;
          past += batch.pastKvLength[i]! + batch.inputLength[i]! + pass - 1;
        }
      }
      const sPass = Math.round(past / rows) + 1;
      t += (part === "rank" ? km.rankDenseMs(rows) : km.denseMs(rows)) + km.logitsMs(rows);
      for (let g = 0; g < km.groups.length; g++) t += km.groups[g]!.count * km.genGroupMs(g, rows, sPass);
    }
    return t;
  }

  /** Draft-chain MoE part under attention DP: every pass's routed experts over all ranks' tokens. */
  private draftMoeMs(ranks: SimBatch[]): number {
    const km = this.draft;
    if (!km) return 0;
    let first = 0;
    let firstMax = 0;
    let max = 0;
    for (const b of ranks) {
      const s = shapeOf(b);
      const m = draftSums(b).max;
      if (m === 0) continue;
      first += s.tokens;
      firstMax = Math.max(firstMax, s.tokens);
      max = Math.max(max, m);
    }
    if (max === 0) return 0;
    let t = km.moePartMs(first, firstMax);
    for (let pass = 2; pass <= max; pass++) {
      let rows = 0;
      let rowsMax = 0;
      for (const b of ranks) {
        const d = b.draftTokens;
        if (!d) continue;
        let r = 0;
        for (let i = 0; i < b.numContext + b.numGeneration; i++) if (d[i]! >= pass) r += 1;
        rows += r;
        rowsMax = Math.max(rowsMax, r);
      }
      t += km.moePartMs(rows, rowsMax);
    }
    return t;
  }

  predict(batch: SimBatch): number {
    const nc = batch.numContext;
    const ng = batch.numGeneration;
    const nseq = nc + ng;
    if (nseq === 0) throw new InvalidArgumentError("batch", "empty batch");
    if (this.dp > 1) return batch.attentionDpRank ? this.predictRanks(splitByRank(batch, this.dp)) : this.predictSymmetricRanks(batch);
    if (batch.draftTokens) {
      const s = shapeOf(batch);
      const kernels = this.addAttention(this.cached("dense", s.tokens) + this.cached("logits", s.nseq), this.km, batch, s, true) + this.draftMs(batch, "all");
      return kernels * (nc > 0 ? this.p.prefillScale : this.p.decodeScale) + this.overheadMs(nseq);
    }
    const tokens = batch.numContextTokens + ng;
    let kernels = this.cached("dense", tokens) + this.cached("logits", nseq);
    const groups = this.km.groups;
    if (nc > 0) for (let g = 0; g < groups.length; g++) kernels += groups[g]!.count * this.ctxAttention(this.km, g, batch);
    if (ng > 0) {
      const s = Math.round(this.meanGenPast(batch)) + 1;
      for (let g = 0; g < groups.length; g++) kernels += groups[g]!.count * this.genAttn(g, ng, s);
    }
    return kernels * (nc > 0 ? this.p.prefillScale : this.p.decodeScale) + this.overheadMs(nseq);
  }

  private meanGenPast(batch: SimBatch): number {
    const start = batch.numContext;
    const end = start + batch.numGeneration;
    let sum = 0;
    for (let i = start; i < end; i++) sum += batch.pastKvLength[i]!;
    return sum / batch.numGeneration;
  }

  /** One attention-DP rank's kernel time without the MoE part (its batch, or the dummy request of an idle rank). */
  rankMs(batch: SimBatch): number {
    const b = batch.numContext + batch.numGeneration === 0 ? DUMMY_RANK_BATCH : batch;
    const s = shapeOf(b);
    return this.addAttention(this.km.rankDenseMs(s.tokens) + this.cached("logits", s.nseq), this.km, b, s, true) + this.draftMs(b, "rank");
  }

  /** The MoE part of an attention-DP iteration: routed experts over X tokens of all ranks, dispatch/combine of the busiest rank's xMax. */
  moePartMs(X: number, xMax: number): number {
    return this.km.moePartMs(X, xMax);
  }

  /**
   * An attention-DP iteration from every rank's batch (ranks.length = the TP size): the slowest rank's
   * attention path plus the MoE layers over all ranks' tokens, then scale factors and overheads (of the
   * rank with the most requests).
   */
  predictRanks(ranks: readonly SimBatch[]): number {
    let slowest = 0;
    let X = 0;
    let xMax = 0;
    let anyContext = false;
    let maxSeq = 0;
    for (const r of ranks) {
      const empty = r.numContext + r.numGeneration === 0;
      const s = shapeOf(empty ? DUMMY_RANK_BATCH : r);
      slowest = Math.max(slowest, this.rankMs(r));
      X += s.tokens;
      xMax = Math.max(xMax, s.tokens);
      anyContext ||= r.numContext > 0;
      maxSeq = Math.max(maxSeq, s.nseq);
    }
    const kernels = slowest + this.km.moePartMs(X, xMax) + this.draftMoeMs(ranks as SimBatch[]);
    return kernels * (anyContext ? this.p.prefillScale : this.p.decodeScale) + this.overheadMs(maxSeq);
  }

  /** Attention DP without per-entry ranks: every rank is assumed to run a batch like this one (AIConfigurator's convention). */
  private predictSymmetricRanks(batch: SimBatch): number {
    const s = shapeOf(batch);
    // The same order as predictDecodeRun: rank ops, LM head, MoE part, then the attention groups.
    let kernels = this.addAttention(
      this.km.rankDenseMs(s.tokens) + this.cached("logits", s.nseq) + this.km.moePartMs(this.dp * s.tokens, s.tokens),
      this.km,
      batch,
      s,
      true,
    );
    if (this.draft && batch.draftTokens) kernels += this.draftMs(batch, "rank") + this.draftMoeMs(new Array<SimBatch>(this.dp).fill(batch));
    return kernels * (batch.numContext > 0 ? this.p.prefillScale : this.p.decodeScale) + this.overheadMs(s.nseq);
  }

  /**
   * Pipeline parallelism: the kernel time of one micro-batch on pipeline stage `stage` (its layers; the
   * first stage embeds, the last runs the LM head; every stage but the last sends to the next). Without
   * scale factors and overheads (the caller adds them once per iteration).
   */
  stageMs(batch: SimBatch, stage: number): number {
    this.stageModels ??= this.stageFactory ? this.stageFactory() : [this.km];
    const km = this.stageModels[stage];
    if (!km) throw new InvalidArgumentError("stage", `must be in [0, ${this.stageModels.length}) (got ${stage})`);
    const s = shapeOf(batch);
    const last = stage === this.stageModels.length - 1;
    return this.addAttention(km.denseMs(s.tokens) + (last ? km.logitsMs(s.nseq) : 0), km, batch, s, false);
  }

  /** predict() of the batch, with stageMs() of every stage written into `out` (BatchPredictor.predictStages). */
  predictStages(batch: SimBatch, out: Float64Array): number {
    const stages = this.pipelineStages;
    if (out.length !== stages) throw new InvalidArgumentError("stageMs", `must hold ${stages} stages (got ${out.length})`);
    for (let s = 0; s < stages; s++) out[s] = this.stageMs(batch, s);
    return this.predict(batch);
  }

  /** Pipeline stages (1 without pipeline parallelism). */
  get pipelineStages(): number {
    this.stageModels ??= this.stageFactory ? this.stageFactory() : [this.km];
    return this.stageModels.length;
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
    const groups = this.km.groups;
    const fixed =
      this.dp > 1
        ? this.km.rankDenseMs(count) + this.cached("logits", count) + this.km.moePartMs(this.dp * count, count)
        : this.cached("dense", count) + this.cached("logits", count);
    const overhead = this.overheadMs(count);
    const out = new Array<number>(steps);
    for (let i = 0; i < steps; i++) {
      let t = fixed;
      for (let g = 0; g < groups.length; g++) t += groups[g]!.count * this.genAttn(g, count, s0 + i);
      out[i] = t * this.p.decodeScale + overhead;
    }
    return out;
  }

  /** Context and decode attention entries of a breakdown (over all layers of every group). */
  private attentionBreakdown(km: KernelModel, batch: SimBatch, s: BatchShape, out: OpTime[]): void {
    const groups = km.groups;
    if (s.nc > 0) {
      const total: OpTime = { op: "context_attention", source: "table", ms: 0, flops: 0, bytes: 0 };
      let first = true;
      for (let g = 0; g < groups.length; g++) {
        const count = groups[g]!.count;
        if (this.p.ctxAttention === "per-request") {
          for (let i = 0; i < s.nc; i++) {
            const p = batch.pastKvLength[i]!;
            const c = km.ctxGroupCost(g, 1, batch.inputLength[i]! + p, p);
            total.ms += count * c.ms;
            total.flops! += count * c.flops;
            total.bytes! += count * c.bytes;
            total.source = first ? c.source : worseSource(total.source, c.source);
            first = false;
          }
        } else {
          const grp = ComposedPredictor.contextGroup(batch);
          const c = km.ctxGroupCost(g, grp.n, grp.fullS, grp.meanPast);
          total.ms += count * c.ms * grp.ratio;
          total.flops! += count * c.flops * grp.ratio;
          total.bytes! += count * c.bytes * grp.ratio;
          total.source = first ? c.source : worseSource(total.source, c.source);
          first = false;
        }
      }
      out.push(total);
    }
    if (s.genRows > 0) {
      const total: OpTime = { op: "generation_attention", source: "table", ms: 0, flops: 0, bytes: 0 };
      for (let g = 0; g < groups.length; g++) {
        const count = groups[g]!.count;
        const c = km.genGroupCost(g, s.genRows, s.genS);
        total.ms += count * c.ms;
        total.flops! += count * c.flops;
        total.bytes! += count * c.bytes;
        total.source = g === 0 ? c.source : worseSource(total.source, c.source);
      }
      out.push(total);
    }
  }

  /** Breakdown entries of the scale factors and overheads, after the kernels. */
  private overheadBreakdown(out: OpTime[], context: boolean, nseq: number): OpTime[] {
    let kernels = 0;
    for (const o of out) kernels += o.ms;
    const scale = context ? this.p.prefillScale : this.p.decodeScale;
    if (scale !== 1) out.push({ op: context ? "prefill_scale_factor" : "decode_scale_factor", source: "empirical", ms: kernels * (scale - 1) });
    if (this.p.stepOverheadUs > 0) out.push({ op: "step_overhead", source: "empirical", ms: this.p.stepOverheadUs / 1000 });
    if (this.p.perRequestOverheadUs > 0) out.push({ op: "request_overhead", source: "empirical", ms: (this.p.perRequestOverheadUs * nseq) / 1000 });
    if (this.layerOverheadMs > 0) out.push({ op: "layer_overhead", source: "empirical", ms: this.layerOverheadMs });
    return out;
  }

  /** A rank's (or the whole batch's) kernel entries; `part` "rank" leaves out the MoE part. */
  private kernelBreakdown(batch: SimBatch, part: "all" | "rank"): OpTime[] {
    const s = shapeOf(batch);
    const out = part === "rank" ? this.km.rankDenseBreakdown(s.tokens) : this.km.denseBreakdown(s.tokens);
    const lm = this.km.logitsCost(s.nseq);
    out.push({ op: "logits_gemm", ...lm });
    this.attentionBreakdown(this.km, batch, s, out);
    const draft = this.draftMs(batch, part);
    if (draft > 0) out.push({ op: "draft_layers", source: "sol", ms: draft });
    return out;
  }

  breakdown(batch: SimBatch): OpTime[] {
    const nseq = batch.numContext + batch.numGeneration;
    if (nseq === 0) throw new InvalidArgumentError("batch", "empty batch");
    if (this.dp > 1) {
      const ranks = batch.attentionDpRank ? splitByRank(batch, this.dp) : null;
      // The slowest rank's attention path (the ranks wait for each other at every MoE layer), then the MoE part.
      let slowest = batch;
      let X = 0;
      let xMax = 0;
      let maxSeq = 0;
      if (ranks) {
        let worst = -1;
        for (const r of ranks) {
          const t = this.rankMs(r);
          const b = r.numContext + r.numGeneration === 0 ? DUMMY_RANK_BATCH : r;
          const s = shapeOf(b);
          X += s.tokens;
          xMax = Math.max(xMax, s.tokens);
          maxSeq = Math.max(maxSeq, s.nseq);
          if (t > worst) {
            worst = t;
            slowest = b;
          }
        }
      } else {
        const s = shapeOf(batch);
        X = this.dp * s.tokens;
        xMax = s.tokens;
        maxSeq = s.nseq;
      }
      const out = this.kernelBreakdown(slowest, "rank");
      out.push(...this.km.moePartBreakdown(X, xMax));
      const anyContext = ranks ? ranks.some((r) => r.numContext > 0) : batch.numContext > 0;
      return this.overheadBreakdown(out, anyContext, maxSeq);
    }
    if (batch.draftTokens) return this.overheadBreakdown(this.kernelBreakdown(batch, "all"), batch.numContext > 0, nseq);
    const nc = batch.numContext;
    const ng = batch.numGeneration;
    const out = this.km.denseBreakdown(batch.numContextTokens + ng);
    const lm = this.km.logitsCost(nseq);
    out.push({ op: "logits_gemm", ...lm });
    this.attentionBreakdown(
      this.km,
      batch,
      { nc, genRows: ng, nseq, tokens: batch.numContextTokens + ng, genS: ng > 0 ? Math.round(this.meanGenPast(batch)) + 1 : 0 },
      out,
    );
    return this.overheadBreakdown(out, nc > 0, nseq);
  }
}
