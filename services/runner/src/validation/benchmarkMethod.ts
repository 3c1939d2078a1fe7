import { ADP_BALANCE_DEFAULTS, type AdpBalanceSettings, type BatchWaitSettings, SeededRandom, type SimRequest } from "@servesim/engine";
import { inferencexWarmedUp } from "./inferencexLaunch.js";
import type { SiliconRow } from "./silicon.js";
import { type SlotSignatures, sourceFile } from "./slotSignature.js";

/**
 * How a silicon row was measured: the client's load and where it read the clock. A replay builds the
 * row's workload the same way, so that the simulated means compare with the measured ones.
 *
 * The rows of silicon_sample.csv come from two collections, AIConfigurator's gap-analysis runs
 * (`source_file=.../aic-auto-gap-analysis/...`) and InferenceX-style database dumps (`db-dump/...`,
 * `source_file=<date>.csv`). Both drive an OpenAI-compatible server (trtllm-serve) with a streaming
 * benchmark client in the InferenceX / AIPerf way, as far as public sources show (InferenceX's
 * benchmark scripts: `--random-range-ratio 0.8`, `--num-prompts $((CONC * 10))`,
 * `--max-concurrency $CONC`, `--request-rate inf`, `--ignore-eos`, warm-up 2 × CONC; the server launched
 * with `--max_batch_size $CONC`):
 * - closed loop: `concurrency` requests outstanding; a new one is sent when one finishes;
 * - random prompts, ISL and OSL each uniform in [ratio · L, L] (means ≈ 0.9 · L), ignore_eos;
 * - `requestsPerConcurrency × concurrency` measured requests after `warmupPerConcurrency × concurrency`
 *   warm-up requests, which finish before the measured run starts;
 * - TTFT measured at the client while streaming (request sent → first token received).
 */
export interface BenchmarkMethod {
  name: string;
  /** ISL and OSL uniform in [lengthRatio · L, L]; 1 = fixed lengths. */
  lengthRatio: number;
  requestsPerConcurrency: number;
  warmupPerConcurrency: number;
  /**
   * Engine slots (max_batch_size) the server gives the client's `concurrency` requests. See
   * docs/timing.md: measured TTFT grows by one inter-completion interval (≈ TPOT × OSL / concurrency),
   * which is what a closed loop sees when one request always waits for a slot.
   */
  slots: (concurrency: number) => number;
  /**
   * Server settings the source's launch script gave this row, where they differ from the replay's
   * defaults (max_num_tokens from trtllm-bench's heuristic, no batch waiting).
   */
  server?: (row: Pick<SiliconRow, "isl" | "osl" | "tp">) => ServerSettings;
  /**
   * The server is trtllm-serve, whose Python front end (one event-loop thread tokenizing prompts and
   * post-processing every streamed response, engine/src/frontEnd.ts) the replay simulates; false for a
   * server whose front end is not that thread (Dynamo's Rust HTTP front end).
   */
  trtllmServeFrontEnd: boolean;
  /**
   * `attention_dp_config` the source's launch script gave an attention-DP server of this model (undefined:
   * balancing off, TensorRT-LLM's default).
   */
  attentionDpBalance?: (modelPath: string) => AdpBalanceSettings | undefined;
  /** One line for reports. */
  summary: string;
}

export interface ServerSettings {
  maxNumTokens?: number;
  batchWait?: BatchWaitSettings;
}

/**
 * InferenceX's TensorRT-LLM server for Llama-3.1-70B (`benchmarks/70b_fp8_h200_trt_slurm.sh`):
 * `trtllm-serve --max_seq_len $MAX_MODEL_LEN --max_num_tokens $MAX_MODEL_LEN`, and for 1k/1k below TP 8
 * `batch_wait_max_tokens_ratio: 0.9`, `batch_wait_timeout_iters: 20` in its extra options. MAX_MODEL_LEN
 * is assumed to be ISL + OSL + 256 with InferenceX's floor of 8,192 (the workflow value is not in the
 * script; without the floor, 1k/1k at concurrency 128 could never fill 90 % of 2,304 tokens and would
 * queue for seconds, which the measured rows do not show).
 */
export function inferencexServer(row: Pick<SiliconRow, "isl" | "osl" | "tp">): ServerSettings {
  const maxNumTokens = Math.max(8192, row.isl + row.osl + 256);
  return row.isl === 1024 && row.osl === 1024 && row.tp < 8 ? { maxNumTokens, batchWait: { timeoutIters: 20, maxTokensRatio: 0.9 } } : { maxNumTokens };
}

/**
 * InferenceX's TensorRT-LLM launch scripts turn attention-DP balancing on whenever they enable attention
 * DP: `benchmarks/dsr1_fp8_h200_trt.sh`, `dsr1_fp4_b200_trt.sh` (DeepSeek-R1/V3: `attention_dp_config:
 * {batching_wait_iters: 0, enable_balance: true, timeout_iters: 60}`) and `gptoss_fp4_b200_trt.sh`
 * (gpt-oss: `enable_balance: true`, TensorRT-LLM's default iteration counts). Other models' scripts do not
 * run attention DP.
 */
export function inferencexAdpBalance(modelPath: string): AdpBalanceSettings | undefined {
  const m = modelPath.toLowerCase();
  if (m.includes("deepseek")) return { timeoutIters: 60, batchingWaitIters: 0 };
  if (m.includes("gpt-oss")) return { ...ADP_BALANCE_DEFAULTS };
  return undefined;
}

/**
 * InferenceX's method (the `db-dump/...` and `source_file=<date>.csv` rows): the server launched with
 * `max_batch_size` = the concurrency, so every request of the closed loop has a slot.
 */
export const INFERENCEX_METHOD: BenchmarkMethod = Object.freeze({
  name: "inferencex",
  lengthRatio: 0.8,
  requestsPerConcurrency: 10,
  warmupPerConcurrency: 2,
  slots: (c: number) => c,
  server: inferencexServer,
  trtllmServeFrontEnd: true,
  attentionDpBalance: inferencexAdpBalance,
  summary:
    "inferencex: closed loop at the row's concurrency, ISL/OSL uniform in [0.8·L, L], 10 × concurrency requests after " +
    "2 × concurrency warm-up, max_batch_size = concurrency, max_num_tokens = max(ISL + OSL + 256, 8192), batch waiting " +
    "(0.9, 20 iterations) for 1k/1k below TP 8, attention-DP balancing on attention-DP servers (DeepSeek: timeout 60, no " +
    "batching wait; gpt-oss: TensorRT-LLM's defaults), TTFT at the client while streaming",
});

/**
 * InferenceX's method before its client warmed up (rows measured before 2026-01-21, inferencexLaunch.ts): the
 * same load without the 2 × concurrency warm-up, so the measured run opens with the whole closed loop
 * arriving at once.
 */
export const INFERENCEX_NO_WARMUP_METHOD: BenchmarkMethod = Object.freeze({
  ...INFERENCEX_METHOD,
  name: "inferencex-no-warmup",
  warmupPerConcurrency: 0,
  summary:
    "inferencex-no-warmup: as inferencex, without the warm-up (InferenceX's client before 2026-01-21): the measured run opens with the whole closed loop at once",
});

/**
 * AIConfigurator's gap-analysis runs (`source_file=.../aic-auto-gap-analysis/...`): the same client, but
 * the measured TTFT carries one inter-completion interval (≈ TPOT × OSL / concurrency) at every
 * concurrency: the signature of a closed loop in which one request always waits for a slot, i.e. the
 * engine runs concurrency − 1 requests while the client keeps concurrency outstanding (docs/timing.md).
 */
export const AIC_GAP_ANALYSIS_METHOD: BenchmarkMethod = Object.freeze({
  name: "aic-gap-analysis",
  lengthRatio: 0.8,
  requestsPerConcurrency: 10,
  warmupPerConcurrency: 2,
  slots: (c: number) => Math.max(1, c - 1),
  trtllmServeFrontEnd: true,
  summary: "aic-gap-analysis: as inferencex, but the engine runs concurrency − 1 requests, so one request of the closed loop always waits for a slot",
});

/**
 * Gap-analysis runs served by NVIDIA Dynamo (`image=nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:...` in
 * the source): the same client and slots, but requests and streamed tokens pass Dynamo's front end (an
 * HTTP server and detokenizer written in Rust, in its own process) instead of trtllm-serve's Python event
 * loop, so the trtllm-serve front end is not simulated for them.
 */
export const AIC_GAP_ANALYSIS_DYNAMO_METHOD: BenchmarkMethod = Object.freeze({
  ...AIC_GAP_ANALYSIS_METHOD,
  name: "aic-gap-analysis-dynamo",
  trtllmServeFrontEnd: false,
  summary: "aic-gap-analysis-dynamo: as aic-gap-analysis, served through Dynamo's front end (trtllm-serve's is not simulated)",
});

/**
 * The gap-analysis collection's runs whose rows show no slot wait (slotSignature.ts: TTFT flat in OSL, as
 * the Qwen3-32B and Qwen3-235B-A22B files on H100 are): the client's concurrency has as many slots.
 */
export const AIC_GAP_ANALYSIS_EVERY_SLOT_METHOD: BenchmarkMethod = Object.freeze({
  ...AIC_GAP_ANALYSIS_METHOD,
  name: "aic-gap-analysis-every-slot",
  slots: (c: number) => c,
  summary: "aic-gap-analysis (every slot): as inferencex's load, every request of the closed loop has a slot (the source file's TTFT does not grow with OSL)",
});

/** Benchmark methods by what a row's `silicon_data_source` contains; the first match wins, else inferencex. */
export const BENCHMARK_METHODS: ReadonlyArray<{ sourceContains: string; method: BenchmarkMethod }> = [
  { sourceContains: "image=nvcr.io/nvidia/ai-dynamo/", method: AIC_GAP_ANALYSIS_DYNAMO_METHOD },
  { sourceContains: "aic-auto-gap-analysis", method: AIC_GAP_ANALYSIS_METHOD },
  { sourceContains: "", method: INFERENCEX_METHOD },
];

/**
 * A row's benchmark method; with the signatures of the CSV's source files (slotSignature.ts), a
 * gap-analysis file whose TTFT is flat in OSL runs with a slot for every request; an InferenceX row
 * measured before its client warmed up runs without the warm-up.
 */
export function methodForRow(row: Pick<SiliconRow, "source">, signatures?: SlotSignatures): BenchmarkMethod {
  const method = BENCHMARK_METHODS.find((m) => row.source.includes(m.sourceContains))?.method ?? INFERENCEX_METHOD;
  if (method === AIC_GAP_ANALYSIS_METHOD && signatures?.get(sourceFile(row.source))?.slotWait === false) return AIC_GAP_ANALYSIS_EVERY_SLOT_METHOD;
  if (method === INFERENCEX_METHOD && !inferencexWarmedUp(row)) return INFERENCEX_NO_WARMUP_METHOD;
  return method;
}

export interface BenchmarkWorkload {
  requests: SimRequest[];
  warmup: SimRequest[];
  /** Closed-loop concurrency the engine sees (per rank when the row's load is split over ranks). */
  concurrency: number;
}

/** Uniform integer in [ceil(ratio · L), L]. */
function lengthSampler(rng: SeededRandom, ratio: number): (L: number) => number {
  return (L) => {
    const lo = Math.max(1, Math.ceil(ratio * L));
    return lo + Math.floor(rng.nextFloat() * (L - lo + 1));
  };
}

/**
 * The row's workload under a method: `ranks` engines share the row's concurrency (attention-DP ranks or
 * replicas each get concurrency / ranks, rounded up). Seeded: the same row gives the same requests.
 */
export function benchmarkWorkload(
  row: Pick<SiliconRow, "isl" | "osl" | "concurrency">,
  method: BenchmarkMethod,
  opts: { seed?: number; ranks?: number; maxRequests?: number } = {},
): BenchmarkWorkload {
  const ranks = opts.ranks ?? 1;
  const concurrency = Math.max(1, Math.ceil(row.concurrency / ranks));
  const rng = new SeededRandom(opts.seed ?? 42);
  const len = lengthSampler(rng, method.lengthRatio);
  const n = Math.min(method.requestsPerConcurrency * concurrency, opts.maxRequests ?? Number.MAX_SAFE_INTEGER);
  const make = (count: number): SimRequest[] => Array.from({ length: count }, (_, i) => ({ taskId: i, inputLength: len(row.isl), outputTokens: len(row.osl) }));
  const warmup = make(method.warmupPerConcurrency * concurrency);
  const requests = make(Math.max(1, n));
  return { requests, warmup, concurrency };
}
