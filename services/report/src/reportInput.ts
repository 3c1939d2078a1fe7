import type { IterationStats, Slo } from "@servesim/core";
import type { DatasetMetadata } from "@servesim/workload";

export const DEFAULT_EMULATED_VERSION = "1.2.0rc5 (sim)";

/** Everything the reports need besides the request records. */
export interface ReportInput {
  engine: {
    model: string;
    /** null prints as `None`. */
    modelPath: string | null;
    /** Emulated TensorRT-LLM version; default "1.2.0rc5 (sim)". */
    version?: string;
    /** bfloat16 | float16 */
    dtype: string;
    /** null (prints `None`) or e.g. "FP8". */
    kvCacheDtype: string | null;
    /** null (prints `None`) or e.g. "FP8", "NVFP4". */
    quantization: string | null;
  };
  world: {
    tp: number;
    pp: number;
    /** null prints as `None`. */
    ep: number | null;
    maxBatchSize: number;
    maxNumTokens: number;
    /** e.g. "guaranteed_no_evict"; printed upper-case. */
    schedulingPolicy: string;
    /** KV-cache free GPU memory fraction (0.9); null prints as `None`. */
    kvCacheFraction: number | null;
  };
  dataset: DatasetMetadata;
  /**
   * The report options the job asked for (the runner always sets them): the text report then shows the
   * LATENCY PERCENTILES section (and goodput). The metrics must have been computed with the same values.
   */
  report?: { percentiles: number[]; slos: Slo[] };
  sim: {
    predictorDescription: string;
    system: string;
    backend: string;
    backendVersion: string;
    databasePath: string | null;
    numBlocks: number;
    tokensPerBlock: number;
    numIterations: number;
    numPrefillIterations: number;
    numDecodeIterations: number;
    numMixedIterations: number;
    numPaused: number;
    simulatedMs: number;
    wallMs: number;
    /** Prompt lengths were approximated from text (`--approx-prompt-tokens`). */
    approxPromptTokens?: boolean;
    /** The overlap scheduler was simulated (`PyExecutor._executor_loop_overlap`, tensorrt_llm/_torch/pyexecutor/py_executor.py); unset: not shown in the text report. */
    overlapScheduler?: boolean;
    /** How device times became wall times (docs/timing.md), e.g. "overlap (host ...; CUDA graphs ...)"; unset: not shown. */
    timingModel?: string;
    /** trtllm-bench's benchmark the run reproduces (default throughput; latency is named in the text report). */
    benchmark?: "throughput" | "latency";
    /** Attention-DP ranks (each with its own batch and KV pool); unset or 1: none. */
    attentionDpRanks?: number;
    /** Context batch waiting in effect (batch_wait_timeout_iters, batch_wait_max_tokens_ratio); unset: none. */
    batchWait?: { timeoutIters: number; maxTokensRatio: number; maxNumTokens: number };
    /** Attention-DP context balancing in effect (attention_dp_config.enable_balance); unset: none. */
    attentionDpBalance?: { timeoutIters: number; batchingWaitIters: number };
    /** Speculative decoding; unset: none. */
    speculative?: { kind: string; maxDraftLen: number; meanAccepted: number };
    /** How requests were submitted ("Poisson arrivals at 10 req/s, at most 64 requests in flight"); report.json only. */
    arrivals?: string;
  };
}

/** Prefill (context only), decode (generation only) and mixed iteration counts. */
export function countIterationKinds(stats: Iterable<IterationStats>): { prefill: number; decode: number; mixed: number } {
  let prefill = 0;
  let decode = 0;
  let mixed = 0;
  for (const s of stats) {
    const ctx = s.inflightBatchingStats.numContextRequests > 0;
    const gen = s.inflightBatchingStats.numGenRequests > 0;
    if (ctx && gen) mixed++;
    else if (ctx) prefill++;
    else decode++;
  }
  return { prefill, decode, mixed };
}

export const worldSize = (input: ReportInput): number => input.world.tp * input.world.pp;
