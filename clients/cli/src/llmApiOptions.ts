import { CAPACITY_POLICIES, CHUNKING_POLICIES } from "@servesim/engine";
import { CHUNKING_POLICY_BY_NAME, readSpeculativeConfig, SCHEDULER_POLICY_BY_NAME, SPECULATIVE_CONFIG_KEYS } from "@servesim/wire";
import type { DType } from "@servesim/wire/predictor";
import type { AttentionDpConfig, ChunkingPolicy, CudaGraphConfig, EngineConfig, SchedulerPolicy } from "@servesim/wire/scheduler";
import type { PredictorDraft } from "./predictorDraft.js";
import { dtypeByName } from "./predictorNames.js";
import { YamlFile, YamlSection } from "./yamlFile.js";

/** What an --extra_llm_api_options file sets (`--extra_llm_api_options`, tensorrt_llm/bench/benchmark/throughput.py; fields of tensorrt_llm/llmapi/llm_args.py); its values override flags. */
export interface LlmApiOptions {
  engine: Partial<EngineConfig>;
  kvCacheDtype?: DType;
  /** MoE parallelism, moe_config and enable_attention_dp (they change the predictor's pricing). */
  predictor: Pick<PredictorDraft, "ep" | "moeTp" | "eplb" | "attentionDp">;
  warnings: string[];
}

const TOP_KEYS = [
  "kv_cache_config",
  "scheduler_config",
  "enable_chunked_prefill",
  "max_batch_size",
  "max_num_tokens",
  "max_seq_len",
  "disable_overlap_scheduler",
  "moe_expert_parallel_size",
  "moe_tensor_parallel_size",
  "moe_config",
  "enable_attention_dp",
  "attention_dp_config",
  "speculative_config",
  "cuda_graph_config",
  "kv_cache_dtype",
  "batch_wait_timeout_iters",
  "batch_wait_max_tokens_ratio",
];
const ATTENTION_DP_KEYS = ["enable_balance", "timeout_iters", "batching_wait_iters"];
const CUDA_GRAPH_KEYS = ["batch_sizes", "max_batch_size", "enable_padding"];
const MOE_KEYS = ["backend", "load_balancer", "max_num_tokens"];
const KV_KEYS = ["free_gpu_memory_fraction", "max_tokens", "enable_block_reuse", "tokens_per_block", "dtype", "enable_partial_reuse"];
const SCHEDULER_KEYS = ["capacity_scheduler_policy", "context_chunking_policy"];

/** capacity_scheduler_policy values: TensorRT-LLM's enum names, from the engine's capacity-policy registry. */
export const CAPACITY: Readonly<Record<string, SchedulerPolicy>> = Object.freeze(
  Object.assign(
    Object.create(null) as Record<string, SchedulerPolicy>,
    Object.fromEntries(
      CAPACITY_POLICIES.flatMap((p) => (SCHEDULER_POLICY_BY_NAME[p.name] === undefined ? [] : [[p.trtllmName, SCHEDULER_POLICY_BY_NAME[p.name]!]])),
    ),
  ),
);
/** context_chunking_policy values: TensorRT-LLM's enum names, from the engine's chunking-policy registry. */
export const CHUNKING: Readonly<Record<string, ChunkingPolicy>> = Object.freeze(
  Object.assign(
    Object.create(null) as Record<string, ChunkingPolicy>,
    Object.fromEntries(
      CHUNKING_POLICIES.flatMap((p) => (CHUNKING_POLICY_BY_NAME[p.name] === undefined ? [] : [[p.trtllmName, CHUNKING_POLICY_BY_NAME[p.name]!]])),
    ),
  ),
);

function enumValue<T>(s: YamlSection, key: string, table: Record<string, T>): T | undefined {
  const v = s.string(key);
  if (v === undefined) return undefined;
  const hit = table[v.trim().toUpperCase()];
  if (hit === undefined) throw s.file.error([...s.prefix, key], `must be ${Object.keys(table).join(" or ")} (got ${JSON.stringify(v)})`);
  return hit;
}

/** Reads the subset of TensorRT-LLM's LLM API options a simulation honours; other keys are warned about. */
export function readLlmApiOptions(path: string): LlmApiOptions {
  const file = YamlFile.read(path, "--extra-llm-api-options");
  const top = new YamlSection(file, [], file.data);
  const warnings: string[] = [];
  const unknown = (s: YamlSection, known: readonly string[]): void => {
    for (const k of s.unknownKeys(known)) warnings.push(`${path} line ${file.lineOf(k.split("."))}: ${k} is not simulated; ignored`);
  };
  unknown(top, TOP_KEYS);
  const engine: Partial<EngineConfig> = {};
  const predictor: LlmApiOptions["predictor"] = {};
  const out: LlmApiOptions = { engine, predictor, warnings };
  const ep = top.integer("moe_expert_parallel_size", 1);
  if (ep !== undefined) predictor.ep = ep;
  const moeTp = top.integer("moe_tensor_parallel_size", 1);
  if (moeTp !== undefined) predictor.moeTp = moeTp;
  const moe = top.section("moe_config");
  if (moe) {
    unknown(moe, MOE_KEYS);
    // load_balancer: a num_slots mapping or a config file path; either turns EPLB on.
    if (moe.data["load_balancer"] !== undefined && moe.data["load_balancer"] !== null) predictor.eplb = true;
    const backend = moe.string("backend");
    if (backend !== undefined && backend.trim().toUpperCase() !== "CUTLASS") {
      warnings.push(
        `${path} line ${file.lineOf(["moe_config", "backend"])}: moe_config.backend ${backend} is priced like CUTLASS (the tables' default kernels)`,
      );
    }
  }

  const adp = top.boolean("enable_attention_dp");
  if (adp !== undefined) predictor.attentionDp = adp;
  const adpConfig = top.section("attention_dp_config");
  if (adpConfig) {
    unknown(adpConfig, ATTENTION_DP_KEYS);
    const c: AttentionDpConfig = {};
    const balance = adpConfig.boolean("enable_balance");
    if (balance !== undefined) c.enableBalance = balance;
    const timeout = adpConfig.integer("timeout_iters", 0);
    if (timeout !== undefined) c.timeoutIters = timeout;
    const wait = adpConfig.integer("batching_wait_iters", 0);
    if (wait !== undefined) c.batchingWaitIters = wait;
    engine.attentionDp = c;
  }
  const spec = top.section("speculative_config");
  if (spec) {
    unknown(spec, SPECULATIVE_CONFIG_KEYS);
    engine.speculative = readSpeculativeConfig(spec, (key, reason) => spec.file.error([...spec.prefix, key], reason));
  }
  const graphs = top.section("cuda_graph_config");
  if (graphs) {
    unknown(graphs, CUDA_GRAPH_KEYS);
    const c: CudaGraphConfig = { batchSizes: [] };
    const sizes = graphs.data["batch_sizes"];
    if (sizes !== undefined && sizes !== null) {
      if (!Array.isArray(sizes) || !sizes.every((v) => Number.isSafeInteger(v) && v >= 1 && v <= 1 << 20)) {
        throw file.error(["cuda_graph_config", "batch_sizes"], "must be a list of integers in [1, 2^20]");
      }
      c.batchSizes = sizes as number[];
    }
    const max = graphs.integer("max_batch_size", 0);
    if (max !== undefined) c.maxBatchSize = max;
    const padding = graphs.boolean("enable_padding");
    if (padding !== undefined) c.enablePadding = padding;
    engine.cudaGraph = c;
  }
  const topKv = top.string("kv_cache_dtype");
  if (topKv !== undefined) {
    const dt = dtypeByName(topKv);
    if (dt === undefined) throw file.error(["kv_cache_dtype"], `must be auto, bf16, fp16 or fp8 (got ${JSON.stringify(topKv)})`);
    out.kvCacheDtype = dt;
  }

  const bs = top.integer("max_batch_size", 1);
  if (bs !== undefined) engine.maxBatchSize = bs;
  const tok = top.integer("max_num_tokens", 1);
  if (tok !== undefined) engine.maxNumTokens = tok;
  const seq = top.integer("max_seq_len", 1);
  if (seq !== undefined) engine.maxSeqLen = seq;
  const chunked = top.boolean("enable_chunked_prefill");
  if (chunked !== undefined) engine.enableChunkedContext = chunked;
  // Context batch waiting (TensorRT-LLM's llm_args: int and float, both default 0 = off).
  const waitIters = top.number("batch_wait_timeout_iters", (v) => Number.isSafeInteger(v) && v >= 0 && v <= 2 ** 31 - 1, "an integer in [0, 2147483647]");
  if (waitIters !== undefined) engine.batchWaitTimeoutIters = waitIters;
  const waitRatio = top.number("batch_wait_max_tokens_ratio", (v) => Number.isFinite(v) && v >= 0 && v <= 1, "a number in [0, 1]");
  if (waitRatio !== undefined) engine.batchWaitMaxTokensRatio = waitRatio;
  const disableOverlap = top.boolean("disable_overlap_scheduler");
  if (disableOverlap !== undefined) engine.disableOverlapScheduler = disableOverlap;
  // null turns CUDA graphs off (TensorRT-LLM then launches every iteration eagerly); a mapping keeps them
  // on, its sizes and padding in engine.cuda_graph (read above).
  if ("cuda_graph_config" in top.data) engine.disableCudaGraphs = top.data["cuda_graph_config"] === null;

  const kv = top.section("kv_cache_config");
  if (kv) {
    unknown(kv, KV_KEYS);
    const fraction = kv.number("free_gpu_memory_fraction", (v) => v > 0 && v <= 1, "a number in (0, 1]");
    if (fraction !== undefined) engine.kvCacheFreeGpuMemFraction = fraction;
    const maxTokens = kv.integer("max_tokens", 1);
    if (maxTokens !== undefined) engine.kvCacheMaxTokens = maxTokens;
    const reuse = kv.boolean("enable_block_reuse");
    if (reuse !== undefined) engine.enableBlockReuse = reuse;
    const tpb = kv.integer("tokens_per_block", 1);
    if (tpb !== undefined) engine.tokensPerBlock = tpb;
    kv.boolean("enable_partial_reuse");
    const dtype = kv.string("dtype");
    if (dtype !== undefined) {
      const dt = dtypeByName(dtype);
      if (dt === undefined) throw file.error(["kv_cache_config", "dtype"], `must be auto, bf16, fp16 or fp8 (got ${JSON.stringify(dtype)})`);
      out.kvCacheDtype = dt;
    }
  }
  const sched = top.section("scheduler_config");
  if (sched) {
    unknown(sched, SCHEDULER_KEYS);
    const policy = enumValue(sched, "capacity_scheduler_policy", CAPACITY);
    if (policy !== undefined) engine.schedulerPolicy = policy;
    const chunking = enumValue(sched, "context_chunking_policy", CHUNKING);
    if (chunking !== undefined) engine.chunkingPolicy = chunking;
  }
  return out;
}
