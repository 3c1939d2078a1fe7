/** Logical rows of AIConfigurator's per-op tables (performance-model.md §4.2); latency in ms per call per layer. */

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
}

/** Custom all-reduce: message size in elements (bf16). */
export interface AllReduceRow {
  numGpus: number;
  messageSize: number;
  latency: number;
}

/** Rows of every table; a missing table is priced by the roofline fallback. */
export interface AicTableRows {
  gemm?: GemmRow[];
  contextAttention?: AttentionRow[];
  generationAttention?: AttentionRow[];
  moe?: MoeRow[];
  allReduce?: AllReduceRow[];
}
