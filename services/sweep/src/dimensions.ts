/**
 * What a sweep can vary: one entry per setting, each a name (the trtllm-bench / LLM API spelling), how a
 * value is read from a sweep file and how it is set on a JobSpec. Adding a dimension is one entry here;
 * the sweep file, the point ids, the CSV columns and the scheduler's sweep jobs all follow this table.
 */
import { dtypeFromPrecision, parsePrecision, predictorByName, predictorChoiceList } from "@servesim/perf";
import { CHUNKING_POLICY_BY_NAME, SCHEDULER_POLICY_BY_NAME } from "@servesim/wire";
import { DType, PredictorConfig } from "@servesim/wire/predictor";
import { EngineConfig, type JobSpec } from "@servesim/wire/scheduler";
import { TOPOLOGIES } from "./topologies.js";

export type SettingValue = string | number | boolean;

export interface Dimension {
  name: string;
  /** Other spellings accepted in sweep files (CLI flag names with dashes are accepted for every dimension). */
  aliases?: string[];
  description: string;
  /** The value from a sweep file, or a reason it is not one. */
  parse(v: unknown): SettingValue | { invalid: string };
  apply(spec: JobSpec, v: SettingValue): void;
  /** Short label in point names ("tp2", "mbs256"); default `${name}=${v}`. */
  label?(v: SettingValue): string;
}

const engine = (s: JobSpec): EngineConfig => (s.engine ??= EngineConfig.fromPartial({}));
const predictor = (s: JobSpec): PredictorConfig => (s.predictor ??= PredictorConfig.fromPartial({}));
const parallelism = (s: JobSpec) => (predictor(s).parallelism ??= { tp: 1, pp: 1, ep: 1 });
const pool = (s: JobSpec, role: "prefill" | "decode") => ((s.cluster ??= { aggregated: [] })[role] ??= { numWorkers: 1 });
const poolParallelism = (s: JobSpec, role: "prefill" | "decode") => (pool(s, role).parallelism ??= { tp: 0, pp: 0, ep: 0 });

const int =
  (min: number, max = 1 << 30) =>
  (v: unknown): number | { invalid: string } =>
    typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? v : { invalid: `must be an integer in [${min}, ${max}] (got ${JSON.stringify(v)})` };
const num =
  (ok: (x: number) => boolean, what: string) =>
  (v: unknown): number | { invalid: string } =>
    typeof v === "number" && Number.isFinite(v) && ok(v) ? v : { invalid: `must be ${what} (got ${JSON.stringify(v)})` };
const bool = (v: unknown): boolean | { invalid: string } => (typeof v === "boolean" ? v : { invalid: `must be true or false (got ${JSON.stringify(v)})` });
const text = (v: unknown): string | { invalid: string } =>
  typeof v === "string" && v.trim() !== "" && v.length <= 512 ? v.trim() : { invalid: `must be a non-empty string (got ${JSON.stringify(v)})` };
const oneOf =
  (table: Readonly<Record<string, unknown>>) =>
  (v: unknown): string | { invalid: string } => {
    const k = typeof v === "string" ? v.trim().toLowerCase() : "";
    return Object.hasOwn(table, k) ? k : { invalid: `must be one of ${Object.keys(table).join(", ")} (got ${JSON.stringify(v)})` };
  };
const dtype =
  (allowed: string) =>
  (v: unknown): string | { invalid: string } => {
    const k = typeof v === "string" ? v.trim().toLowerCase() : "";
    if (k === "none" || k === "auto") return k;
    return parsePrecision(k) !== undefined && allowed.split(",").includes(k) ? k : { invalid: `must be one of ${allowed},auto (got ${JSON.stringify(v)})` };
  };
const toDType = (v: SettingValue): DType => (v === "none" || v === "auto" ? DType.D_TYPE_UNSPECIFIED : dtypeFromPrecision(parsePrecision(String(v))!));

export const DIMENSIONS: readonly Dimension[] = [
  {
    name: "topology",
    description: `how the GPUs serve: ${TOPOLOGIES.map((t) => t.name).join(", ")}`,
    parse: (v) => {
      const k = typeof v === "string" ? v.trim().toLowerCase() : "";
      return TOPOLOGIES.some((t) => t.name === k) ? k : { invalid: `must be ${TOPOLOGIES.map((t) => t.name).join(" or ")} (got ${JSON.stringify(v)})` };
    },
    // The topology decides how a point is simulated and counted (topologies.ts), not a spec field.
    apply: () => undefined,
    label: (v) => (v === "aggregated" ? "agg" : v === "disaggregated" ? "disagg" : String(v)),
  },
  {
    name: "model",
    description: "catalog name or Hugging Face id",
    parse: text,
    apply: (s, v) => void (predictor(s).model = { name: String(v) }),
    label: (v) => String(v),
  },
  {
    name: "gpu",
    aliases: ["system"],
    description: "GPU / AIConfigurator system",
    parse: text,
    apply: (s, v) => void (predictor(s).gpu = { name: String(v) }),
    label: (v) => String(v),
  },
  {
    name: "predictor",
    description: "a predictor of perf's registry (constant, roofline, aic, calibrated, ...)",
    parse: (v) => {
      const e = typeof v === "string" ? predictorByName(v) : undefined;
      return e ? e.name : { invalid: `must be ${predictorChoiceList()} (got ${JSON.stringify(v)})` };
    },
    apply: (s, v) => void (predictor(s).kind = predictorByName(String(v))!.kind),
    label: (v) => String(v),
  },
  { name: "database_path", description: "AIConfigurator systems directory", parse: text, apply: (s, v) => void (predictor(s).databasePath = String(v)) },
  { name: "backend_version", description: "AIConfigurator table version", parse: text, apply: (s, v) => void (predictor(s).backendVersion = String(v)) },
  {
    name: "tp",
    aliases: ["tp_size", "tensor_parallel_size"],
    description: "tensor parallelism",
    parse: int(1, 4096),
    apply: (s, v) => void (parallelism(s).tp = Number(v)),
    label: (v) => `tp${v}`,
  },
  {
    name: "pp",
    aliases: ["pp_size", "pipeline_parallel_size"],
    description: "pipeline parallelism",
    parse: int(1, 4096),
    apply: (s, v) => void (parallelism(s).pp = Number(v)),
    label: (v) => `pp${v}`,
  },
  {
    name: "ep",
    aliases: ["ep_size", "moe_expert_parallel_size"],
    description: "expert parallelism",
    parse: int(1, 4096),
    apply: (s, v) => void (parallelism(s).ep = Number(v)),
    label: (v) => `ep${v}`,
  },
  {
    name: "moe_tp",
    aliases: ["moe_tensor_parallel_size"],
    description: "MoE tensor parallelism (moe_tp × ep = tp)",
    parse: int(1, 4096),
    apply: (s, v) => void (parallelism(s).moeTp = Number(v)),
    label: (v) => `moetp${v}`,
  },
  {
    name: "attention_dp",
    aliases: ["enable_attention_dp"],
    description: "attention data parallelism: every rank runs its own batch",
    parse: bool,
    apply: (s, v) => void (parallelism(s).attentionDp = Boolean(v)),
    label: (v) => (v ? "adp" : "noadp"),
  },
  {
    name: "quantization",
    description: "weight dtype: none (the checkpoint's), fp8 or nvfp4",
    parse: dtype("fp8,nvfp4,bf16,fp16"),
    apply: (s, v) => void (predictor(s).weightDtype = toDType(v)),
    label: (v) => String(v),
  },
  {
    name: "kv_cache_dtype",
    description: "KV-cache dtype",
    parse: dtype("bf16,fp16,fp8"),
    apply: (s, v) => void (predictor(s).kvCacheDtype = toDType(v)),
    label: (v) => `kv-${v}`,
  },
  {
    name: "max_batch_size",
    description: "max runtime batch size",
    parse: int(1),
    apply: (s, v) => void (engine(s).maxBatchSize = Number(v)),
    label: (v) => `mbs${v}`,
  },
  {
    name: "max_num_tokens",
    description: "max tokens per iteration",
    parse: int(1),
    apply: (s, v) => void (engine(s).maxNumTokens = Number(v)),
    label: (v) => `mnt${v}`,
  },
  { name: "max_seq_len", description: "max sequence length", parse: int(1), apply: (s, v) => void (engine(s).maxSeqLen = Number(v)) },
  {
    name: "scheduler_policy",
    aliases: ["policy", "capacity_scheduler_policy"],
    description: "guaranteed_no_evict, max_utilization or static_batch",
    parse: oneOf(SCHEDULER_POLICY_BY_NAME),
    apply: (s, v) => void (engine(s).schedulerPolicy = SCHEDULER_POLICY_BY_NAME[String(v)]!),
    label: (v) => ({ guaranteed_no_evict: "gne", max_utilization: "maxutil", static_batch: "static" })[String(v)] ?? String(v),
  },
  {
    name: "enable_chunked_context",
    aliases: ["chunked_context", "enable_chunked_prefill"],
    description: "chunked prefill",
    parse: bool,
    apply: (s, v) => void (engine(s).enableChunkedContext = Boolean(v)),
    label: (v) => (v ? "chunked" : "unchunked"),
  },
  {
    name: "chunking_policy",
    description: "first_come_first_served or equal_progress",
    parse: oneOf(CHUNKING_POLICY_BY_NAME),
    apply: (s, v) => void (engine(s).chunkingPolicy = CHUNKING_POLICY_BY_NAME[String(v)]!),
    label: (v) => (v === "equal_progress" ? "eqprog" : "fcfs"),
  },
  {
    name: "tokens_per_block",
    description: "KV block size in tokens",
    parse: int(1, 4096),
    apply: (s, v) => void (engine(s).tokensPerBlock = Number(v)),
    label: (v) => `tpb${v}`,
  },
  {
    name: "kv_cache_free_gpu_mem_fraction",
    aliases: ["free_gpu_memory_fraction"],
    description: "fraction of free GPU memory for the KV cache",
    parse: num((x) => x > 0 && x <= 1, "a number in (0, 1]"),
    apply: (s, v) => void (engine(s).kvCacheFreeGpuMemFraction = Number(v)),
    label: (v) => `kv${v}`,
  },
  {
    name: "enable_block_reuse",
    description: "prefix caching",
    parse: bool,
    apply: (s, v) => void (engine(s).enableBlockReuse = Boolean(v)),
    label: (v) => (v ? "reuse" : "noreuse"),
  },
  {
    name: "enable_overlap_scheduler",
    description: "simulate TensorRT-LLM's overlap scheduler",
    parse: bool,
    apply: (s, v) => void (engine(s).disableOverlapScheduler = !v),
    label: (v) => (v ? "overlap" : "nooverlap"),
  },
  {
    name: "batch_wait_timeout_iters",
    description: "context batch waiting: iterations new prompts may be held (0: off)",
    parse: int(0, 2 ** 31 - 1),
    apply: (s, v) => void (engine(s).batchWaitTimeoutIters = Number(v)),
    label: (v) => `bwi${v}`,
  },
  {
    name: "batch_wait_max_tokens_ratio",
    description: "context batch waiting: token fill of max_num_tokens that releases them, in [0, 1] (0: off)",
    parse: num((x) => x >= 0 && x <= 1, "a number in [0, 1]"),
    apply: (s, v) => void (engine(s).batchWaitMaxTokensRatio = Number(v)),
    label: (v) => `bwr${v}`,
  },
  { name: "concurrency", description: "requests in flight", parse: int(1), apply: (s, v) => void (engine(s).concurrency = Number(v)), label: (v) => `c${v}` },
  {
    name: "request_rate",
    description: "Poisson arrivals, requests per second",
    parse: num((x) => x > 0, "a number > 0"),
    apply: (s, v) => void (engine(s).requestRate = Number(v)),
    label: (v) => `r${v}`,
  },
  {
    name: "burstiness",
    description: "vLLM's gamma burstiness of request_rate's gaps (1: Poisson, < 1 burstier)",
    parse: num((x) => x > 0, "a number > 0"),
    apply: (s, v) => void (engine(s).burstiness = Number(v)),
    label: (v) => `b${v}`,
  },
  {
    name: "num_requests",
    description: "keep the first N requests",
    parse: int(1),
    apply: (s, v) => void (engine(s).numRequests = Number(v)),
    label: (v) => `n${v}`,
  },
  { name: "warmup", description: "warm-up requests", parse: int(0, 100_000), apply: (s, v) => void (engine(s).warmup = Number(v)), label: (v) => `w${v}` },
  { name: "seed", description: "arrivals and warm-up seed", parse: int(0, 2 ** 31), apply: (s, v) => void (engine(s).seed = Number(v)), label: (v) => `s${v}` },
  // Disaggregated pools (topology disaggregated): spec.cluster.prefill / spec.cluster.decode.
  ...(["prefill", "decode"] as const).flatMap((role): Dimension[] => [
    {
      name: `${role}_workers`,
      description: `${role} workers (topology disaggregated)`,
      parse: int(1, 1024),
      apply: (s, v) => void (pool(s, role).numWorkers = Number(v)),
      label: (v) => `${role[0]}${v}x`,
    },
    {
      name: `${role}_tp`,
      description: `tensor parallelism of each ${role} worker`,
      parse: int(1, 4096),
      apply: (s, v) => void (poolParallelism(s, role).tp = Number(v)),
      label: (v) => `${role[0]}tp${v}`,
    },
    {
      name: `${role}_ep`,
      description: `expert parallelism of each ${role} worker`,
      parse: int(1, 4096),
      apply: (s, v) => void (poolParallelism(s, role).ep = Number(v)),
      label: (v) => `${role[0]}ep${v}`,
    },
    {
      name: `${role}_max_batch_size`,
      description: `max_batch_size of each ${role} worker`,
      parse: int(1, 1 << 20),
      apply: (s, v) => void (pool(s, role).maxBatchSize = Number(v)),
      label: (v) => `${role[0]}mbs${v}`,
    },
    {
      name: `${role}_max_num_tokens`,
      description: `max_num_tokens of each ${role} worker`,
      parse: int(1, 2147483647),
      apply: (s, v) => void (pool(s, role).maxNumTokens = Number(v)),
      label: (v) => `${role[0]}mnt${v}`,
    },
  ]),
];

const BY_NAME = new Map<string, Dimension>();
for (const d of DIMENSIONS) for (const n of [d.name, ...(d.aliases ?? [])]) BY_NAME.set(n, d);

/** The dimension a sweep-file key names (dashes or underscores), or undefined. */
export function dimension(key: string): Dimension | undefined {
  return BY_NAME.get(key.trim().toLowerCase().replace(/-/g, "_"));
}

/** A point's label: its settings' short labels in the table's order. */
export function pointLabel(settings: Readonly<Record<string, SettingValue>>): string {
  return DIMENSIONS.filter((d) => settings[d.name] !== undefined)
    .map((d) => (d.label ? d.label(settings[d.name]!) : `${d.name}=${settings[d.name]}`))
    .join(" ");
}
