import type { OpTime } from "@servesim/core";
import type { KernelModel, OpCost } from "../compose.js";
import type { Precision } from "../dtypes.js";
import { SourceTracker } from "../opSource.js";
import type { GemmOp, OpPlan } from "../plan.js";
import type { RooflineKernels } from "../roofline.js";
import {
  allReduceBytes,
  ctxAttnBytes,
  ctxAttnFlops,
  ctxAttnSolMs,
  gemmBytes,
  gemmFlops,
  genAttnBytes,
  genAttnFlops,
  genAttnSolMs,
  moeBytes,
  moeFlops,
  moeSolMs,
} from "../sol.js";
import type { AttentionView } from "./attentionTable.js";
import type { AicDatabase } from "./database.js";
import { gemmTableDtype } from "./gemmTable.js";

const tableDtype = (p: Precision): string => (p === "fp8" ? "fp8" : "bfloat16");
const CTX_KEY_S = 1 << 22;

/**
 * Prices a plan's ops from AIC's measured tables (performance-model.md §4–§6). Ops without a table or a
 * usable family fall back to the roofline kernels (source "roofline-fallback"); memory ops use the YAML's
 * empirical `bytes/(factor·BW) + constant` (source "empirical").
 */
export class AicKernels implements KernelModel {
  readonly layers: number;
  private readonly plan: OpPlan;
  private readonly db: AicDatabase;
  private readonly fallback: RooflineKernels;
  private readonly t = new SourceTracker();
  private readonly gemmDtypes: Array<string | undefined>;
  private readonly logitsDtype: string | undefined;
  private readonly ctxView: AttentionView | undefined;
  private readonly genView: AttentionView | undefined;
  private readonly moeQuery: ((tokens: number, t: SourceTracker) => number) | undefined;
  private readonly memBwEff: number;
  private readonly memConstMs: number;
  private readonly ctxCache = new Map<number, number>();

  constructor(plan: OpPlan, db: AicDatabase, fallback: RooflineKernels) {
    this.plan = plan;
    this.db = db;
    this.fallback = fallback;
    this.layers = plan.layers;
    const gpu = plan.gpu;
    const usable = (p: Precision): string | undefined => {
      const d = gemmTableDtype(p);
      return d !== undefined && db.gemm?.has(d) ? d : undefined;
    };
    this.gemmDtypes = plan.gemms.map((g) => usable(g.dtype));
    this.logitsDtype = usable(plan.logits.dtype);
    const { headDim: d, kvHeads, kvDtype, fmhaDtype } = plan;
    this.ctxView = db.contextAttention?.view(tableDtype(fmhaDtype), tableDtype(kvDtype), 0, d, plan.heads, kvHeads, (b, s, h) =>
      ctxAttnSolMs(gpu, b, s, 0, h, kvHeads === plan.heads ? h : kvHeads, d, kvDtype, fmhaDtype),
    );
    this.genView = db.generationAttention?.view("bfloat16", tableDtype(kvDtype), 0, d, plan.heads, kvHeads, (b, s, h) =>
      genAttnSolMs(gpu, b, s, h, kvHeads === plan.heads ? h : kvHeads, d, kvDtype),
    );
    const m = plan.moe;
    this.moeQuery =
      m && (m.dtype === "bf16" || m.dtype === "fp16" || m.dtype === "fp8")
        ? db.moe?.view(
            {
              dtype: tableDtype(m.dtype),
              hidden: m.hidden,
              inter: m.inter,
              topK: m.topK,
              experts: m.experts,
              moeTp: m.moeTp,
              moeEp: m.moeEp,
              distribution: "balanced",
            },
            (x) => moeSolMs(gpu, x, m.hidden, m.inter, m.topK, m.experts, m.moeTp, m.moeEp, m.dtype),
          )
        : undefined;
    this.memBwEff = gpu.memBwEmpiricalScalingFactor;
    this.memConstMs = gpu.memEmpiricalConstantLatency * 1000;
  }

  /** Latency of one GEMM call; leaves the source in the tracker. */
  private gemm(g: GemmOp, dtype: string | undefined, m: number): number {
    if (dtype !== undefined) {
      const v = this.db.gemm!.query(dtype, this.plan.gpu, g.dtype, m, g.n, g.k, this.t);
      if (v !== undefined) return v;
    }
    this.t.mark("roofline-fallback");
    return this.fallback.gemmOpMs(g, m);
  }

  private memoryOpMs(bytes: number): number {
    return (1000 * bytes) / (this.plan.gpu.memBw * this.memBwEff) + this.memConstMs;
  }

  private moe(x: number): number {
    if (this.moeQuery) return this.moeQuery(x, this.t);
    this.t.mark("roofline-fallback");
    return this.fallback.moeMs(x);
  }

  private allReduce(elements: number): number {
    const v = this.db.allReduce?.query(this.plan.gpu, this.plan.tp, elements, this.t);
    if (v !== undefined) return v;
    this.t.mark("roofline-fallback");
    return this.fallback.allReduceMs(elements);
  }

  private p2pMs(bytes: number): number {
    return (1000 * bytes) / this.plan.gpu.interNodeBw + this.plan.gpu.p2pLatency * 1000;
  }

  denseMs(x: number): number {
    const p = this.plan;
    let total = 0;
    for (let i = 0; i < p.gemms.length; i++) {
      const g = p.gemms[i]!;
      total += g.scale * this.gemm(g, this.gemmDtypes[i], x);
    }
    for (let i = 0; i < p.memoryOps.length; i++) {
      const o = p.memoryOps[i]!;
      total += o.scale * this.memoryOpMs(x * o.bytesPerToken);
    }
    if (p.moe) total += p.moe.scale * this.moe(x);
    if (p.allReduceCalls > 0) total += p.allReduceCalls * this.allReduce(x * p.allReduceElementsPerToken);
    if (p.p2pCalls > 0) total += p.p2pCalls * this.p2pMs(x * p.p2pBytesPerToken);
    return total;
  }

  denseBreakdown(x: number): OpTime[] {
    const p = this.plan;
    const out: OpTime[] = [];
    p.gemms.forEach((g, i) => {
      this.t.reset();
      const ms = this.gemm(g, this.gemmDtypes[i], x);
      out.push({
        op: g.op,
        source: this.t.source,
        ms: g.scale * ms,
        flops: g.scale * gemmFlops(x, g.n, g.k),
        bytes: g.scale * gemmBytes(x, g.n, g.k, g.dtype),
      });
    });
    for (const o of p.memoryOps) {
      out.push({ op: o.op, source: "empirical", ms: o.scale * this.memoryOpMs(x * o.bytesPerToken), flops: 0, bytes: o.scale * x * o.bytesPerToken });
    }
    if (p.moe) {
      const m = p.moe;
      this.t.reset();
      const ms = this.moe(x);
      out.push({
        op: m.op,
        source: this.t.source,
        ms: m.scale * ms,
        flops: m.scale * moeFlops(x, m.hidden, m.inter, m.topK, m.moeTp, m.moeEp),
        bytes: m.scale * moeBytes(x, m.hidden, m.inter, m.topK, m.experts, m.moeTp, m.moeEp, m.dtype),
      });
    }
    if (p.allReduceCalls > 0) {
      const elements = x * p.allReduceElementsPerToken;
      this.t.reset();
      const ms = this.allReduce(elements);
      out.push({ op: "all_reduce", source: this.t.source, ms: p.allReduceCalls * ms, flops: 0, bytes: p.allReduceCalls * allReduceBytes(elements, p.tp) });
    }
    if (p.p2pCalls > 0) {
      out.push({ op: "p2p", source: "empirical", ms: p.p2pCalls * this.p2pMs(x * p.p2pBytesPerToken), flops: 0, bytes: p.p2pCalls * x * p.p2pBytesPerToken });
    }
    return out;
  }

  logitsMs(nseq: number): number {
    return this.gemm(this.plan.logits, this.logitsDtype, nseq);
  }

  logitsCost(nseq: number): OpCost {
    const g = this.plan.logits;
    this.t.reset();
    const ms = this.gemm(g, this.logitsDtype, nseq);
    return { ms, source: this.t.source, flops: gemmFlops(nseq, g.n, g.k), bytes: gemmBytes(nseq, g.n, g.k, g.dtype) };
  }

  /** Table latency of b fresh sequences of fullS tokens (memoized). */
  private ctxTable(b: number, fullS: number): number {
    const key = b * CTX_KEY_S + fullS;
    let v = fullS < CTX_KEY_S ? this.ctxCache.get(key) : undefined;
    if (v === undefined) {
      v = this.ctxView!.query(b, fullS, this.plan.heads, this.t);
      if (fullS < CTX_KEY_S && this.ctxCache.size < 1 << 20) this.ctxCache.set(key, v);
    }
    return v;
  }

  ctxAttnMs(b: number, fullS: number, prefix: number): number {
    if (!this.ctxView) return this.fallback.ctxAttnMs(b, fullS, prefix);
    const factor = prefix > 0 ? (fullS * fullS - prefix * prefix) / (fullS * fullS) : 1;
    return this.ctxTable(b, fullS) * factor;
  }

  ctxAttnCost(b: number, fullS: number, prefix: number): OpCost {
    const p = this.plan;
    const flops = ctxAttnFlops(b, fullS, prefix, p.heads, p.headDim);
    const bytes = ctxAttnBytes(b, fullS, prefix, p.heads, p.kvHeads, p.headDim, p.kvDtype);
    if (!this.ctxView) return { ms: this.fallback.ctxAttnMs(b, fullS, prefix), source: "roofline-fallback", flops, bytes };
    this.t.reset();
    const factor = prefix > 0 ? (fullS * fullS - prefix * prefix) / (fullS * fullS) : 1;
    const ms = this.ctxView.query(b, fullS, p.heads, this.t) * factor;
    return { ms, source: this.t.source, flops, bytes };
  }

  genAttnMs(b: number, s: number): number {
    if (!this.genView) return this.fallback.genAttnMs(b, s);
    return this.genView.query(b, s, this.plan.heads, this.t);
  }

  genAttnCost(b: number, s: number): OpCost {
    const p = this.plan;
    const flops = genAttnFlops(b, s, p.heads, p.headDim);
    const bytes = genAttnBytes(b, s, p.heads, p.kvHeads, p.headDim, p.kvDtype);
    if (!this.genView) return { ms: this.fallback.genAttnMs(b, s), source: "roofline-fallback", flops, bytes };
    this.t.reset();
    return { ms: this.genView.query(b, s, p.heads, this.t), source: this.t.source, flops, bytes };
  }
}
