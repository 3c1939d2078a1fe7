import { CAPACITY_POLICIES, CHUNKING_POLICIES } from "@servesim/engine";
import { CHUNKING_POLICY_BY_NAME, SCHEDULER_POLICY_BY_NAME } from "@servesim/wire";
import type { DType } from "@servesim/wire/predictor";
import type { ChunkingPolicy, EngineConfig, SchedulerPolicy } from "@servesim/wire/scheduler";
import type { PredictorDraft } from "./predictorDraft.js";
import { dtypeByName } from "./predictorNames.js";
import { YamlFile, YamlSection } from "./yamlFile.js";

/** What an --extra_llm_api_options file sets (trtllm-bench-compat.md §3); its values override flags. */
export interface LlmApiOptions {
  engine: Partial<EngineConfig>;
  kvCacheDtype?: DType;
  /** MoE parallelism and moe_config (they change the predictor's pricing). */
  predictor: Pick<PredictorDraft, "ep" | "moeTp" | "eplb">;
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
  "cuda_graph_config",
  "moe_expert_parallel_size",
  "moe_tensor_parallel_size",
  "moe_config",
];
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

  const bs = top.integer("max_batch_size", 1);
  if (bs !== undefined) engine.maxBatchSize = bs;
  const tok = top.integer("max_num_tokens", 1);
  if (tok !== undefined) engine.maxNumTokens = tok;
  const seq = top.integer("max_seq_len", 1);
  if (seq !== undefined) engine.maxSeqLen = seq;
  const chunked = top.boolean("enable_chunked_prefill");
  if (chunked !== undefined) engine.enableChunkedContext = chunked;
  const disableOverlap = top.boolean("disable_overlap_scheduler");
  if (disableOverlap !== undefined) engine.disableOverlapScheduler = disableOverlap;
  if ("cuda_graph_config" in top.data) {
    // null turns CUDA graphs off (TensorRT-LLM then launches every iteration eagerly); a mapping keeps them on.
    const cg = top.data["cuda_graph_config"];
    if (cg === null) engine.disableCudaGraphs = true;
    else {
      const sec = top.section("cuda_graph_config");
      engine.disableCudaGraphs = false;
      if (sec) {
        unknown(sec, CUDA_GRAPH_KEYS);
        for (const k of CUDA_GRAPH_KEYS) {
          if (sec.data[k] !== undefined) {
            warnings.push(
              `${path} line ${file.lineOf(["cuda_graph_config", k])}: cuda_graph_config.${k} is not carried by the job spec yet; TensorRT-LLM's default sizes without padding are simulated`,
            );
          }
        }
      }
    }
  }

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
