import type { GpuSpec } from "./catalog/gpus.js";
import type { ModelSpec } from "./catalog/models.js";
import type { Precision } from "./dtypes.js";
import type { ResolvedRun } from "./resolve.js";

/** A GEMM whose m is the op's token count (or the sequence count for the LM head). */
export interface GemmOp {
  op: string;
  n: number;
  k: number;
  dtype: Precision;
  /** Calls per forward (L for per-layer ops, 1 for the LM head). */
  scale: number;
}

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
}

/**
 * The per-forward operator list of one configuration (performance-model.md §2), with TP-sharded shapes.
 * Token-count ops are priced at x = T_tok; the LM head at m = n_seq.
 */
export interface OpPlan {
  model: ModelSpec;
  gpu: GpuSpec;
  layers: number;
  hidden: number;
  tp: number;
  pp: number;
  /** Per-GPU attention heads and KV heads. */
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
  /** All-reduce message elements per token (h), calls per forward (2L) — 0 calls when TP = 1. */
  allReduceElementsPerToken: number;
  allReduceCalls: number;
  /** Pipeline hand-offs: bytes per token and count (pp − 1). */
  p2pBytesPerToken: number;
  p2pCalls: number;
  logits: GemmOp;
}

export function buildPlan(run: ResolvedRun): OpPlan {
  const { model: m, gpu, tp, pp, ep, weightDtype, kvDtype } = run;
  const L = m.numLayers;
  const h = m.hidden;
  const d = m.headDim;
  const heads = m.numHeads / tp;
  const kvHeads = Math.max(1, Math.ceil(m.numKvHeads / tp));
  const gemms: GemmOp[] = [
    { op: "qkv_gemm", n: heads * d + 2 * kvHeads * d, k: h, dtype: weightDtype, scale: L },
    { op: "proj_gemm", n: h, k: heads * d, dtype: weightDtype, scale: L },
  ];
  const memoryOps: MemoryOp[] = [
    { op: "embedding", bytesPerToken: h * 2, scale: 1 },
    { op: "add_norm_1", bytesPerToken: (2 * h + 2 * h) * 2, scale: L },
    { op: "add_norm_2", bytesPerToken: (2 * h + 2 * h) * 2, scale: L },
  ];
  let moe: MoeOp | null = null;
  if (m.family === "moe") {
    moe = { op: "moe", hidden: h, inter: m.intermediate, topK: m.topK, experts: m.numExperts, moeTp: tp / ep, moeEp: ep, dtype: weightDtype, scale: L };
    if (m.numExperts >= 128) gemms.push({ op: "router_gemm", n: m.numExperts, k: h, dtype: "bf16", scale: L });
  } else {
    const iPer = m.intermediate / tp;
    gemms.push({ op: "gate_ffn1_gemm", n: 2 * iPer, k: h, dtype: weightDtype, scale: L });
    gemms.push({ op: "ffn2_gemm", n: h, k: iPer, dtype: weightDtype, scale: L });
    memoryOps.push({ op: "act_gate", bytesPerToken: (2 * iPer + iPer) * 2, scale: L });
  }
  return {
    model: m,
    gpu,
    layers: L,
    hidden: h,
    tp,
    pp,
    heads,
    kvHeads,
    headDim: d,
    weightDtype,
    kvDtype,
    fmhaDtype: kvDtype === "fp8" ? "fp8" : "bf16",
    gemms,
    memoryOps,
    moe,
    allReduceElementsPerToken: h,
    allReduceCalls: tp > 1 ? 2 * L : 0,
    p2pBytesPerToken: h * 2,
    p2pCalls: pp - 1,
    logits: { op: "logits_gemm", n: Math.ceil(m.vocab / tp), k: h, dtype: "bf16", scale: 1 },
  };
}
