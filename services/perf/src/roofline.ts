import type { OpTime } from "@servesim/core";
import type { KernelModel, OpCost } from "./compose.js";
import { bytesPerElement, type Precision } from "./dtypes.js";
import type { Efficiency, OpEfficiency } from "./efficiency.js";
import type { GemmOp, OpPlan } from "./plan.js";
import {
  allReduceBytes,
  ctxAttnBytes,
  ctxAttnFlops,
  flopRate,
  gemmBytes,
  gemmFlops,
  genAttnBytes,
  genAttnFlops,
  linkBandwidth,
  moeBytes,
  moeFlops,
} from "./sol.js";

/** Roofline time of one call: max(FLOPs/(peak·eff), bytes/(BW·eff), floor) + launch, in ms. */
function rooflineMs(flops: number, rate: number, bytes: number, bw: number, e: OpEfficiency): number {
  return Math.max((1000 * flops) / (rate * e.compute), (1000 * bytes) / (bw * e.memory), e.floorUs / 1000) + e.launchUs / 1000;
}

/** Memory-only op (norms, all-reduce, P2P): max(bytes/(BW·eff), floor) + launch, in ms. */
function transferMs(bytes: number, bw: number, e: OpEfficiency): number {
  return Math.max((1000 * bytes) / (bw * e.memory), e.floorUs / 1000) + e.launchUs / 1000;
}

/** Speed-of-light × efficiency pricing of every op of a plan (the roofline predictor's kernels). */
export class RooflineKernels implements KernelModel {
  readonly layers: number;
  readonly plan: OpPlan;
  readonly eff: Efficiency;
  private readonly bw: number;
  private readonly arBw: number;
  private readonly gemmRates: number[];
  private readonly logitsRate: number;
  private readonly fmhaRate: number;
  private readonly genRate: number;
  private readonly moeRate: number;

  constructor(plan: OpPlan, eff: Efficiency) {
    this.plan = plan;
    this.eff = eff;
    this.layers = plan.layers;
    this.bw = plan.gpu.memBw;
    this.arBw = linkBandwidth(plan.gpu, plan.tp);
    this.gemmRates = plan.gemms.map((g) => this.rate(g.dtype));
    this.logitsRate = this.rate(plan.logits.dtype);
    this.fmhaRate = flopRate(plan.gpu, plan.fmhaDtype);
    this.genRate = flopRate(plan.gpu, plan.kvDtype === "fp8" ? "fp8" : "bf16");
    this.moeRate = plan.moe ? this.rate(plan.moe.dtype) : 0;
  }

  /** Attainable GEMM/MoE FLOP/s before the compute efficiency: the precision's peak, FP8 scaled. */
  private rate(p: Precision): number {
    return flopRate(this.plan.gpu, p) * (p === "fp8" ? this.eff.fp8ComputeScale : 1);
  }

  /** One GEMM call at m rows. */
  gemmMs(g: GemmOp, rate: number, m: number): number {
    return rooflineMs(gemmFlops(m, g.n, g.k), rate, gemmBytes(m, g.n, g.k, g.dtype), this.bw, this.eff.gemm);
  }

  /** One GEMM call at m rows, at the GEMM's own precision. */
  gemmOpMs(g: GemmOp, m: number): number {
    return this.gemmMs(g, this.rate(g.dtype), m);
  }

  gemmCost(g: GemmOp, m: number): OpCost {
    return {
      ms: this.gemmOpMs(g, m),
      source: "sol",
      flops: gemmFlops(m, g.n, g.k),
      bytes: gemmBytes(m, g.n, g.k, g.dtype),
    };
  }

  memoryOpMs(bytes: number): number {
    return transferMs(bytes, this.bw, this.eff.memoryOp);
  }

  allReduceMs(elements: number): number {
    return transferMs(allReduceBytes(elements, this.plan.tp), this.arBw, this.eff.allReduce);
  }

  p2pMs(bytes: number): number {
    return transferMs(bytes, this.plan.gpu.interNodeBw, this.eff.p2p);
  }

  moeMs(x: number): number {
    const m = this.plan.moe!;
    return rooflineMs(
      moeFlops(x, m.hidden, m.inter, m.topK, m.moeTp, m.moeEp),
      this.moeRate,
      moeBytes(x, m.hidden, m.inter, m.topK, m.experts, m.moeTp, m.moeEp, m.dtype),
      this.bw,
      this.eff.moe,
    );
  }

  denseMs(x: number): number {
    const p = this.plan;
    let t = 0;
    for (let i = 0; i < p.gemms.length; i++) {
      const g = p.gemms[i]!;
      t += g.scale * this.gemmMs(g, this.gemmRates[i]!, x);
    }
    for (let i = 0; i < p.memoryOps.length; i++) {
      const o = p.memoryOps[i]!;
      t += o.scale * this.memoryOpMs(x * o.bytesPerToken);
    }
    if (p.moe) t += p.moe.scale * this.moeMs(x);
    if (p.allReduceCalls > 0) t += p.allReduceCalls * this.allReduceMs(x * p.allReduceElementsPerToken);
    if (p.p2pCalls > 0) t += p.p2pCalls * this.p2pMs(x * p.p2pBytesPerToken);
    return t;
  }

  denseBreakdown(x: number): OpTime[] {
    const p = this.plan;
    const out: OpTime[] = [];
    for (const g of p.gemms) {
      const c = this.gemmCost(g, x);
      out.push({ op: g.op, source: c.source, ms: g.scale * c.ms, flops: g.scale * c.flops, bytes: g.scale * c.bytes });
    }
    for (const o of p.memoryOps) {
      out.push({ op: o.op, source: "sol", ms: o.scale * this.memoryOpMs(x * o.bytesPerToken), flops: 0, bytes: o.scale * x * o.bytesPerToken });
    }
    if (p.moe) {
      const m = p.moe;
      out.push({
        op: m.op,
        source: "sol",
        ms: m.scale * this.moeMs(x),
        flops: m.scale * moeFlops(x, m.hidden, m.inter, m.topK, m.moeTp, m.moeEp),
        bytes: m.scale * moeBytes(x, m.hidden, m.inter, m.topK, m.experts, m.moeTp, m.moeEp, m.dtype),
      });
    }
    if (p.allReduceCalls > 0) {
      const elements = x * p.allReduceElementsPerToken;
      out.push({
        op: "all_reduce",
        source: "sol",
        ms: p.allReduceCalls * this.allReduceMs(elements),
        flops: 0,
        bytes: p.allReduceCalls * allReduceBytes(elements, p.tp),
      });
    }
    if (p.p2pCalls > 0) {
      out.push({ op: "p2p", source: "sol", ms: p.p2pCalls * this.p2pMs(x * p.p2pBytesPerToken), flops: 0, bytes: p.p2pCalls * x * p.p2pBytesPerToken });
    }
    return out;
  }

  logitsMs(nseq: number): number {
    return this.gemmMs(this.plan.logits, this.logitsRate, nseq);
  }

  logitsCost(nseq: number): OpCost {
    return this.gemmCost(this.plan.logits, nseq);
  }

  ctxAttnMs(b: number, fullS: number, prefix: number): number {
    const p = this.plan;
    return rooflineMs(
      ctxAttnFlops(b, fullS, prefix, p.heads, p.headDim),
      this.fmhaRate,
      ctxAttnBytes(b, fullS, prefix, p.heads, p.kvHeads, p.headDim, p.kvDtype),
      this.bw,
      this.eff.contextAttention,
    );
  }

  ctxAttnCost(b: number, fullS: number, prefix: number): OpCost {
    const p = this.plan;
    return {
      ms: this.ctxAttnMs(b, fullS, prefix),
      source: "sol",
      flops: ctxAttnFlops(b, fullS, prefix, p.heads, p.headDim),
      bytes: ctxAttnBytes(b, fullS, prefix, p.heads, p.kvHeads, p.headDim, p.kvDtype),
    };
  }

  genAttnMs(b: number, s: number): number {
    const p = this.plan;
    return rooflineMs(
      genAttnFlops(b, s, p.heads, p.headDim),
      this.genRate,
      genAttnBytes(b, s, p.heads, p.kvHeads, p.headDim, p.kvDtype),
      this.bw,
      this.eff.generationAttention,
    );
  }

  genAttnCost(b: number, s: number): OpCost {
    const p = this.plan;
    return {
      ms: this.genAttnMs(b, s),
      source: "sol",
      flops: genAttnFlops(b, s, p.heads, p.headDim),
      bytes: genAttnBytes(b, s, p.heads, p.kvHeads, p.headDim, p.kvDtype),
    };
  }
}

/** Bytes of every weight read once (for docs/tests: weight traffic of one decode step per GPU). */
export function weightTrafficBytes(plan: OpPlan): number {
  let t = 0;
  for (const g of plan.gemms) t += g.scale * g.n * g.k * bytesPerElement(g.dtype);
  t += plan.logits.n * plan.logits.k * bytesPerElement(plan.logits.dtype);
  return t;
}
