/** Logical rows of AIConfigurator's per-op tables (the CSVs aiconfigurator/sdk/perf_database.py loads); latency in ms per call per layer. */

export interface GemmRow {
  /** bfloat16 | fp8 | fp8_block | ... */
  dtype: string;
  m: number;
  n: number;
  k: number;
  latency: number;
}

/** A context or generation attention row. Generation rows have isl = 1 and KV length = 1 + step. */
export interface AttentionRow {
  batch: number;
  isl: number;
  step: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  window: number;
  attnDtype: string;
  kvDtype: string;
  latency: number;
}

/** What identifies one MoE table curve (every key column except num_tokens). */
export interface MoeKey {
  dtype: string;
  hidden: number;
  inter: number;
  topK: number;
  experts: number;
  moeTp: number;
  moeEp: number;
  distribution: string;
}

export interface MoeRow extends MoeKey {
  numTokens: number;
  latency: number;
  /**
   * The kernel that was timed: TensorRT-LLM's `moe_torch_flow_min_latency` rows form a grid of their own
   * (the low-latency NVFP4 kernel); every other source shares the default grid. Empty = default.
   */
  kernelSource?: string;
}

/** An absorbed-MLA decode BMM (mla_gen_pre: q_nope × W_UK; mla_gen_post: latent × W_UV). */
export interface MlaBmmRow {
  op: "mla_gen_pre" | "mla_gen_post";
  /** bfloat16 | fp8 */
  dtype: string;
  numTokens: number;
  heads: number;
  latency: number;
}

/** An NCCL collective: message size in elements of nccl_dtype (half: 2 bytes). */
export interface NcclRow {
  /** all_gather | reduce_scatter | alltoall | all_reduce */
  op: string;
  /** half | int8 */
  dtype: string;
  numGpus: number;
  messageSize: number;
  latency: number;
}

/** Custom all-reduce: message size in elements (bf16). */
export interface AllReduceRow {
  numGpus: number;
  messageSize: number;
  latency: number;
}

/**
 * Rows of every table; a missing table is priced by the roofline fallback. MLA kernel and module tables
 * use the attention row shape: the kernel tables with head_dim 576 (the latent) and kv heads = heads, the
 * module tables with attnDtype = their gemm_type.
 */
export interface AicTableRows {
  gemm?: GemmRow[];
  contextAttention?: AttentionRow[];
  generationAttention?: AttentionRow[];
  moe?: MoeRow[];
  allReduce?: AllReduceRow[];
  mlaContext?: AttentionRow[];
  mlaGeneration?: AttentionRow[];
  mlaContextModule?: AttentionRow[];
  mlaGenerationModule?: AttentionRow[];
  mlaBmm?: MlaBmmRow[];
  nccl?: NcclRow[];
}
