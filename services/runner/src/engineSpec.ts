import { InvalidArgumentError } from "@servesim/core";
import type { AdpBalanceSettings, CapacityPolicy, ChunkingPolicy, EngineOptions, TimingSettings } from "@servesim/engine";
import {
  ADP_BALANCE_DEFAULTS,
  CAPACITY_POLICIES,
  CHUNKING_POLICIES,
  CHUNKING_POLICY_NAMES,
  capacityPolicyByTrtllmName,
  choiceList,
  chunkingPolicyByTrtllmName,
  DEFAULT_CAPACITY_POLICY,
  DEFAULT_CUDA_GRAPH_MAX_BATCH_SIZE,
  defaultCudaGraphBatchSizes,
} from "@servesim/engine";
import { type BenchHeuristic, benchHeuristic, type KvCapacity, kvCapacity, weightLayout } from "@servesim/perf";
import { type AttentionDpConfig, BenchmarkMode, ChunkingPolicy as ChunkingPolicyProto, type EngineConfig, SchedulerPolicy } from "@servesim/wire/scheduler";
import type { DatasetMetadata } from "@servesim/workload";
import { underPredictor, withFieldPath } from "./fields.js";
import { resolveFrontEnd } from "./frontEndSpec.js";
import type { ResolvedPredictor } from "./predictorSpec.js";
import { type ResolvedSpeculative, resolveSpeculative } from "./speculativeSpec.js";
import { resolveTiming } from "./timingSpec.js";

/** TensorRT-LLM LLM API defaults, used when the heuristic cannot run (no model or GPU). */
export const LLM_API_MAX_BATCH_SIZE = 2048;
export const LLM_API_MAX_NUM_TOKENS = 8192;
export const DEFAULT_TOKENS_PER_BLOCK = 32;
export const DEFAULT_FREE_GPU_MEM_FRACTION = 0.9;

const MAX_INT32 = 2147483647;
/** The engine allocates per-slot arrays of max_batch_size entries. */
const MAX_BATCH_SIZE = 1 << 20;

/** Where a setting's value came from (shown in the simulation details and report.json). */
export type Source = "spec" | "heuristic" | "llm_api_default" | "dataset" | "latency";
/** trtllm-bench's benchmark a job reproduces. */
export type Benchmark = "throughput" | "latency";
export type KvSource = "kv_num_blocks" | "kv_cache_max_tokens" | "gpu_memory" | "unbounded";

export interface EngineResolution {
  options: EngineOptions;
  benchmark: Benchmark;
  maxBatchSizeSource: Source;
  maxNumTokensSource: Source;
  maxSeqLenSource: Source;
  /** Set when trtllm-bench's heuristic ran. */
  heuristic?: BenchHeuristic;
  kvSource: KvSource;
  /** Set when the pool was sized from GPU memory. */
  kvCapacity?: KvCapacity;
  kvCacheFreeGpuMemFraction: number;
  /** How device times become wall times (timingSpec.ts). */
  timing: TimingSettings;
  /** Non-fatal remarks (settings that have no effect, an unbounded pool). */
  warnings: string[];
  /** speculative_config (MTP, Eagle3) with its acceptance model; null without. */
  speculative: ResolvedSpeculative | null;
  /** Attention-DP ranks (1 without attention DP). */
  attentionDpRanks: number;
  /** cuda_graph_config as given (validated), for the engine's timing model; null when unset. */
  cudaGraph: { batchSizes: number[]; maxBatchSize: number | null; enablePadding: boolean } | null;
}

export interface EngineInputs {
  engine: EngineConfig | undefined;
  predictor: ResolvedPredictor;
  dataset: DatasetMetadata;
  /** Longest prompt and longest ISL+OSL of the workload (warm-up requests are drawn from it). */
  maxIsl: number;
  maxSeqLen: number;
  /**
   * A disaggregated decode pool: prompts arrive with their KV cache filled (prefilled elsewhere), so
   * max_num_tokens need not hold a prompt.
   */
  decodeOnly?: boolean;
  /** Every request the engine will see (measured and warm-up): sizes the unbounded pool. */
  lengths: ReadonlyArray<{ inputLength: number; outputTokens: number }>;
}

const F = "spec.engine";
const POLICY_PREFIX = "SCHEDULER_POLICY_";
const CHUNKING_PREFIX = "CHUNKING_POLICY_";

function optionalInt(v: number | undefined, field: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min || v > max) throw new InvalidArgumentError(field, `must be an integer in [${min}, ${max}] (got ${v})`);
  return v;
}

/** The engine's capacity policy for the proto enum value: SCHEDULER_POLICY_<trtllmName> of the engine's registry. */
function capacityPolicy(p: SchedulerPolicy): CapacityPolicy {
  if (p === SchedulerPolicy.SCHEDULER_POLICY_UNSPECIFIED) return DEFAULT_CAPACITY_POLICY;
  const enumName: unknown = SchedulerPolicy[p];
  const def = typeof enumName === "string" && enumName.startsWith(POLICY_PREFIX) ? capacityPolicyByTrtllmName(enumName.slice(POLICY_PREFIX.length)) : undefined;
  if (def === undefined) {
    throw new InvalidArgumentError(`${F}.scheduler_policy`, `unknown policy ${String(p)} (${choiceList(CAPACITY_POLICIES.map((c) => c.trtllmName))})`);
  }
  return def.name as CapacityPolicy;
}

/** The engine's chunking policy for the proto enum value: CHUNKING_POLICY_<trtllmName> of the engine's registry. */
function chunkingPolicy(p: ChunkingPolicyProto): ChunkingPolicy {
  if (p === ChunkingPolicyProto.CHUNKING_POLICY_UNSPECIFIED) return CHUNKING_POLICY_NAMES[0]!;
  const enumName: unknown = ChunkingPolicyProto[p];
  const def =
    typeof enumName === "string" && enumName.startsWith(CHUNKING_PREFIX) ? chunkingPolicyByTrtllmName(enumName.slice(CHUNKING_PREFIX.length)) : undefined;
  if (def === undefined) {
    throw new InvalidArgumentError(`${F}.chunking_policy`, `unknown policy ${String(p)} (${choiceList(CHUNKING_POLICIES.map((c) => c.trtllmName))})`);
  }
  return def.name as ChunkingPolicy;
}

function benchmarkOf(e: EngineConfig | undefined): Benchmark {
  switch (e?.benchmark ?? BenchmarkMode.BENCHMARK_MODE_UNSPECIFIED) {
    case BenchmarkMode.BENCHMARK_MODE_UNSPECIFIED:
    case BenchmarkMode.BENCHMARK_MODE_THROUGHPUT:
      return "throughput";
    case BenchmarkMode.BENCHMARK_MODE_LATENCY:
      return "latency";
    default:
      throw new InvalidArgumentError(`${F}.benchmark`, `unknown benchmark ${String(e?.benchmark)} (THROUGHPUT or LATENCY)`);
  }
}

/** trtllm-bench latency fixes the batch and the policy: settings that say otherwise are mistakes. */
function checkLatency(e: EngineConfig | undefined): void {
  if (e?.maxBatchSize !== undefined && e.maxBatchSize !== 1) {
    throw new InvalidArgumentError(`${F}.max_batch_size`, `the latency benchmark runs one request at a time (max_batch_size 1; got ${e.maxBatchSize})`);
  }
  if (e?.enableChunkedContext === true) throw new InvalidArgumentError(`${F}.enable_chunked_context`, "the latency benchmark runs without chunked context");
  const p = e?.schedulerPolicy ?? SchedulerPolicy.SCHEDULER_POLICY_UNSPECIFIED;
  if (p !== SchedulerPolicy.SCHEDULER_POLICY_UNSPECIFIED && p !== SchedulerPolicy.SCHEDULER_POLICY_GUARANTEED_NO_EVICT) {
    throw new InvalidArgumentError(`${F}.scheduler_policy`, "the latency benchmark uses GUARANTEED_NO_EVICT");
  }
}

/**
 * The prefix-cache settings a workload is read with: the block size its keys are hashed for, 0 when block
 * reuse is off (then no keys or ids are kept at all: nothing could use them).
 */
export function reuseBlockSize(e: EngineConfig | undefined): number {
  const tokensPerBlock = optionalInt(e?.tokensPerBlock, `${F}.tokens_per_block`, 1, 1 << 16) ?? DEFAULT_TOKENS_PER_BLOCK;
  return (e?.enableBlockReuse ?? true) ? tokensPerBlock : 0;
}

/**
 * Engine settings of a job (as trtllm-bench sets up the LLM API, tensorrt_llm/bench/benchmark/utils/general.py):
 * explicit values win; max_batch_size / max_num_tokens come from trtllm-bench's heuristic when not both are
 * given and the model and GPU are known (LLM API defaults 2048 / 8192 otherwise); the KV pool is kv_num_blocks, else GPU memory (capped by
 * kv_cache_max_tokens), else kv_cache_max_tokens alone, else unbounded (no model or GPU known: every
 * request fits at once). Prompts that can never be scheduled are rejected here.
 */
export function resolveEngineSpec(inp: EngineInputs): EngineResolution {
  const e = inp.engine;
  const p = inp.predictor;
  const warnings: string[] = [];

  const benchmark = benchmarkOf(e);
  const latency = benchmark === "latency";
  if (latency) checkLatency(e);
  // trtllm-bench latency tunes max_num_tokens for the heuristic's batch size, then runs one request at a time.
  const givenBs = latency ? undefined : optionalInt(e?.maxBatchSize, `${F}.max_batch_size`, 1, MAX_BATCH_SIZE);
  const givenTok = optionalInt(e?.maxNumTokens, `${F}.max_num_tokens`, 1, MAX_INT32);
  const givenSeq = optionalInt(e?.maxSeqLen, `${F}.max_seq_len`, 1, MAX_INT32);
  const tokensPerBlock = optionalInt(e?.tokensPerBlock, `${F}.tokens_per_block`, 1, 1 << 16) ?? DEFAULT_TOKENS_PER_BLOCK;
  const kvNumBlocks = optionalInt(e?.kvNumBlocks, `${F}.kv_num_blocks`, 1, MAX_INT32);
  const kvMaxTokens = optionalInt(e?.kvCacheMaxTokens, `${F}.kv_cache_max_tokens`, 1, Number.MAX_SAFE_INTEGER);
  const fraction = e?.kvCacheFreeGpuMemFraction ?? DEFAULT_FREE_GPU_MEM_FRACTION;
  if (!(typeof fraction === "number" && fraction > 0 && fraction <= 1)) {
    throw new InvalidArgumentError(`${F}.kv_cache_free_gpu_mem_fraction`, `must be in (0, 1] (got ${fraction})`);
  }
  const chunked = latency ? false : (e?.enableChunkedContext ?? false);
  const chunking = chunkingPolicy(e?.chunkingPolicy ?? ChunkingPolicyProto.CHUNKING_POLICY_UNSPECIFIED);
  if (!chunked && e !== undefined && e.chunkingPolicy !== ChunkingPolicyProto.CHUNKING_POLICY_UNSPECIFIED) {
    warnings.push("chunking_policy has no effect: chunked context is disabled (enable_chunked_context)");
  }
  const policy = capacityPolicy(e?.schedulerPolicy ?? SchedulerPolicy.SCHEDULER_POLICY_UNSPECIFIED);
  const timing = resolveTiming(e, p);
  const speculative = resolveSpeculative(e?.speculative, p.model, e?.seed ?? 0);
  if (speculative && policy === "max_utilization") {
    throw new InvalidArgumentError(
      `${F}.scheduler_policy`,
      "speculative decoding is simulated with GUARANTEED_NO_EVICT or STATIC_BATCH (MAX_UTILIZATION's pauses would drop accepted drafts)",
    );
  }
  const cudaGraph = resolveCudaGraph(e);
  // cuda_graph_config's sizes and padding replace TensorRT-LLM's defaults in the timing model (graphs on).
  if (cudaGraph && timing.timing.cudaGraphs !== null) {
    const sizes =
      cudaGraph.batchSizes.length > 0
        ? [...new Set(cudaGraph.batchSizes)].sort((a, b) => a - b)
        : defaultCudaGraphBatchSizes(cudaGraph.maxBatchSize || DEFAULT_CUDA_GRAPH_MAX_BATCH_SIZE, cudaGraph.enablePadding);
    timing.timing = { ...timing.timing, cudaGraphs: { batchSizes: sizes, enablePadding: cudaGraph.enablePadding } };
  }
  const reuse = e?.enableBlockReuse ?? true;

  // max_batch_size / max_num_tokens.
  let maxBatchSize: number;
  let maxNumTokens: number;
  let maxBatchSizeSource: Source = "spec";
  let maxNumTokensSource: Source = "spec";
  let heuristic: BenchHeuristic | undefined;
  const knowsMemory = p.model !== undefined && p.gpu !== undefined && p.weightDtype !== undefined && p.kvDtype !== undefined;
  if (givenBs !== undefined && givenTok !== undefined) {
    maxBatchSize = givenBs;
    maxNumTokens = givenTok;
  } else if (knowsMemory) {
    heuristic = withFieldPath(underPredictor("spec.predictor"), () =>
      benchHeuristic({
        model: p.model!,
        tp: p.tp,
        pp: p.pp,
        weightDtype: p.weightDtype!,
        kvDtype: p.kvDtype!,
        deviceMemBytes: p.gpu!.memCapacity,
        avgIsl: optionalInt(e?.targetInputLen, `${F}.target_input_len`, 1, MAX_INT32) ?? inp.dataset.avgIsl,
        avgOsl: optionalInt(e?.targetOutputLen, `${F}.target_output_len`, 1, MAX_INT32) ?? inp.dataset.avgOsl,
        maxIsl: inp.dataset.maxIsl,
        chunkedPrefill: chunked,
        kvFraction: fraction,
        ...(givenBs !== undefined ? { maxBatchSize: givenBs } : {}),
        ...(givenTok !== undefined ? { maxNumTokens: givenTok } : {}),
        ...(p.run && !p.run.uniformWeights ? { precisions: p.run.precisions } : {}),
      }),
    );
    maxBatchSize = heuristic.maxBatchSize;
    maxNumTokens = heuristic.maxNumTokens;
    if (givenBs === undefined) maxBatchSizeSource = "heuristic";
    if (givenTok === undefined) maxNumTokensSource = "heuristic";
  } else {
    maxBatchSize = givenBs ?? LLM_API_MAX_BATCH_SIZE;
    maxNumTokens = givenTok ?? LLM_API_MAX_NUM_TOKENS;
    if (givenBs === undefined) maxBatchSizeSource = "llm_api_default";
    if (givenTok === undefined) maxNumTokensSource = "llm_api_default";
  }
  if (latency) {
    maxBatchSize = 1;
    maxBatchSizeSource = "latency";
  } else if (!heuristic && (e?.targetInputLen !== undefined || e?.targetOutputLen !== undefined)) {
    warnings.push(
      "target_input_len / target_output_len have no effect: the max_batch_size / max_num_tokens heuristic did not run (both given, or no model and GPU)",
    );
  }
  if (!chunked && maxNumTokens < inp.maxIsl && inp.decodeOnly !== true) {
    throw new InvalidArgumentError(
      `${F}.max_num_tokens`,
      `${maxNumTokens}${maxNumTokensSource === "spec" ? "" : ` (${maxNumTokensSource.replace(/_/g, " ")})`} is smaller than the longest prompt (${inp.maxIsl} tokens) and chunked context is disabled; raise max_num_tokens or enable chunked context`,
    );
  }
  if (chunked && maxNumTokens < tokensPerBlock && maxNumTokens < inp.maxIsl && inp.decodeOnly !== true) {
    throw new InvalidArgumentError(
      `${F}.max_num_tokens`,
      `${maxNumTokens} is smaller than the chunk unit (tokens_per_block ${tokensPerBlock}) and the longest prompt (${inp.maxIsl}): prompts can never be chunked`,
    );
  }

  // max_seq_len.
  const maxSeqLen = givenSeq ?? inp.maxSeqLen;
  if (maxSeqLen < inp.maxSeqLen) {
    throw new InvalidArgumentError(`${F}.max_seq_len`, `${maxSeqLen} is smaller than the longest request (input + output = ${inp.maxSeqLen} tokens)`);
  }

  // KV pool.
  let numBlocks: number;
  let kvSource: KvSource;
  let capacity: KvCapacity | undefined;
  let kvField = `${F}.kv_num_blocks`;
  if (kvNumBlocks !== undefined) {
    numBlocks = kvNumBlocks;
    kvSource = "kv_num_blocks";
    if (kvMaxTokens !== undefined) warnings.push("kv_cache_max_tokens is ignored: kv_num_blocks sets the pool size");
  } else if (knowsMemory) {
    capacity = withFieldPath(underPredictor("spec.predictor"), () =>
      kvCapacity({
        model: p.model!,
        gpu: p.gpu!,
        tp: p.tp,
        pp: p.pp,
        weightDtype: p.weightDtype!,
        kvDtype: p.kvDtype!,
        maxNumTokens,
        maxBatchSize,
        freeGpuMemoryFraction: fraction,
        tokensPerBlock,
        ...(kvMaxTokens !== undefined ? { maxTokens: kvMaxTokens } : {}),
        // Sliding-window layers keep their window per request (TensorRT-LLM sizes each layer's attention
        // window from the model's layer_types), in pools of their own.
        capSlidingWindows: true,
        // MTP keeps the draft layer's KV cache next to the model's (one layer, reused for every draft).
        ...(p.run ? { layout: { ...weightLayout(p.run), ...(speculative?.options.kind === "mtp" ? { mtpLayers: 1 } : {}) } } : {}),
      }),
    );
    numBlocks = Math.min(capacity.numBlocks, MAX_INT32);
    kvSource = kvMaxTokens !== undefined && capacity.maxTokens === kvMaxTokens ? "kv_cache_max_tokens" : "gpu_memory";
    kvField = kvSource === "kv_cache_max_tokens" ? `${F}.kv_cache_max_tokens` : "spec.predictor.parallelism.tp";
  } else if (kvMaxTokens !== undefined) {
    numBlocks = Math.min(Math.floor(kvMaxTokens / tokensPerBlock), MAX_INT32);
    kvSource = "kv_cache_max_tokens";
    kvField = `${F}.kv_cache_max_tokens`;
  } else {
    let total = 0;
    for (const q of inp.lengths) total += Math.ceil((q.inputLength + q.outputTokens) / tokensPerBlock);
    numBlocks = Math.max(1, Math.min(total, MAX_INT32));
    kvSource = "unbounded";
    warnings.push(
      `no model and GPU to size the KV cache from: the pool holds every request at once (${numBlocks} blocks); give kv_num_blocks or kv_cache_max_tokens to bound it`,
    );
  }
  if (numBlocks * tokensPerBlock < inp.maxIsl + 1) {
    const what =
      kvSource === "gpu_memory"
        ? `GPU memory leaves ${numBlocks} KV blocks (${numBlocks * tokensPerBlock} tokens)`
        : `${numBlocks} KV blocks hold ${numBlocks * tokensPerBlock} tokens`;
    throw new InvalidArgumentError(kvField, `${what}, fewer than the longest prompt + 1 (${inp.maxIsl + 1}); no request of that length could ever run`);
  }

  const attentionDp = p.config.parallelism?.attentionDp === true && p.tp > 1;
  const options: EngineOptions = {
    maxBatchSize,
    maxNumTokens,
    maxSeqLen,
    ppSize: p.pp,
    capacityPolicy: policy,
    chunking: chunked ? chunking : null,
    tokensPerBlock,
    numBlocks,
    enableBlockReuse: reuse,
    // Placed by resolveArrivals once the workload is known (resolveJob).
    arrivals: { kind: "all_at_once" },
    overlap: timing.overlapLoop,
  };
  // Every rank of the TP group schedules its own batch with its own KV pool (kvCapacity sized it per rank).
  if (attentionDp) options.attentionDpRanks = p.tp;
  if (speculative) options.speculative = speculative.options;
  const adpBalance = resolveAdpBalance(e?.attentionDp, attentionDp, warnings);
  if (adpBalance) options.attentionDpBalance = adpBalance;
  const batchWait = resolveBatchWait(e, attentionDp, maxNumTokens, warnings);
  if (batchWait) options.batchWait = batchWait;
  const frontEnd = resolveFrontEnd(e?.frontEnd, attentionDp || p.pp > 1 || speculative !== null);
  if (frontEnd) options.frontEnd = frontEnd;
  const out: EngineResolution = {
    options,
    timing: timing.timing,
    benchmark,
    maxBatchSizeSource,
    maxNumTokensSource,
    maxSeqLenSource: givenSeq === undefined ? "dataset" : "spec",
    kvSource,
    kvCacheFreeGpuMemFraction: fraction,
    warnings,
    speculative,
    attentionDpRanks: attentionDp ? p.tp : 1,
    cudaGraph,
  };
  if (heuristic) out.heuristic = heuristic;
  if (capacity) out.kvCapacity = capacity;
  return out;
}

/**
 * `attention_dp_config` (AttentionDpConfig in tensorrt_llm/llmapi/llm_args.py): with `enable_balance`
 * the attention-DP ranks hold context requests until every rank has one (attentionDp/balance.ts);
 * `timeout_iters` and `batching_wait_iters` default to TensorRT-LLM's 50 and 10. Without attention DP,
 * or without enable_balance, it does nothing (a warning says so when iteration counts are given).
 */
function resolveAdpBalance(c: AttentionDpConfig | undefined, attentionDp: boolean, warnings: string[]): AdpBalanceSettings | undefined {
  if (c === undefined) return undefined;
  const timeoutIters = optionalInt(c.timeoutIters, `${F}.attention_dp.timeout_iters`, 0, MAX_INT32) ?? ADP_BALANCE_DEFAULTS.timeoutIters;
  const batchingWaitIters = optionalInt(c.batchingWaitIters, `${F}.attention_dp.batching_wait_iters`, 0, MAX_INT32) ?? ADP_BALANCE_DEFAULTS.batchingWaitIters;
  const given = c.timeoutIters !== undefined || c.batchingWaitIters !== undefined;
  if (c.enableBalance !== true) {
    if (given) warnings.push("attention_dp_config.timeout_iters / batching_wait_iters have no effect: enable_balance is off");
    return undefined;
  }
  if (!attentionDp) {
    warnings.push("attention_dp_config.enable_balance has no effect: attention DP is off (enable_attention_dp)");
    return undefined;
  }
  return { timeoutIters, batchingWaitIters };
}

/**
 * batch_wait_timeout_iters / batch_wait_max_tokens_ratio (context batch waiting, the engine's
 * batchWaiting.ts), checked. TensorRT-LLM (`PyExecutor._schedule`, tensorrt_llm/_torch/pyexecutor/
 * py_executor.py) turns waiting on when either knob is > 0 but releases held contexts as soon as either
 * limit is reached, so with one knob at 0 nothing is ever held; under attention DP it skips waiting (the
 * ranks' context balancing takes its place). Both cases are warned about; the engine sees the settings
 * only when they are in effect.
 */
function resolveBatchWait(e: EngineConfig | undefined, attentionDp: boolean, maxNumTokens: number, warnings: string[]): EngineOptions["batchWait"] | undefined {
  const timeoutIters = optionalInt(e?.batchWaitTimeoutIters, `${F}.batch_wait_timeout_iters`, 0, MAX_INT32) ?? 0;
  const ratio = e?.batchWaitMaxTokensRatio ?? 0;
  if (!(typeof ratio === "number" && ratio >= 0 && ratio <= 1)) {
    throw new InvalidArgumentError(`${F}.batch_wait_max_tokens_ratio`, `must be a number in [0, 1] (got ${String(ratio)})`);
  }
  if (timeoutIters === 0 && ratio === 0) return undefined;
  if (attentionDp) {
    warnings.push("batch_wait_timeout_iters / batch_wait_max_tokens_ratio have no effect under attention DP (TensorRT-LLM skips batch waiting there)");
    return undefined;
  }
  if (timeoutIters === 0 || ratio === 0) {
    warnings.push(
      `batch waiting has no effect: ${timeoutIters === 0 ? "batch_wait_timeout_iters" : "batch_wait_max_tokens_ratio"} is 0, and TensorRT-LLM releases held contexts as soon as either limit is reached`,
    );
    return undefined;
  }
  if (ratio * maxNumTokens < 1) {
    warnings.push(`batch_wait_max_tokens_ratio ${ratio} × max_num_tokens ${maxNumTokens} is below one token: contexts are never held`);
  }
  return { timeoutIters, maxTokensRatio: ratio };
}

/** cuda_graph_config, checked: batch sizes in [1, 2^20], at most 1024 of them. */
function resolveCudaGraph(e: EngineConfig | undefined): EngineResolution["cudaGraph"] {
  const c = e?.cudaGraph;
  if (!c) return null;
  const sizes = c.batchSizes ?? [];
  if (sizes.length > 1024) throw new InvalidArgumentError(`${F}.cuda_graph.batch_sizes`, `at most 1024 sizes (got ${sizes.length})`);
  for (let i = 0; i < sizes.length; i++) optionalInt(sizes[i], `${F}.cuda_graph.batch_sizes[${i}]`, 1, MAX_BATCH_SIZE);
  const max = optionalInt(c.maxBatchSize, `${F}.cuda_graph.max_batch_size`, 0, MAX_BATCH_SIZE);
  return { batchSizes: [...sizes], maxBatchSize: max ?? null, enablePadding: c.enablePadding ?? false };
}
