import type { GpuSpec } from "./catalog/gpus.js";
import type { DsaDims, MlaDims, ModelSpec } from "./catalog/modelSpec.js";
import type { Precision } from "./dtypes.js";
import { attentionTp, type MoeCommunication, type MoeDistribution, type ResolvedRun } from "./resolve.js";

/**
 * A GEMM whose m is the op's token count (or the sequence count for the LM head). `module: "mla"` marks
 * the MLA projections an AIC attention-module table already contains.
 */
export interface GemmOp {
  op: string;
  n: number;
  k: number;
  dtype: Precision;
  /** Calls per forward (L for per-layer ops, 1 for the LM head). */
  scale: number;
  /**
   * The input is quantized by a kernel of its own (the o_proj and down-projection inputs of FP8-block
   * and NVFP4 GEMMs; TensorRT-LLM fuses the others into the preceding norm).
   */
  quantizeInput?: boolean;
  module?: "mla";
  /**
   * TensorRT-LLM's DeepSeek-V3 modeling runs this GEMM with a min-latency kernel at up to 16 unquantized
   * tokens (the fused q_a/kv_a projection and the router; gemmKernelClass.ts).
   */
  minLatency?: true;
}

/** Architectures TensorRT-LLM serves with tensorrt_llm/_torch/models/modeling_deepseekv3.py (DeepseekV3Linear, DeepseekV3Gate). */
const DEEPSEEK_V3_MODELING = new Set(["DeepseekV3ForCausalLM", "KimiK25ForConditionalGeneration"]);

/** An elementwise/memory-bound op: bytes moved per token. */
export interface MemoryOp {
  op: string;
  bytesPerToken: number;
  scale: number;
}

export interface MoeOp {
  op: string;
  hidden: number;
  inter: number;
  topK: number;
  experts: number;
  moeTp: number;
  moeEp: number;
  dtype: Precision;
  scale: number;
  distribution: MoeDistribution;
  eplb: boolean;
}

/**
 * The MoE layers' token exchange under attention DP (all-gather/reduce-scatter or all-to-all): per MoE
 * layer a dispatch of the hidden states (at the experts' activation precision) and a combine in bf16.
 */
export interface MoeCommOp {
  kind: Exclude<MoeCommunication, "allreduce">;
  /** Ranks exchanging tokens (tp). */
  gpus: number;
  /** Dispatch bytes per token (hidden × activation bytes; NVFP4 carries its scales). */
  dispatchBytesPerToken: number;
  /** Combine bytes per token (hidden × 2). */
  combineBytesPerToken: number;
  /** All-to-all: ranks a token is sent to (min(top-k, EP − 1)). */
  remoteRanks: number;
  /** Calls per forward (MoE layers). */
  scale: number;
}

/** The MLA layer shape on one rank (local heads). */
export interface MlaShape extends MlaDims {
  /** kv_b: latent → per-head no-RoPE keys and values, applied to the context chunk. */
  kvB: GemmOp;
  /** Precision of the absorbed generation BMMs (FP8 unless the KV projection is bf16). */
  bmmDtype: Precision;
  /** The AIC module tables' gemm_type when every attention projection shares one (bf16, fp8_block, nvfp4). */
  moduleGemm: Precision | null;
  dsa: DsaDims | null;
}

/** Layers that share one attention shape (GQA full, GQA sliding window, or MLA). */
export interface AttentionGroup {
  kind: "gqa" | "mla";
  /** Layers of this group per forward. */
  count: number;
  /** Heads and KV heads on one rank. */
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Sliding window (0: full attention). */
  window: number;
  mla: MlaShape | null;
}

/**
 * The per-forward operator list of one configuration (AIConfigurator's op lists, aiconfigurator/sdk/models/), with TP-sharded shapes.
 * Token-count ops are priced at x = T_tok; the LM head at m = n_seq.
 */
export interface OpPlan {
  model: ModelSpec;
  gpu: GpuSpec;
  run: ResolvedRun;
  /** Decoder layers of this plan (all of them, a pipeline stage's, or the draft layer's). */
  layers: number;
  hidden: number;
  tp: number;
  pp: number;
  /** Attention TP (1 under attention DP). */
  attnTp: number;
  /** Per-GPU attention heads and KV heads (of the first attention group). */
  heads: number;
  kvHeads: number;
  headDim: number;
  weightDtype: Precision;
  kvDtype: Precision;
  /** Context FMHA precision: fp8 when the KV cache is fp8 (TensorRT-LLM's FP8 context FMHA), else bf16. */
  fmhaDtype: Precision;
  gemms: GemmOp[];
  memoryOps: MemoryOp[];
  moe: MoeOp | null;
  /** Attention-DP dispatch/combine (null without attention DP: the TP all-reduces combine). */
  moeComm: MoeCommOp | null;
  /** All-reduce message elements per token (h), calls per forward (2L) — 0 calls when attention TP = 1. */
  allReduceElementsPerToken: number;
  allReduceCalls: number;
  /** Pipeline hand-offs: bytes per token and count (pp − 1). */
  p2pBytesPerToken: number;
  p2pCalls: number;
  /** The LM head (a pipeline stage's composer prices it on the last stage only). */
  logits: GemmOp;
  attention: AttentionGroup[];
}

/** Which part of the model a plan covers. */
export interface PlanScope {
  /** Decoder layers [from, to) (default: all). */
  from?: number;
  to?: number;
  /** The embedding lookup (default: true). */
  embedding?: boolean;
  /** Pipeline hand-offs priced (default: pp − 1). */
  p2pCalls?: number;
  /** The MTP draft layer: one decoder layer of the model's last kind plus eh_proj (DeepSeek MTP, MiniMax MTP module). */
  draft?: boolean;
}

/** Activation quantization kernels run before these precisions' GEMMs (per-tensor FP8 tables include it). */
const QUANTIZED_INPUT: ReadonlySet<Precision> = new Set(["fp8_block", "nvfp4"]);

/** Bytes per element of the MoE dispatch (the activation precision the experts consume, with NVFP4's scales). */
function dispatchBytes(p: Precision): number {
  switch (p) {
    case "nvfp4":
      return 0.5 + 1 / 16;
    case "fp8":
    case "fp8_block":
      return 1;
    default:
      return 2;
  }
}

export function buildPlan(run: ResolvedRun, scope: PlanScope = {}): OpPlan {
  const { model: m, gpu, tp, pp, ep, moeTp, kvDtype, precisions: q } = run;
  const attnTp = attentionTp(run);
  const from = scope.draft ? m.numLayers - 1 : (scope.from ?? 0);
  const to = scope.draft ? m.numLayers : (scope.to ?? m.numLayers);
  const L = to - from;
  const denseL = m.family === "moe" ? Math.max(0, Math.min(to, m.denseLayers) - from) : L;
  const moeL = L - denseL;
  const h = m.hidden;
  const heads = m.numHeads / attnTp;
  const kvHeads = Math.max(1, Math.ceil(m.numKvHeads / attnTp));
  const gemms: GemmOp[] = [];
  const memoryOps: MemoryOp[] = [];
  const attention: AttentionGroup[] = [];
  const quantize = (p: Precision): boolean => QUANTIZED_INPUT.has(p);
  const dsv3 = DEEPSEEK_V3_MODELING.has(m.architecture) ? ({ minLatency: true } as const) : {};

  if (m.mla) {
    const { qLoraRank: qr, kvLoraRank: kr, qkNopeHeadDim: nope, qkRopeHeadDim: rope, vHeadDim: v } = m.mla;
    if (qr > 0) {
      gemms.push({ op: "mla_fused_a_gemm", n: qr + kr + rope, k: h, dtype: q.qkv, scale: L, module: "mla", ...dsv3 });
      gemms.push({ op: "mla_q_b_gemm", n: heads * (nope + rope), k: qr, dtype: q.qkv, scale: L, module: "mla" });
    } else {
      gemms.push({ op: "mla_kv_a_gemm", n: kr + rope, k: h, dtype: q.qkv, scale: L, module: "mla" });
      gemms.push({ op: "mla_q_gemm", n: heads * (nope + rope), k: h, dtype: q.qkv, scale: L, module: "mla" });
    }
    gemms.push({ op: "proj_gemm", n: h, k: heads * v, dtype: q.o, scale: L, quantizeInput: quantize(q.o), module: "mla" });
    if (m.dsa) {
      const { indexHeads: ih, indexHeadDim: id } = m.dsa;
      gemms.push({ op: "indexer_q_gemm", n: ih * id, k: qr > 0 ? qr : h, dtype: q.qkv, scale: L, module: "mla" });
      gemms.push({ op: "indexer_k_gemm", n: id + ih, k: h, dtype: q.qkv, scale: L, module: "mla" });
    }
    memoryOps.push({ op: "mla_norms", bytesPerToken: (qr + kr) * 2 * 2, scale: L });
    const moduleGemm = q.qkv === q.o && (q.qkv === "bf16" || q.qkv === "fp8_block" || q.qkv === "nvfp4") ? q.qkv : null;
    attention.push({
      kind: "mla",
      count: L,
      heads,
      kvHeads: 1,
      headDim: kr + rope,
      window: 0,
      mla: {
        ...m.mla,
        kvB: { op: "mla_kv_b_gemm", n: heads * (nope + v), k: kr, dtype: q.qkv, scale: 1 },
        bmmDtype: q.qkv === "bf16" || q.qkv === "fp16" ? "bf16" : "fp8",
        moduleGemm,
        dsa: m.dsa,
      },
    });
  } else {
    const d = m.headDim;
    gemms.push({ op: "qkv_gemm", n: heads * d + 2 * kvHeads * d, k: h, dtype: q.qkv, scale: L });
    gemms.push({ op: "proj_gemm", n: h, k: heads * d, dtype: q.o, scale: L, ...(quantize(q.o) ? { quantizeInput: true } : {}) });
    const sliding = m.slidingLayers ? m.slidingLayers.slice(from, to).filter(Boolean).length : 0;
    const group = (window: number, count: number): AttentionGroup => ({ kind: "gqa", count, heads, kvHeads, headDim: d, window, mla: null });
    if (sliding > 0) attention.push(group(m.slidingWindow, sliding));
    if (L - sliding > 0 || sliding === 0) attention.push(group(0, L - sliding));
    // Qwen3-style per-head RMSNorm of q and k: TensorRT-LLM's QKNormRoPEAttention runs it with the rotary
    // embedding as one kernel per layer before attention (fused_qk_norm_rope), reading and writing q and k;
    // models without it fuse the rotary embedding into the attention kernel.
    if (m.qkNorm) memoryOps.push({ op: "qk_norm_rope", bytesPerToken: 2 * (heads + kvHeads) * d * 2, scale: L });
  }

  memoryOps.unshift(
    ...(scope.embedding === false ? [] : [{ op: "embedding", bytesPerToken: h * 2, scale: 1 }]),
    { op: "add_norm_1", bytesPerToken: (2 * h + 2 * h) * 2, scale: L },
    { op: "add_norm_2", bytesPerToken: (2 * h + 2 * h) * 2, scale: L },
  );

  if (denseL > 0) {
    const iPer = m.intermediate / attnTp;
    gemms.push({ op: "gate_ffn1_gemm", n: 2 * iPer, k: h, dtype: q.denseMlp, scale: denseL });
    gemms.push({ op: "ffn2_gemm", n: h, k: iPer, dtype: q.denseMlp, scale: denseL, ...(quantize(q.denseMlp) ? { quantizeInput: true } : {}) });
    memoryOps.push({ op: "act_gate", bytesPerToken: (2 * iPer + iPer) * 2, scale: denseL });
  }

  let moe: MoeOp | null = null;
  let moeComm: MoeCommOp | null = null;
  if (moeL > 0 && run.moe) {
    moe = {
      op: "moe",
      hidden: h,
      inter: m.moeIntermediate,
      topK: m.topK,
      experts: m.numExperts,
      moeTp,
      moeEp: ep,
      dtype: q.experts,
      scale: moeL,
      distribution: run.moe.distribution,
      eplb: run.moe.eplb,
    };
    if (m.numExperts >= 128) gemms.push({ op: "router_gemm", n: m.numExperts, k: h, dtype: "bf16", scale: moeL, ...dsv3 });
    if (m.sharedIntermediate > 0) {
      const sPer = m.sharedIntermediate / attnTp;
      const sq = q.sharedExpert;
      gemms.push({ op: "shared_gate_up_gemm", n: 2 * sPer, k: h, dtype: sq, scale: moeL });
      gemms.push({ op: "shared_down_gemm", n: h, k: sPer, dtype: sq, scale: moeL, ...(quantize(sq) ? { quantizeInput: true } : {}) });
      memoryOps.push({ op: "shared_act", bytesPerToken: (2 * sPer + sPer) * 2, scale: moeL });
    }
    const comm = run.moe.communication;
    if (comm !== "allreduce") {
      moeComm = {
        kind: comm,
        gpus: tp,
        dispatchBytesPerToken: h * dispatchBytes(q.experts),
        combineBytesPerToken: h * 2,
        remoteRanks: Math.min(m.topK, ep - 1),
        scale: moeL,
      };
    }
  }
  if (scope.draft) {
    // MTP: the next-token embedding and the hidden state are normalized, concatenated and projected.
    gemms.push({ op: "mtp_eh_proj_gemm", n: h, k: 2 * h, dtype: "bf16", scale: 1 });
    memoryOps.push({ op: "mtp_norms", bytesPerToken: 2 * h * 2 * 2, scale: 1 });
  }

  const first = attention[0]!;
  return {
    model: m,
    gpu,
    run,
    layers: L,
    hidden: h,
    tp,
    pp,
    attnTp,
    heads: first.heads,
    kvHeads: first.kvHeads,
    headDim: first.headDim,
    weightDtype: run.weightDtype,
    kvDtype,
    fmhaDtype: kvDtype === "fp8" ? "fp8" : "bf16",
    gemms,
    memoryOps,
    moe,
    moeComm,
    allReduceElementsPerToken: h,
    allReduceCalls: attnTp > 1 ? 2 * L : 0,
    p2pBytesPerToken: h * 2,
    p2pCalls: scope.draft ? 0 : (scope.p2pCalls ?? pp - 1),
    logits: { op: "logits_gemm", n: Math.ceil(m.vocab / attnTp), k: h, dtype: "bf16", scale: 1 },
    attention,
  };
}
