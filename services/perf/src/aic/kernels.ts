import type { OpTime } from "@servesim/core";
import type { KernelModel, OpCost } from "../compose.js";
import type { Precision } from "../dtypes.js";
import { type GpuFamily, gpuFamily } from "../efficiency.js";
import { SourceTracker } from "../opSource.js";
import type { AttentionGroup, GemmOp, MoeCommOp, OpPlan } from "../plan.js";
import type { MoeDistribution } from "../resolve.js";
import type { RooflineKernels } from "../roofline.js";
import {
  allReduceBytes,
  ctxAttnSolMs,
  flopRate,
  gatherBytes,
  gemmBytes,
  gemmFlops,
  genAttnSolMs,
  linkBandwidth,
  mlaBmmBytes,
  mlaBmmFlops,
  mlaCtxBytes,
  mlaCtxFlops,
  mlaGenBytes,
  mlaGenFlops,
  windowCtxAttnBytes,
  windowCtxAttnFlops,
} from "../sol.js";
import { type TokenOpCosts, type TokenPart, tokenOpsMs } from "../tokenOps.js";
import type { AttentionView } from "./attentionTable.js";
import type { AicDatabase } from "./database.js";
import { gemmTableDtype } from "./gemmTable.js";

const tableDtype = (p: Precision): string => (p === "fp8" ? "fp8" : "bfloat16");
const CTX_KEY_S = 1 << 22;

/**
 * Largest GEMM m (tokens) priced as weight-bandwidth-bound decode GEMM for per-tensor fp8: see
 * `AicKernels.gemm`. Below the ridge of fp8 on Hopper by a wide margin (m FLOP per weight byte).
 */
export const FP8_SMALL_M_MAX = 64;

/**
 * Largest GEMM m at which AIC's NVFP4 rows are a per-call floor rather than the kernel: see
 * `AicKernels.nvfp4DecodeGemm`.
 */
export const NVFP4_SMALL_M_MAX = 64;

/**
 * The AIC MoE table's moe_dtypes of an experts precision on a GPU family, preferred first. gpt-oss's MXFP4
 * experts run with MXFP8 activations on Blackwell (W4A8_MXFP4_MXFP8, the CUTLASS and TRTLLM MoE backends) and
 * with bf16 activations on Hopper (W4A16_MXFP4; TensorRT-LLM's examples/models/core/gpt_oss/README.md, "MoE
 * Support Matrix"); a table without the Blackwell rows falls back to the W4A16 ones.
 */
export function moeTableDtypes(p: Precision, family: GpuFamily): string[] {
  switch (p) {
    case "bf16":
    case "fp16":
      return ["bfloat16"];
    case "fp8":
      return ["fp8"];
    case "fp8_block":
      return ["fp8_block"];
    case "nvfp4":
      return ["nvfp4"];
    case "mxfp4":
      return family === "blackwell" ? ["w4a8_mxfp4_mxfp8", "w4a16_mxfp4"] : ["w4a16_mxfp4"];
    default:
      return [];
  }
}

/** "balanced" or "power_law_1.01": the MoE table's distribution column; EPLB is priced as balanced ranks. */
export function moeTableDistribution(d: MoeDistribution, eplb: boolean): string {
  if (eplb || d.kind === "balanced") return "balanced";
  return `power_law_${d.alpha}`;
}

/** DeepSeek-V3's attention geometry: the only one the AIC MLA module tables measure (at any head count). */
function deepseekV3Geometry(plan: OpPlan, g: AttentionGroup): boolean {
  const a = g.mla!;
  return (
    plan.hidden === 7168 && a.qLoraRank === 1536 && a.kvLoraRank === 512 && a.qkNopeHeadDim === 128 && a.qkRopeHeadDim === 64 && a.vHeadDim === 128 && !a.dsa
  );
}

/** The geometries the DSA module tables were collected with, by architecture class. */
const DSA_TABLE_GEOMETRY: Readonly<Record<string, (plan: OpPlan, g: AttentionGroup) => boolean>> = {
  // zai-org/GLM-5: hidden 6144, q_lora 2048, kv_lora 512, nope 192, rope 64, v 256, indexer 32 × 128.
  GlmMoeDsaForCausalLM: (plan, g) => {
    const a = g.mla!;
    return plan.hidden === 6144 && a.qLoraRank === 2048 && a.kvLoraRank === 512 && a.qkNopeHeadDim === 192 && a.vHeadDim === 256 && a.dsa?.indexHeads === 32;
  },
  // deepseek-ai/DeepSeek-V3.2: DeepSeek-V3's attention plus a 64 × 128 indexer.
  DeepseekV32ForCausalLM: (plan, g) => {
    const a = g.mla!;
    return plan.hidden === 7168 && a.qLoraRank === 1536 && a.kvLoraRank === 512 && a.qkNopeHeadDim === 128 && a.vHeadDim === 128 && a.dsa?.indexHeads === 64;
  },
};

/** How one attention group is priced from the tables. */
interface GroupViews {
  ctx?: AttentionView;
  gen?: AttentionView;
  /** MLA: whole-module views (projections included): the group's MLA projections leave the dense ops. */
  module: boolean;
}

/**
 * Prices a plan's ops from AIC's measured tables (aiconfigurator/sdk/perf_database.py, operations/*.py). Ops without a table or a
 * usable family fall back to the roofline kernels (source "roofline-fallback"); memory ops use the YAML's
 * empirical `bytes/(factor·BW) + constant` (source "empirical").
 */
export class AicKernels implements KernelModel, TokenOpCosts {
  readonly layers: number;
  readonly groups: readonly AttentionGroup[];
  private readonly plan: OpPlan;
  private readonly db: AicDatabase;
  private readonly fallback: RooflineKernels;
  private readonly t = new SourceTracker();
  private readonly gemmDtypes: Array<string | undefined>;
  /** GEMMs priced as ops (false: inside an MLA module table). */
  private readonly gemmPriced: boolean[];
  private readonly logitsDtype: string | undefined;
  private readonly views: GroupViews[];
  private readonly moeQuery: ((tokens: number, t: SourceTracker) => number) | undefined;
  private readonly memBwEff: number;
  private readonly memConstMs: number;
  private readonly ctxCache = new Map<number, number>();

  constructor(plan: OpPlan, db: AicDatabase, fallback: RooflineKernels) {
    this.plan = plan;
    this.db = db;
    this.fallback = fallback;
    this.layers = plan.layers;
    this.groups = plan.attention;
    const gpu = plan.gpu;
    const usable = (p: Precision): string | undefined => {
      const d = gemmTableDtype(p);
      return d !== undefined && db.gemm?.has(d) ? d : undefined;
    };
    this.gemmDtypes = plan.gemms.map((g) => usable(g.dtype));
    this.logitsDtype = usable(plan.logits.dtype);
    this.views = plan.attention.map((g) => this.groupViews(g));
    const moduleMla = this.views.some((v) => v.module);
    this.gemmPriced = plan.gemms.map((g) => !(moduleMla && g.module === "mla"));
    const m = plan.moe;
    const family = gpuFamily(gpu);
    this.moeQuery = m
      ? moeTableDtypes(m.dtype, family)
          .map((dtype) =>
            db.moe?.view(
              {
                dtype,
                hidden: m.hidden,
                inter: m.inter,
                topK: m.topK,
                experts: m.experts,
                moeTp: m.moeTp,
                moeEp: m.moeEp,
                distribution: moeTableDistribution(m.distribution, m.eplb),
              },
              (x) => this.moeSolMs(x),
            ),
          )
          .find((v) => v !== undefined)
      : undefined;
    this.memBwEff = gpu.memBwEmpiricalScalingFactor;
    this.memConstMs = gpu.memEmpiricalConstantLatency * 1000;
  }

  /** The speed of light of the routed experts at X tokens (the utilization hold of the MoE table). */
  private moeSolMs(x: number): number {
    const fb = this.fallback.moeFlopsBytes(x);
    return 1000 * Math.max(fb.flops / flopRate(this.plan.gpu, this.plan.moe!.dtype), fb.bytes / this.plan.gpu.memBw);
  }

  private groupViews(g: AttentionGroup): GroupViews {
    const { gpu, kvDtype, fmhaDtype } = this.plan;
    const db = this.db;
    if (g.mla) {
      const a = g.mla;
      const heads = g.heads;
      const dq = a.qkNopeHeadDim + a.qkRopeHeadDim;
      const ctxSol = (b: number, s: number, h: number): number =>
        1000 * Math.max(mlaCtxFlops(b, s, 0, h, dq, a.vHeadDim, 0) / flopRate(gpu, fmhaDtype), mlaCtxBytes(b, s, 0, h, dq, a.vHeadDim, kvDtype) / gpu.memBw);
      const genSol = (b: number, s: number, h: number): number =>
        1000 *
        Math.max(
          mlaGenFlops(b, s - 1, h, a.kvLoraRank, a.qkRopeHeadDim) / flopRate(gpu, kvDtype === "fp8" ? "fp8" : "bf16"),
          mlaGenBytes(b, s - 1, h, a.kvLoraRank, a.qkRopeHeadDim, kvDtype) / gpu.memBw,
        );
      const kv = tableDtype(kvDtype);
      if (a.dsa) {
        // The DSA module tables measure the sparse block (indexer included) of their architecture's geometry.
        const arch = this.plan.model.architecture;
        const gemmType = a.moduleGemm === "bf16" ? "bfloat16" : a.moduleGemm;
        const ctx = gemmType ? db.dsaContextModule?.get(arch)?.view(gemmType, kv, 0, 576, heads, heads, ctxSol) : undefined;
        const gen = gemmType ? db.dsaGenerationModule?.get(arch)?.view(gemmType, kv, 0, 576, heads, heads, genSol) : undefined;
        if (ctx && gen && DSA_TABLE_GEOMETRY[arch]?.(this.plan, g)) return { ctx, gen, module: true };
        return { module: false };
      }
      if (a.moduleGemm && deepseekV3Geometry(this.plan, g)) {
        const gemmType = a.moduleGemm === "bf16" ? "bfloat16" : a.moduleGemm;
        const ctx = db.mlaContextModule?.view(gemmType, kv, 0, 576, heads, heads, ctxSol);
        const gen = db.mlaGenerationModule?.view(gemmType, kv, 0, 576, heads, heads, genSol);
        if (ctx && gen) return { ctx, gen, module: true };
      }
      const out: GroupViews = { module: false };
      if (!a.dsa) {
        const ctx = db.mlaContext?.view("bfloat16", kv, 0, 576, heads, heads, ctxSol);
        const gen = db.mlaGeneration?.view("bfloat16", kv, 0, 576, heads, heads, genSol);
        if (ctx) out.ctx = ctx;
        if (gen) out.gen = gen;
      }
      return out;
    }
    const { headDim: d, kvHeads, heads, window } = g;
    const out: GroupViews = { module: false };
    const ctx = db.contextAttention?.view(tableDtype(fmhaDtype), tableDtype(kvDtype), window, d, heads, kvHeads, (b, s, h) =>
      window > 0
        ? 1000 *
          Math.max(
            windowCtxAttnFlops(b, s, 0, h, d, window) / flopRate(gpu, fmhaDtype),
            windowCtxAttnBytes(b, s, 0, h, kvHeads === heads ? h : kvHeads, d, kvDtype, window) / gpu.memBw,
          )
        : ctxAttnSolMs(gpu, b, s, 0, h, kvHeads === heads ? h : kvHeads, d, kvDtype, fmhaDtype),
    );
    const gen = db.generationAttention?.view("bfloat16", tableDtype(kvDtype), window, d, heads, kvHeads, (b, s, h) =>
      genAttnSolMs(gpu, b, window > 0 ? Math.min(s, window + 1) : s, h, kvHeads === heads ? h : kvHeads, d, kvDtype),
    );
    if (ctx) out.ctx = ctx;
    if (gen) out.gen = gen;
    return out;
  }

  /** Latency of one GEMM call; leaves the source in the tracker. */
  private gemm(g: GemmOp, dtype: string | undefined, m: number): number {
    if (dtype !== undefined) {
      const v = this.db.gemm!.query(dtype, this.plan.gpu, g.dtype, m, g.n, g.k, this.t);
      if (v !== undefined) {
        if (dtype === "fp8" && m <= FP8_SMALL_M_MAX) return this.fp8DecodeGemm(g, m, v);
        if (dtype === "nvfp4" && m <= NVFP4_SMALL_M_MAX) return this.nvfp4DecodeGemm(g, m, v);
        return v;
      }
    }
    this.t.mark("roofline-fallback");
    return this.fallback.gemmOpMs(g, m);
  }

  /**
   * A per-tensor fp8 GEMM at decode-sized m: the lower envelope of AIC's per-tensor (`fp8`) and
   * block-scaled (`fp8_block`) tables. At m ≤ 64 both kernels stream the same fp8 weight bytes and do
   * negligible math, so their cost is the weight read; the per-tensor table sits 30–60 % above the block
   * table there (and above the bf16 table, which reads twice the bytes, at small n), a per-call floor of
   * the collector's per-tensor path (its dynamic activation quantization and cuBLASLt heuristics) rather
   * than weight traffic. Inside TensorRT-LLM's decode CUDA graphs, with the activation scale static in an
   * fp8 checkpoint, that floor does not recur per layer; the lower envelope keeps the measured
   * weight-bandwidth cost. Measured effect on the silicon rows: docs/timing.md.
   */
  private fp8DecodeGemm(g: GemmOp, m: number, perTensor: number): number {
    if (!this.db.gemm!.has("fp8_block")) return perTensor;
    const block = this.db.gemm!.query("fp8_block", this.plan.gpu, g.dtype, m, g.n, g.k, this.t);
    return block === undefined ? perTensor : Math.min(perTensor, block);
  }

  /**
   * An NVFP4 GEMM at decode-sized m: the lower of AIC's row and the roofline's low-precision GEMM (marked
   * as a fallback when it wins). AIC's NVFP4 rows are its `torch_flow` collector (the table's kernel_source):
   * the Linear's whole torch path timed per call outside CUDA graphs, flat at 18–20 µs on B200/GB200 for
   * m = 1–64 whatever n (n = 512 to 4,096 at k = 7,168, whose weight read is 0.2–1.8 µs). TensorRT-LLM's
   * decode runs `nvfp4_gemm` inside CUDA graphs, autotuned per token bucket over CUTLASS, cuBLASLt and, up to 8
   * tokens, a CUDA-core kernel (`CudaCoreNVFP4Runner`, tensorrt_llm/_torch/custom_ops/torch_custom_ops.py), with
   * the activation quantization fused into the preceding norm; the tables hold none of those kernels.
   */
  private nvfp4DecodeGemm(g: GemmOp, m: number, table: number): number {
    const sol = this.fallback.gemmOpMs(g, m);
    if (sol >= table) return table;
    this.t.mark("roofline-fallback");
    return sol;
  }

  memoryOpMs(bytes: number): number {
    return (1000 * bytes) / (this.plan.gpu.memBw * this.memBwEff) + this.memConstMs;
  }

  /** An activation quantization kernel (memory-bound: the empirical memory formula). */
  quantizeMs(g: GemmOp, x: number): number {
    return this.memoryOpMs(x * g.k * (2 + (g.dtype === "nvfp4" ? 0.5 + 1 / 16 : 1 + 4 / 128)));
  }

  moeMs(x: number): number {
    if (this.moeQuery) return this.moeQuery(x, this.t);
    this.t.mark("roofline-fallback");
    return this.fallback.moeMs(x);
  }

  allReduceMs(elements: number): number {
    const v = this.db.allReduce?.query(this.plan.gpu, this.plan.attnTp, elements, this.t);
    if (v !== undefined) return v;
    this.t.mark("roofline-fallback");
    return this.fallback.allReduceMs(elements);
  }

  /**
   * One MoE layer's dispatch + combine under attention DP. All-gather/reduce-scatter from the NCCL tables
   * (message size in half elements); the all-to-all kernels have no tables here: speed of light.
   */
  moeCommMs(c: MoeCommOp, X: number, xMax: number): number {
    const nccl = this.db.nccl;
    if (c.kind === "allgather" && nccl) {
      const ag = nccl.get("all_gather")?.query(this.plan.gpu, c.gpus, (X * c.dispatchBytesPerToken) / 2, this.t);
      const rs = nccl.get("reduce_scatter")?.query(this.plan.gpu, c.gpus, (X * c.combineBytesPerToken) / 2, this.t);
      if (ag !== undefined && rs !== undefined)
        return Math.max(ag, this.gatherSolMs(X * c.dispatchBytesPerToken, c.gpus)) + Math.max(rs, this.gatherSolMs(X * c.combineBytesPerToken, c.gpus));
    }
    this.t.mark("roofline-fallback");
    return this.fallback.moeCommMs(c, X, xMax);
  }

  private gatherSolMs(totalBytes: number, gpus: number): number {
    return (1000 * gatherBytes(totalBytes, gpus)) / linkBandwidth(this.plan.gpu, gpus);
  }

  p2pMs(bytes: number): number {
    return (1000 * bytes) / this.plan.gpu.interNodeBw + this.plan.gpu.p2pLatency * 1000;
  }

  planGemmMs(i: number, g: GemmOp, m: number): number {
    return this.gemmPriced[i] ? this.gemm(g, this.gemmDtypes[i], m) : Number.NaN;
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
      p.gemms.forEach((g, i) => {
        if (!this.gemmPriced[i]) return;
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
      for (let i = 0; i < p.gemms.length; i++) {
        const g = p.gemms[i]!;
        if (!g.quantizeInput || !this.gemmPriced[i]) continue;
        out.push({ op: `${g.op.replace(/_gemm$/, "")}_quantize`, source: "empirical", ms: g.scale * this.quantizeMs(g, x), flops: 0, bytes: 0 });
      }
      for (const o of p.memoryOps) {
        out.push({ op: o.op, source: "empirical", ms: o.scale * this.memoryOpMs(x * o.bytesPerToken), flops: 0, bytes: o.scale * x * o.bytesPerToken });
      }
    }
    if (part !== "rank") {
      if (p.moe) {
        const m = p.moe;
        this.t.reset();
        const ms = this.moeMs(X);
        const fb = this.fallback.moeFlopsBytes(X);
        out.push({ op: m.op, source: this.t.source, ms: m.scale * ms, flops: m.scale * fb.flops, bytes: m.scale * fb.bytes });
      }
      if (p.moeComm) {
        const c = p.moeComm;
        this.t.reset();
        const ms = this.moeCommMs(c, X, xMax);
        out.push({
          op: `moe_${c.kind}`,
          source: this.t.source === "roofline-fallback" && c.kind !== "allgather" ? "sol" : this.t.source,
          ms: c.scale * ms,
          flops: 0,
          bytes: c.scale * this.fallback.moeCommBytes(c, X, xMax),
        });
      }
    }
    if (part !== "moe") {
      if (p.allReduceCalls > 0) {
        const elements = x * p.allReduceElementsPerToken;
        this.t.reset();
        const ms = this.allReduceMs(elements);
        out.push({
          op: "all_reduce",
          source: this.t.source,
          ms: p.allReduceCalls * ms,
          flops: 0,
          bytes: p.allReduceCalls * allReduceBytes(elements, p.attnTp),
        });
      }
      if (p.p2pCalls > 0) {
        out.push({ op: "p2p", source: "empirical", ms: p.p2pCalls * this.p2pMs(x * p.p2pBytesPerToken), flops: 0, bytes: p.p2pCalls * x * p.p2pBytesPerToken });
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
    return this.gemm(this.plan.logits, this.logitsDtype, nseq);
  }

  logitsCost(nseq: number): OpCost {
    const g = this.plan.logits;
    this.t.reset();
    const ms = this.gemm(g, this.logitsDtype, nseq);
    return { ms, source: this.t.source, flops: gemmFlops(nseq, g.n, g.k), bytes: gemmBytes(nseq, g.n, g.k, g.dtype) };
  }

  /** Table latency of b fresh sequences of fullS tokens (memoized per group unless `cached` is false: breakdowns need the source). */
  private ctxTable(gi: number, b: number, fullS: number, cached = true): number {
    const key = (gi * (1 << 12) + b) * CTX_KEY_S + fullS;
    const cacheable = cached && fullS < CTX_KEY_S && b < 1 << 12;
    let v = cacheable ? this.ctxCache.get(key) : undefined;
    if (v === undefined) {
      v = this.views[gi]!.ctx!.query(b, fullS, this.groups[gi]!.heads, this.t);
      if (cacheable && this.ctxCache.size < 1 << 20) this.ctxCache.set(key, v);
    }
    return v;
  }

  /** The context table's latency of one layer with a cached prefix: the causal-area share of the fresh prompt's time. */
  private ctxFromTable(gi: number, b: number, fullS: number, prefix: number, cached: boolean): number {
    const factor = prefix > 0 ? (fullS * fullS - prefix * prefix) / (fullS * fullS) : 1;
    return this.ctxTable(gi, b, fullS, cached) * factor;
  }

  /** MLA extras priced from tables when the group is granular: the kv_b GEMM of the chunk. */
  private mlaCtxExtras(g: AttentionGroup, b: number, fullS: number, prefix: number): number {
    const kvB = g.mla!.kvB;
    const tokens = Math.max(1, Math.round(b * (fullS - prefix)));
    return this.gemm(kvB, gemmTableDtype(kvB.dtype) && this.db.gemm?.has(gemmTableDtype(kvB.dtype)!) ? gemmTableDtype(kvB.dtype) : undefined, tokens);
  }

  /** MLA decode extras from tables when granular: the absorbed BMMs (mla_bmm), else their roofline. */
  private mlaGenExtras(g: AttentionGroup, rows: number): number {
    const a = g.mla!;
    const bmm = this.db.mlaBmm;
    const dtype = a.bmmDtype === "fp8" ? "fp8" : "bfloat16";
    const rate = flopRate(this.plan.gpu, a.bmmDtype === "fp8" ? "fp8" : "bf16");
    const sol = (inDim: number, outDim: number) => (tokens: number, heads: number) =>
      1000 * Math.max(mlaBmmFlops(tokens, heads, inDim, outDim) / rate, mlaBmmBytes(tokens, heads, inDim, outDim, a.bmmDtype) / this.plan.gpu.memBw);
    const pre = bmm?.query("mla_gen_pre", dtype, rows, g.heads, sol(a.qkNopeHeadDim, a.kvLoraRank), this.t);
    const post = bmm?.query("mla_gen_post", dtype, rows, g.heads, sol(a.kvLoraRank, a.vHeadDim), this.t);
    if (pre !== undefined && post !== undefined) return pre + post;
    this.t.mark("roofline-fallback");
    const both = sol(a.qkNopeHeadDim, a.kvLoraRank)(rows, g.heads) + sol(a.kvLoraRank, a.vHeadDim)(rows, g.heads);
    return both / this.fallback.eff.gemm.compute;
  }

  /**
   * One layer of group gi's context attention. MLA module tables price the whole block at the chunk (plus
   * the kernel's extra work over a cached prefix); granular MLA adds the kv_b GEMM to the kernel table.
   */
  private ctxGroup(gi: number, b: number, fullS: number, prefix: number, cached: boolean): number {
    const g = this.groups[gi]!;
    const v = this.views[gi]!;
    if (!v.ctx) {
      this.t.mark("roofline-fallback");
      return this.fallback.ctxGroupMs(gi, b, fullS, prefix);
    }
    if (g.mla && v.module) {
      if (prefix <= 0) return this.ctxTable(gi, b, fullS, cached);
      const chunk = Math.max(1, Math.round(fullS - prefix));
      // The block over the chunk, plus the attention kernel's extra keys (the cached prefix), from the kernel table when present.
      const kernel = g.mla.dsa
        ? undefined
        : this.db.mlaContext?.view(
            "bfloat16",
            tableDtype(this.plan.kvDtype),
            0,
            576,
            g.heads,
            g.heads,
            (bb, s, h) => this.fallback.ctxGroupMs(gi, bb, s, 0) * (h / g.heads),
          );
      const extra = kernel
        ? Math.max(0, kernel.query(b, fullS, g.heads, this.t) * ((fullS * fullS - prefix * prefix) / (fullS * fullS)) - kernel.query(b, chunk, g.heads, this.t))
        : Math.max(0, this.fallback.ctxGroupMs(gi, b, fullS, prefix) - this.fallback.ctxGroupMs(gi, b, chunk, 0));
      return this.ctxTable(gi, b, chunk, cached) + extra;
    }
    const attn = this.ctxFromTable(gi, b, fullS, prefix, cached);
    return g.mla ? attn + this.mlaCtxExtras(g, b, fullS, prefix) : attn;
  }

  ctxGroupMs(gi: number, b: number, fullS: number, prefix: number): number {
    return this.ctxGroup(gi, b, fullS, prefix, true);
  }

  ctxGroupCost(gi: number, b: number, fullS: number, prefix: number): OpCost {
    const roof = this.fallback.ctxGroupCost(gi, b, fullS, prefix);
    this.t.reset();
    const ms = this.ctxGroup(gi, b, fullS, prefix, false);
    return { ms, source: this.t.source, flops: roof.flops, bytes: roof.bytes };
  }

  private genGroup(gi: number, b: number, s: number): number {
    const g = this.groups[gi]!;
    const v = this.views[gi]!;
    if (!v.gen) {
      this.t.mark("roofline-fallback");
      return this.fallback.genGroupMs(gi, b, s);
    }
    const attn = v.gen.query(b, s, g.heads, this.t);
    return g.mla && !v.module ? attn + this.mlaGenExtras(g, b) : attn;
  }

  genGroupMs(gi: number, b: number, s: number): number {
    return this.genGroup(gi, b, s);
  }

  genGroupCost(gi: number, b: number, s: number): OpCost {
    const roof = this.fallback.genGroupCost(gi, b, s);
    this.t.reset();
    const ms = this.genGroup(gi, b, s);
    return { ms, source: this.t.source, flops: roof.flops, bytes: roof.bytes };
  }

  /** Group 0's context attention of one layer (the dense models' only group). */
  ctxAttnMs(b: number, fullS: number, prefix: number): number {
    return this.ctxGroup(0, b, fullS, prefix, true);
  }

  genAttnMs(b: number, s: number): number {
    return this.genGroup(0, b, s);
  }

  /** Ops the tables did not cover for this configuration (DescribePredictor notes). */
  coverageNotes(): string[] {
    const notes: string[] = [];
    const p = this.plan;
    const fellBack = p.gemms.filter((_g, i) => this.gemmPriced[i] && this.gemmDtypes[i] === undefined).map((g) => `${g.op} (${g.dtype})`);
    if (fellBack.length > 0) notes.push(`no GEMM table for ${[...new Set(fellBack)].join(", ")}: roofline`);
    this.groups.forEach((g, i) => {
      const v = this.views[i]!;
      const what = g.mla ? "MLA" : g.window > 0 ? `sliding-window (${g.window}) attention` : "attention";
      if (g.mla?.dsa)
        notes.push(
          v.module
            ? "DSA: sparse-attention module tables (projections and indexer included)"
            : "DSA attention: roofline (no module table for this architecture, precision or geometry)",
        );
      else if (g.mla)
        notes.push(
          v.module
            ? "MLA: module tables (projections included)"
            : `MLA: ${v.ctx && v.gen ? "kernel tables + GEMM/BMM tables" : "roofline (no MLA tables for this shape)"}`,
        );
      else if (!v.ctx || !v.gen) notes.push(`${what} (head_dim ${g.headDim}, ${g.heads}/${g.kvHeads} heads): roofline (no table family)`);
    });
    if (p.moe && !this.moeQuery)
      notes.push(
        `MoE ${p.moe.dtype} ${p.moe.hidden}/${p.moe.inter}/top${p.moe.topK}/${p.moe.experts} at MoE TP${p.moe.moeTp} EP${p.moe.moeEp}: roofline (no table curve)`,
      );
    if (p.moeComm && (p.moeComm.kind !== "allgather" || !this.db.nccl)) notes.push(`MoE ${p.moeComm.kind}: speed of light (no table)`);
    return notes;
  }
}
