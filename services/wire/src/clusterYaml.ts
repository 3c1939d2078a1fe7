import { type ClusterSpec, FirstTokenSource, type RouterConfig, type WorkerPool } from "../gen/ts/servesim/v1/scheduler.js";
import { readSpeculativeConfig, SPECULATIVE_CONFIG_KEYS } from "./speculativeYaml.js";
import { YamlDoc, YamlMap } from "./yamlDoc.js";

/** A cluster topology read from a YAML file, and what in the file was ignored. */
export interface ClusterYaml {
  cluster: ClusterSpec;
  /** Model named by a TensorRT-LLM disaggregated config (its top-level `model`), when present. */
  model?: string;
  warnings: string[];
}

const MAX_WORKERS = 4096;
const fraction = (v: number): boolean => Number.isFinite(v) && v > 0 && v <= 1;
const nonNegative = (v: number): boolean => Number.isFinite(v) && v >= 0;
const positive = (v: number): boolean => Number.isFinite(v) && v > 0;

function router(m: YamlMap | undefined, warnings: string[], extraKnown: readonly string[] = []): RouterConfig | undefined {
  if (m === undefined) return undefined;
  const out: RouterConfig = { type: m.string("type") ?? "", weights: {} };
  const w = m.map("weights");
  if (w) {
    for (const k of Object.keys(w.data)) {
      const v = w.number(k, nonNegative, "a number >= 0");
      if (v !== undefined) out.weights[k] = v;
    }
  }
  m.unknown(["type", "weights", ...extraKnown], warnings);
  return out;
}

/** servesim's pool keys (the sim-config `cluster:` section). */
const POOL_KEYS = [
  "num_workers",
  "tp",
  "pp",
  "ep",
  "moe_tp",
  "attention_dp",
  "max_batch_size",
  "max_num_tokens",
  "disable_overlap_scheduler",
  "free_gpu_memory_fraction",
  "enable_chunked_context",
  "router",
  "speculative",
];

/** A pool's speculative_config (servesim's `speculative:` key, TensorRT-LLM's `speculative_config:`). */
function speculative(p: WorkerPool, m: YamlMap, key: string, warnings: string[]): void {
  const s = m.map(key);
  if (s === undefined) return;
  p.speculative = readSpeculativeConfig(s, (k, reason) => m.doc.error([...s.prefix, k], reason));
  s.unknown(SPECULATIVE_CONFIG_KEYS, warnings);
}

function pool(m: YamlMap, warnings: string[], withRouter: boolean): WorkerPool {
  const p: WorkerPool = { numWorkers: m.integer("num_workers", 1, MAX_WORKERS) ?? 1 };
  const tp = m.integer("tp", 1, 4096);
  const pp = m.integer("pp", 1, 4096);
  const ep = m.integer("ep", 1, 4096);
  const moeTp = m.integer("moe_tp", 1, 4096);
  const adp = m.boolean("attention_dp");
  if (tp !== undefined || pp !== undefined || ep !== undefined || moeTp !== undefined || adp !== undefined) {
    p.parallelism = { tp: tp ?? 0, pp: pp ?? 0, ep: ep ?? 0 };
    if (moeTp !== undefined) p.parallelism.moeTp = moeTp;
    if (adp !== undefined) p.parallelism.attentionDp = adp;
  }
  setPoolLimits(p, m, "max_batch_size", "max_num_tokens", "disable_overlap_scheduler", "enable_chunked_context");
  const f = m.number("free_gpu_memory_fraction", fraction, "a number in (0, 1]");
  if (f !== undefined) p.kvCacheFreeGpuMemFraction = f;
  speculative(p, m, "speculative", warnings);
  if (withRouter) {
    const r = router(m.map("router"), warnings);
    if (r) p.router = r;
  }
  m.unknown(withRouter ? POOL_KEYS : POOL_KEYS.filter((k) => k !== "router"), warnings);
  return p;
}

function setPoolLimits(p: WorkerPool, m: YamlMap, mbs: string, mnt: string, overlap: string, chunked: string): void {
  const b = m.integer(mbs, 1, 1 << 20);
  if (b !== undefined) p.maxBatchSize = b;
  const t = m.integer(mnt, 1, 2147483647);
  if (t !== undefined) p.maxNumTokens = t;
  const o = m.boolean(overlap);
  if (o !== undefined) p.disableOverlapScheduler = o;
  const c = m.boolean(chunked);
  if (c !== undefined) p.enableChunkedContext = c;
}

function kvTransfer(m: YamlMap | undefined, warnings: string[]): ClusterSpec["kvTransfer"] {
  if (m === undefined) return undefined;
  const out: NonNullable<ClusterSpec["kvTransfer"]> = {};
  const gbps = m.number("bandwidth_gb_per_s", positive, "a number > 0 (GB/s per GPU)");
  if (gbps !== undefined) out.bandwidthBytesPerS = gbps * 1e9;
  const us = m.number("latency_us", nonNegative, "a number >= 0 (microseconds)");
  if (us !== undefined) out.latencyMs = us / 1000;
  m.unknown(["bandwidth_gb_per_s", "latency_us"], warnings);
  return out;
}

const FIRST_TOKEN: Record<string, FirstTokenSource> = {
  generation: FirstTokenSource.FIRST_TOKEN_SOURCE_GENERATION,
  context: FirstTokenSource.FIRST_TOKEN_SOURCE_CONTEXT,
};

/**
 * servesim's `cluster:` section of a --sim-config:
 *   instances: N                       aggregated shorthand: N instances of the job's engine
 *   aggregated: [{num_workers, tp, ...}, ...]   groups of aggregated instances
 *   prefill: {num_workers, tp, pp, ep, moe_tp, attention_dp, max_batch_size, max_num_tokens, router, ...}
 *   decode: {...}
 *   router: {type, weights}            the aggregated instances' router
 *   kv_transfer: {bandwidth_gb_per_s, latency_us}
 *   first_token: generation | context  where the client's first token comes from (disaggregated)
 *   request_overheads: {frontend_ms, handoff_ms}
 */
export function readClusterSection(s: YamlMap, warnings: string[]): ClusterSpec {
  const spec: ClusterSpec = { aggregated: [] };
  const n = s.integer("instances", 1, MAX_WORKERS);
  const groups = s.list("aggregated");
  const prefill = s.map("prefill");
  const decode = s.map("decode");
  if (n !== undefined && groups !== undefined) throw s.doc.error([...s.prefix, "instances"], "and aggregated are alternatives: give one");
  if ((prefill === undefined) !== (decode === undefined)) {
    throw s.doc.error(
      [...s.prefix, prefill ? "prefill" : "decode"],
      `needs a ${prefill ? "decode" : "prefill"} section too (disaggregated serving has both pools)`,
    );
  }
  if (prefill && (n !== undefined || groups !== undefined))
    throw s.doc.error([...s.prefix, "prefill"], "and instances/aggregated are alternatives: a cluster is aggregated or disaggregated");
  if (n !== undefined) spec.aggregated.push({ numWorkers: n });
  if (groups) for (const g of groups) spec.aggregated.push(pool(g, warnings, false));
  if (prefill && decode) {
    spec.prefill = pool(prefill, warnings, true);
    spec.decode = pool(decode, warnings, true);
  }
  const r = router(s.map("router"), warnings);
  if (r) spec.router = r;
  const kv = kvTransfer(s.map("kv_transfer"), warnings);
  if (kv) spec.kvTransfer = kv;
  const ft = s.string("first_token");
  if (ft !== undefined) {
    const v = FIRST_TOKEN[ft.trim().toLowerCase()];
    if (v === undefined) throw s.doc.error([...s.prefix, "first_token"], `must be generation or context (got ${JSON.stringify(ft.slice(0, 64))})`);
    spec.firstToken = v;
  }
  const o = s.map("request_overheads");
  if (o) {
    spec.requestOverheads = {};
    const fe = o.number("frontend_ms", nonNegative, "a number >= 0 (ms)");
    if (fe !== undefined) spec.requestOverheads.frontendMs = fe;
    const ho = o.number("handoff_ms", nonNegative, "a number >= 0 (ms)");
    if (ho !== undefined) spec.requestOverheads.handoffMs = ho;
    o.unknown(["frontend_ms", "handoff_ms"], warnings);
  }
  s.unknown(["instances", "aggregated", "prefill", "decode", "router", "kv_transfer", "first_token", "request_overheads"], warnings);
  return spec;
}

/** TensorRT-LLM server keys that do not change a simulation (addresses, logging, transport). */
const TRTLLM_IGNORED = [
  "urls",
  "hostname",
  "port",
  "backend",
  "cache_transceiver_config",
  "print_iter_log",
  "enable_iter_perf_stats",
  "return_perf_metrics",
  "perf_metrics_max_requests",
  "trust_remote_code",
  "cuda_graph_config",
  "max_seq_len",
  "kv_cache_dtype",
  "moe_config",
  "stream_interval",
  "num_postprocess_workers",
];

/**
 * TensorRT-LLM's `trtllm-serve disaggregated -c` config as is (`tensorrt_llm/llmapi/disagg_utils.py`):
 * `context_servers` and `generation_servers`, each with num_instances and LLM API options
 * (tensor_parallel_size, pipeline_parallel_size, moe_expert_parallel_size, moe_tensor_parallel_size,
 * enable_attention_dp, max_batch_size, max_num_tokens, disable_overlap_scheduler, enable_chunked_prefill,
 * kv_cache_config.free_gpu_memory_fraction / tokens_per_block, speculative_config, router); top-level options apply to both
 * sections, as TensorRT-LLM inherits them.
 */
export function readTrtllmDisaggConfig(doc: YamlDoc): ClusterYaml {
  const warnings: string[] = [];
  const top = doc.root();
  const ctx = top.map("context_servers");
  const gen = top.map("generation_servers");
  if (!ctx || !gen)
    throw doc.error([ctx ? "generation_servers" : "context_servers"], "is missing (a disaggregated config has context_servers and generation_servers)");
  const SECTION_KEYS = [
    "num_instances",
    "tensor_parallel_size",
    "pipeline_parallel_size",
    "moe_expert_parallel_size",
    "moe_tensor_parallel_size",
    "enable_attention_dp",
    "max_batch_size",
    "max_num_tokens",
    "disable_overlap_scheduler",
    "enable_chunked_prefill",
    "kv_cache_config",
    "router",
    "free_gpu_memory_fraction",
    "context_parallel_size",
    "speculative_config",
  ];
  const inherited = Object.keys(top.data).filter(
    (k) =>
      ![
        "context_servers",
        "generation_servers",
        "model",
        "conditional_disagg_config",
        "disagg_cluster",
        "otlp_config",
        "max_retries",
        "node_id",
        "schedule_style",
      ].includes(k),
  );
  const section = (m: YamlMap): WorkerPool => {
    // Top-level options are inherited; a different value in the section is an error, as in TensorRT-LLM.
    const merged: Record<string, unknown> = { ...m.data };
    for (const k of inherited) {
      if (merged[k] === undefined) merged[k] = top.data[k];
      else if (JSON.stringify(merged[k]) !== JSON.stringify(top.data[k]))
        throw doc.error([...m.prefix, k], "differs from the top-level value (TensorRT-LLM rejects that)");
    }
    const s = new YamlMap(doc, m.prefix, merged);
    const p: WorkerPool = { numWorkers: s.integer("num_instances", 1, MAX_WORKERS) ?? 1 };
    const tp = s.integer("tensor_parallel_size", 1, 4096);
    const pp = s.integer("pipeline_parallel_size", 1, 4096);
    const ep = s.integer("moe_expert_parallel_size", 1, 4096);
    const moeTp = s.integer("moe_tensor_parallel_size", 1, 4096);
    const adp = s.boolean("enable_attention_dp");
    const cp = s.integer("context_parallel_size", 1, 4096);
    if (cp !== undefined && cp > 1) throw doc.error([...m.prefix, "context_parallel_size"], "> 1 is not simulated (context parallelism)");
    p.parallelism = { tp: tp ?? 1, pp: pp ?? 1, ep: ep ?? 0 };
    if (moeTp !== undefined) p.parallelism.moeTp = moeTp;
    if (adp !== undefined) p.parallelism.attentionDp = adp;
    setPoolLimits(p, s, "max_batch_size", "max_num_tokens", "disable_overlap_scheduler", "enable_chunked_prefill");
    const kv = s.map("kv_cache_config");
    const f = kv?.number("free_gpu_memory_fraction", fraction, "a number in (0, 1]") ?? s.number("free_gpu_memory_fraction", fraction, "a number in (0, 1]");
    if (f !== undefined) p.kvCacheFreeGpuMemFraction = f;
    kv?.unknown(["free_gpu_memory_fraction", "tokens_per_block", "enable_block_reuse", "dtype", "max_tokens", "event_buffer_max_size"], warnings);
    speculative(p, s, "speculative_config", warnings);
    const r = router(s.map("router"), warnings, ["args", "use_tokens", "max_batch_size", "max_num_tokens", "tokens_per_block", "server_role"]);
    if (r) p.router = r;
    for (const k of Object.keys(m.data)) {
      if (!SECTION_KEYS.includes(k) && !TRTLLM_IGNORED.includes(k)) warnings.push(doc.warning([...m.prefix, k], "is not simulated; ignored"));
    }
    return p;
  };
  const cluster: ClusterSpec = { aggregated: [], prefill: section(ctx), decode: section(gen) };
  for (const k of inherited) {
    if (!SECTION_KEYS.includes(k) && !TRTLLM_IGNORED.includes(k)) warnings.push(doc.warning([k], "is not simulated; ignored"));
  }
  const out: ClusterYaml = { cluster, warnings };
  const model = top.string("model");
  if (model !== undefined && model.trim() !== "") out.model = model.trim();
  return out;
}

/** True when a YAML mapping is a TensorRT-LLM disaggregated serving config. */
export const isTrtllmDisaggConfig = (data: Record<string, unknown>): boolean => "context_servers" in data || "generation_servers" in data;

/**
 * The cluster of a topology YAML (a --sim-config file's text): its `cluster:` section, or a TensorRT-LLM
 * disaggregated serving config as a whole; undefined when the file has neither. Errors are
 * InvalidArgumentError with field "<path> line <n>" and the key path in the reason.
 */
export function readClusterYaml(text: string, path: string): ClusterYaml | undefined {
  const doc = YamlDoc.parse(text, path);
  if (isTrtllmDisaggConfig(doc.data)) return readTrtllmDisaggConfig(doc);
  const section = doc.root().map("cluster");
  if (section === undefined) return undefined;
  const warnings: string[] = [];
  return { cluster: readClusterSection(section, warnings), warnings };
}
