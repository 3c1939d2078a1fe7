import type { GemmOp } from "./plan.js";

/**
 * The kind of kernel TensorRT-LLM runs for a GEMM, which sets its fixed per-call cost:
 * - `minLatency`: DeepSeek-V3's hand-written small-batch kernels. The MLA module's fused q_a/kv_a projection
 *   is a `DeepseekV3Linear` whose `apply_linear` sends unquantized inputs of 1–16 tokens to
 *   `dsv3_fused_a_gemm_op`, and `DeepseekV3Gate.forward` always calls `dsv3_router_gemm_op` (both in
 *   tensorrt_llm/_torch/models/modeling_deepseekv3.py); the two are
 *   templates over at most 16 tokens (cpp/tensorrt_llm/kernels/dsv3MinLatencyKernels/) that stream the
 *   weight with one small launch, no cuBLAS heuristics.
 * - `lowPrecision`: NVFP4 and FP8 block-scaled GEMMs. `NVFP4LinearMethod` (tensorrt_llm/_torch/modules/linear.py)
 *   calls `nvfp4_gemm`, autotuned per token bucket over CUTLASS, cuBLASLt and, up to 8 tokens, a CUDA-core
 *   kernel (`CudaCoreNVFP4Runner` in tensorrt_llm/_torch/custom_ops/torch_custom_ops.py; `nvfp4_gemm_allowed_backends`
 *   defaults to cutlass, cublaslt, cuda_core); FP8 block scales run DeepGEMM / TRT-LLM-gen kernels on SM100.
 *   Their weights are a quarter or half of bf16's, so the fixed cost is a larger share of a decode step.
 * - `plain`: every other GEMM (bf16 and per-tensor FP8 through cuBLASLt / CUTLASS).
 */
export type GemmKernelClass = "plain" | "lowPrecision" | "minLatency";

/** Largest token count of TensorRT-LLM's DeepSeek-V3 min-latency GEMM templates. */
export const MIN_LATENCY_MAX_TOKENS = 16;

/** The kernel class of one GEMM call at m rows. */
export function gemmKernelClass(g: Pick<GemmOp, "dtype" | "minLatency">, m: number): GemmKernelClass {
  if (g.minLatency && g.dtype === "bf16" && m <= MIN_LATENCY_MAX_TOKENS) return "minLatency";
  if (g.dtype === "nvfp4" || g.dtype === "fp8_block") return "lowPrecision";
  return "plain";
}
