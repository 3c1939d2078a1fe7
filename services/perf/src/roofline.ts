import type { OpTime } from "@servesim/core";
import type { KernelModel, OpCost } from "./compose.js";
import { bytesPerElement, computePrecision, type Precision, weightBytesPerElement } from "./dtypes.js";
import { type Efficiency, gemmEfficiency, type OpEfficiency } from "./efficiency.js";
import { gemmKernelClass } from "./gemmKernelClass.js";
import { RankLoadCache } from "./moeLoad.js";
import type { AttentionGroup, GemmOp, MoeCommOp, MoeOp, OpPlan } from "./plan.js";
import {
  activationBytes,
  allReduceBytes,
  ctxAttnBytes,
  ctxAttnFlops,
  flopRate,
  gatherBytes,
  gemmBytes,
  gemmFlops,
  genAttnBytes,
  genAttnFlops,
  genKeys,
  indexerFlops,
  linkBandwidth,
  mlaBmmBytes,
  mlaBmmFlops,
  mlaCtxBytes,
  mlaCtxFlops,
  mlaGenBytes,
  mlaGenFlops,
  moeBytes,
  moeFlops,
  moeRankBytes,
  moeRankFlops,
  type RankLoad,
  windowCtxAttnBytes,
  windowCtxAttnFlops,
} from "./sol.js";
import { type TokenOpCosts, type TokenPart, tokenOpsMs } from "./tokenOps.js";

/** Roofline time of one call: max(FLOPs/(peak·eff), bytes/(BW·eff), floor) + launch, in ms. */
function rooflineMs(flops: number, rate: number, bytes: number, bw: number, e: OpEfficiency): number {
  return Math.max((1000 * flops) / (rate * e.compute), (1000 * bytes) / (bw * e.memory), e.floorUs / 1000) + e.launchUs / 1000;
}

/** Memory-only op (norms, all-reduce, P2P): max(bytes/(BW·eff), floor) + launch, in ms. */
function transferMs(bytes: number, bw: number, e: OpEfficiency): number {
  return Math.max((1000 * bytes) / (bw * e.memory), e.floorUs / 1000) + e.launchUs / 1000;
}

/** A collective's fixed cost per call when no efficiency set calibrates it (NVLink kernels, NCCL at small sizes). */
const MOE_COMM_LAUNCH_US = 5;

/** Bytes per element of an activation quantization kernel: read bf16, write the quantized value and its scale. */
function quantizeBytesPerElement(p: Precision): number {
  return 2 + (p === "nvfp4" ? 0.5 + 1 / 16 : 1 + 4 / 128);
}

/** Group-wise weight GEMM bytes (the 4-bit formats' scales included; activations at 16 bits for weight-only formats). */
function gemmOpBytes(m: number, g: GemmOp): number {
  if (g.dtype === "bf16" || g.dtype === "fp16" || g.dtype === "fp8") return gemmBytes(m, g.n, g.k, g.dtype);
  return activationBytes(g.dtype) * (m * g.k) + 2 * m * g.n + weightBytesPerElement(g.dtype) * g.n * g.k;
}

/** Speed-of-light × efficiency pricing of every op of a plan (the roofline predictor's kernels). */
export class RooflineKernels implements KernelModel, TokenOpCosts {
  readonly layers: number;
  readonly groups: readonly AttentionGroup[];
  readonly plan: OpPlan;
  readonly eff: Efficiency;
  private readonly bw: number;
  private readonly arBw: number;
  private readonly commBw: number;
  private readonly gemmRates: number[];
  private readonly logitsRate: number;
  private readonly fmhaRate: number;
  private readonly genRate: number;
  private readonly fp8Rate: number;
  private readonly moeRate: number;
  private readonly rankLoads: RankLoadCache | null;

  constructor(plan: OpPlan, eff: Efficiency) {
    this.plan = plan;
    this.eff = eff;
    this.layers = plan.layers;
    this.groups = plan.attention;
    this.bw = plan.gpu.memBw;
    this.arBw = linkBandwidth(plan.gpu, plan.attnTp);
    this.commBw = linkBandwidth(plan.gpu, plan.tp);
    this.gemmRates = plan.gemms.map((g) => this.rate(g.dtype));
    this.logitsRate = this.rate(plan.logits.dtype);
    this.fmhaRate = flopRate(plan.gpu, plan.fmhaDtype);
    this.genRate = flopRate(plan.gpu, plan.kvDtype === "fp8" ? "fp8" : "bf16");
    this.fp8Rate = flopRate(plan.gpu, "fp8");
    const m = plan.moe;
    this.moeRate = m ? this.rate(m.dtype) : 0;
    this.rankLoads = m && m.distribution.kind === "power_law" && !m.eplb ? new RankLoadCache(m.experts, m.topK, m.moeEp, m.distribution.alpha) : null;
  }

  /** Attainable GEMM/MoE FLOP/s before the compute efficiency: the precision's math rate, FP8 scaled. */
  private rate(p: Precision): number {
    const c = computePrecision(p);
    return flopRate(this.plan.gpu, p === "fp16" ? "fp16" : c) * (c === "fp8" ? this.eff.fp8ComputeScale : 1);
  }

  /** One GEMM call at m rows. */
  gemmMs(g: GemmOp, rate: number, m: number): number {
    return rooflineMs(gemmFlops(m, g.n, g.k), rate, gemmOpBytes(m, g), this.bw, gemmEfficiency(this.eff, gemmKernelClass(g, m)));
  }

  /** One GEMM call at m rows, at the GEMM's own precision. */
  gemmOpMs(g: GemmOp, m: number): number {
    return this.gemmMs(g, this.rate(g.dtype), m);
  }

  gemmCost(g: GemmOp, m: number): OpCost {
    return { ms: this.gemmOpMs(g, m), source: "sol", flops: gemmFlops(m, g.n, g.k), bytes: gemmOpBytes(m, g) };
  }

  memoryOpMs(bytes: number): number {
    return transferMs(bytes, this.bw, this.eff.memoryOp);
  }

  /** The activation quantization before a GEMM whose input is not quantized by the previous kernel. */
  quantizeMs(g: GemmOp, x: number): number {
    return this.memoryOpMs(x * g.k * quantizeBytesPerElement(g.dtype));
  }

  allReduceMs(elements: number): number {
    return transferMs(allReduceBytes(elements, this.plan.attnTp), this.arBw, this.eff.allReduce);
  }

  p2pMs(bytes: number): number {
    return transferMs(bytes, this.plan.gpu.interNodeBw, this.eff.p2p);
  }

  /** Token-expert pairs and active experts on the most loaded EP rank at X tokens. */
  rankLoad(X: number): RankLoad | null {
    return this.rankLoads ? this.rankLoads.get(X) : null;
  }

  moeFlopsBytes(X: number): { flops: number; bytes: number } {
    const m = this.plan.moe!;
    const load = this.rankLoad(X);
    if (!load) {
      return {
        flops: moeFlops(X, m.hidden, m.inter, m.topK, m.moeTp, m.moeEp),
        bytes: moeBytes(X, m.hidden, m.inter, m.topK, m.experts, m.moeTp, m.moeEp, m.dtype),
      };
    }
    return { flops: moeRankFlops(load, m.hidden, m.inter, m.moeTp), bytes: moeRankBytes(load, m.hidden, m.inter, m.moeTp, m.dtype) };
  }

  /** The routed experts of one MoE layer at X tokens (the batch's tokens, or all attention-DP ranks' tokens). */
  moeMs(X: number): number {
    const m = this.plan.moe!;
    const load = this.rankLoad(X);
    if (!load) {
      return rooflineMs(
        moeFlops(X, m.hidden, m.inter, m.topK, m.moeTp, m.moeEp),
        this.moeRate,
        moeBytes(X, m.hidden, m.inter, m.topK, m.experts, m.moeTp, m.moeEp, m.dtype),
        this.bw,
        this.eff.moe,
      );
    }
    return rooflineMs(
      moeRankFlops(load, m.hidden, m.inter, m.moeTp),
      this.moeRate,
      moeRankBytes(load, m.hidden, m.inter, m.moeTp, m.dtype),
      this.bw,
      this.eff.moe,
    );
  }

  /**
   * One MoE layer's dispatch + combine under attention DP: all-gather + reduce-scatter of all X tokens, or
   * an all-to-all of the busiest rank's xMax tokens to min(top-k, EP − 1) ranks.
   */
  moeCommMs(c: MoeCommOp, X: number, xMax: number): number {
    const e = this.eff.moeComm ?? { ...this.eff.allReduce, launchUs: this.eff.allReduce.launchUs + MOE_COMM_LAUNCH_US };
    if (c.kind === "allgather") {
      return (
        transferMs(gatherBytes(X * c.dispatchBytesPerToken, c.gpus), this.commBw, e) +
        transferMs(gatherBytes(X * c.combineBytesPerToken, c.gpus), this.commBw, e)
      );
    }
    return (
      transferMs(xMax * c.remoteRanks * c.dispatchBytesPerToken, this.commBw, e) + transferMs(xMax * c.remoteRanks * c.combineBytesPerToken, this.commBw, e)
    );
  }

  moeCommBytes(c: MoeCommOp, X: number, xMax: number): number {
    if (c.kind === "allgather") return gatherBytes(X * (c.dispatchBytesPerToken + c.combineBytesPerToken), c.gpus);
    return xMax * c.remoteRanks * (c.dispatchBytesPerToken + c.combineBytesPerToken);
  }

  planGemmMs(i: number, g: GemmOp, m: number): number {
    return this.gemmMs(g, this.gemmRates[i]!, m);
  }

  private tokenOps(x: number, part: TokenPart, X: number, xMax: number): number {
    return tokenOpsMs(this.plan, this, x, part, X, xMax);
  }

  denseMs(x: number): number {
    return this.tokenOps(x, "all", x, x);
  }

  rankDenseMs(x: number): number {
    return this.tokenOps(x, "rank", x, x);
  }

  moePartMs(X: number, xMax: number): number {
    return this.tokenOps(0, "moe", X, xMax);
  }

  private breakdown(x: number, part: TokenPart, X: number, xMax: number): OpTime[] {
    const p = this.plan;
    const out: OpTime[] = [];
    if (part !== "moe") {
      for (const g of p.gemms) {
        const c = this.gemmCost(g, x);
        out.push({ op: g.op, source: c.source, ms: g.scale * c.ms, flops: g.scale * c.flops, bytes: g.scale * c.bytes });
      }
      for (const g of p.gemms) {
        if (!g.quantizeInput) continue;
        const bytes = x * g.k * quantizeBytesPerElement(g.dtype);
        out.push({ op: `${g.op.replace(/_gemm$/, "")}_quantize`, source: "sol", ms: g.scale * this.quantizeMs(g, x), flops: 0, bytes: g.scale * bytes });
      }
      for (const o of p.memoryOps) {
        out.push({ op: o.op, source: "sol", ms: o.scale * this.memoryOpMs(x * o.bytesPerToken), flops: 0, bytes: o.scale * x * o.bytesPerToken });
      }
    }
    if (part !== "rank") {
      if (p.moe) {
        const m = p.moe;
        const fb = this.moeFlopsBytes(X);
        out.push({ op: m.op, source: "sol", ms: m.scale * this.moeMs(X), flops: m.scale * fb.flops, bytes: m.scale * fb.bytes });
      }
      if (p.moeComm) {
        const c = p.moeComm;
        out.push({
          op: `moe_${c.kind}`,
          source: "sol",
          ms: c.scale * this.moeCommMs(c, X, xMax),
          flops: 0,
          bytes: c.scale * this.moeCommBytes(c, X, xMax),
        });
      }
    }
    if (part !== "moe") {
      if (p.allReduceCalls > 0) {
        const elements = x * p.allReduceElementsPerToken;
        out.push({
          op: "all_reduce",
          source: "sol",
          ms: p.allReduceCalls * this.allReduceMs(elements),
          flops: 0,
          bytes: p.allReduceCalls * allReduceBytes(elements, p.attnTp),
        });
      }
      if (p.p2pCalls > 0) {
        out.push({ op: "p2p", source: "sol", ms: p.p2pCalls * this.p2pMs(x * p.p2pBytesPerToken), flops: 0, bytes: p.p2pCalls * x * p.p2pBytesPerToken });
      }
    }
    return out;
  }

  denseBreakdown(x: number): OpTime[] {
    return this.breakdown(x, "all", x, x);
  }

  rankDenseBreakdown(x: number): OpTime[] {
    return this.breakdown(x, "rank", x, x);
  }

  moePartBreakdown(X: number, xMax: number): OpTime[] {
    return this.breakdown(0, "moe", X, xMax);
  }

  logitsMs(nseq: number): number {
    return this.gemmMs(this.plan.logits, this.logitsRate, nseq);
  }

  logitsCost(nseq: number): OpCost {
    return this.gemmCost(this.plan.logits, nseq);
  }

  /** FLOPs, bytes and rate of one layer's context attention of group g (MLA: kv_b GEMM apart). */
  private ctxWork(g: AttentionGroup, b: number, fullS: number, prefix: number): { flops: number; bytes: number; rate: number } {
    const p = this.plan;
    if (g.mla) {
      const a = g.mla;
      const dq = a.qkNopeHeadDim + a.qkRopeHeadDim;
      const cap = a.dsa ? a.dsa.indexTopk : 0;
      return {
        flops: mlaCtxFlops(b, fullS, prefix, g.heads, dq, a.vHeadDim, cap),
        bytes: mlaCtxBytes(b, fullS, prefix, g.heads, dq, a.vHeadDim, p.kvDtype),
        rate: this.fmhaRate,
      };
    }
    if (g.window > 0) {
      return {
        flops: windowCtxAttnFlops(b, fullS, prefix, g.heads, g.headDim, g.window),
        bytes: windowCtxAttnBytes(b, fullS, prefix, g.heads, g.kvHeads, g.headDim, p.kvDtype, g.window),
        rate: this.fmhaRate,
      };
    }
    return {
      flops: ctxAttnFlops(b, fullS, prefix, g.heads, g.headDim),
      bytes: ctxAttnBytes(b, fullS, prefix, g.heads, g.kvHeads, g.headDim, p.kvDtype),
      rate: this.fmhaRate,
    };
  }

  /** The MLA extras of a context chunk: the kv_b expansion GEMM and (DSA) the indexer's scoring. */
  private mlaCtxExtrasMs(g: AttentionGroup, b: number, fullS: number, prefix: number): number {
    const a = g.mla!;
    const tokens = Math.max(1, Math.round(b * (fullS - prefix)));
    let t = this.gemmOpMs(a.kvB, tokens);
    if (a.dsa) {
      const flops = indexerFlops(1, 1, a.dsa.indexHeads, a.dsa.indexHeadDim) * b * (fullS * fullS - prefix * prefix) * 0.5;
      const bytes = b * fullS * (a.dsa.indexHeadDim + 4);
      t += rooflineMs(flops, this.fp8Rate, bytes, this.bw, this.eff.contextAttention);
    }
    return t;
  }

  ctxGroupMs(gi: number, b: number, fullS: number, prefix: number): number {
    const g = this.groups[gi]!;
    const w = this.ctxWork(g, b, fullS, prefix);
    const attn = rooflineMs(w.flops, w.rate, w.bytes, this.bw, this.eff.contextAttention);
    return g.mla ? attn + this.mlaCtxExtrasMs(g, b, fullS, prefix) : attn;
  }

  ctxGroupCost(gi: number, b: number, fullS: number, prefix: number): OpCost {
    const g = this.groups[gi]!;
    const w = this.ctxWork(g, b, fullS, prefix);
    let flops = w.flops;
    let bytes = w.bytes;
    if (g.mla) {
      const tokens = Math.max(1, Math.round(b * (fullS - prefix)));
      flops += gemmFlops(tokens, g.mla.kvB.n, g.mla.kvB.k);
      bytes += gemmOpBytes(tokens, g.mla.kvB);
    }
    return { ms: this.ctxGroupMs(gi, b, fullS, prefix), source: "sol", flops, bytes };
  }

  private genWork(g: AttentionGroup, b: number, s: number): { flops: number; bytes: number } {
    const p = this.plan;
    if (g.mla) {
      const a = g.mla;
      const keys = genKeys(s, a.dsa ? a.dsa.indexTopk : 0);
      return {
        flops: mlaGenFlops(b, keys, g.heads, a.kvLoraRank, a.qkRopeHeadDim),
        bytes: mlaGenBytes(b, keys, g.heads, a.kvLoraRank, a.qkRopeHeadDim, p.kvDtype),
      };
    }
    const sEff = g.window > 0 ? genKeys(s, g.window) + 1 : s;
    return { flops: genAttnFlops(b, sEff, g.heads, g.headDim), bytes: genAttnBytes(b, sEff, g.heads, g.kvHeads, g.headDim, p.kvDtype) };
  }

  /** MLA decode extras: the absorbed BMMs before and after the attention, and (DSA) the indexer over every cached token. */
  private mlaGenExtras(g: AttentionGroup, b: number, s: number): { ms: number; flops: number; bytes: number } {
    const a = g.mla!;
    const rate = flopRate(this.plan.gpu, a.bmmDtype === "fp8" ? "fp8" : "bf16");
    const preF = mlaBmmFlops(b, g.heads, a.qkNopeHeadDim, a.kvLoraRank);
    const preB = mlaBmmBytes(b, g.heads, a.qkNopeHeadDim, a.kvLoraRank, a.bmmDtype);
    const postF = mlaBmmFlops(b, g.heads, a.kvLoraRank, a.vHeadDim);
    const postB = mlaBmmBytes(b, g.heads, a.kvLoraRank, a.vHeadDim, a.bmmDtype);
    let ms = rooflineMs(preF, rate, preB, this.bw, this.eff.gemm) + rooflineMs(postF, rate, postB, this.bw, this.eff.gemm);
    let flops = preF + postF;
    let bytes = preB + postB;
    if (a.dsa) {
      const f = indexerFlops(b, s - 1, a.dsa.indexHeads, a.dsa.indexHeadDim);
      const by = b * (s - 1) * (a.dsa.indexHeadDim + 4);
      ms += rooflineMs(f, this.fp8Rate, by, this.bw, this.eff.generationAttention);
      flops += f;
      bytes += by;
    }
    return { ms, flops, bytes };
  }

  genGroupMs(gi: number, b: number, s: number): number {
    const g = this.groups[gi]!;
    const w = this.genWork(g, b, s);
    const attn = rooflineMs(w.flops, this.genRate, w.bytes, this.bw, this.eff.generationAttention);
    return g.mla ? attn + this.mlaGenExtras(g, b, s).ms : attn;
  }

  genGroupCost(gi: number, b: number, s: number): OpCost {
    const g = this.groups[gi]!;
    const w = this.genWork(g, b, s);
    const extra = g.mla ? this.mlaGenExtras(g, b, s) : { flops: 0, bytes: 0 };
    return { ms: this.genGroupMs(gi, b, s), source: "sol", flops: w.flops + extra.flops, bytes: w.bytes + extra.bytes };
  }

  /** One layer's context attention of the first attention group. */
  ctxAttnMs(b: number, fullS: number, prefix: number): number {
    return this.ctxGroupMs(0, b, fullS, prefix);
  }

  /** One layer's decode attention of the first attention group. */
  genAttnMs(b: number, s: number): number {
    return this.genGroupMs(0, b, s);
  }
}

/** Bytes of every weight read once (for docs/tests: weight traffic of one decode step per GPU, MoE experts excluded). */
export function weightTrafficBytes(plan: OpPlan): number {
  let t = 0;
  for (const g of plan.gemms) t += g.scale * g.n * g.k * bytesPerElement(g.dtype);
  t += plan.logits.n * plan.logits.k * bytesPerElement(plan.logits.dtype);
  return t;
}

export type { MoeOp };
