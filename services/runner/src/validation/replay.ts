import type { EngineOptions, SimRequest } from "@servesim/engine";
import { runSimulationSync, Simulation } from "@servesim/engine";
import {
  benchHeuristic,
  createPredictor,
  dtypeFromPrecision,
  kvCapacity,
  type LocalPredictor,
  type PredictorOptions,
  predictorByName,
  resolveRun,
} from "@servesim/perf";
import { DType, type PredictorConfig } from "@servesim/wire/predictor";
import type { ReplayableRow } from "./silicon.js";

export type ValidationPredictor = "roofline" | "aic";

export interface ReplaySettings {
  predictor: ValidationPredictor;
  /** AIC systems directory (aic only). */
  systemsDir?: string;
  /** AIC table version (default 1.2.0rc5). */
  backendVersion?: string;
  /** Efficiency/overhead overrides (calibration); default: the GPU family's calibrated values. */
  predictorOptions?: PredictorOptions;
  /**
   * Requests per row: max(waves × concurrency, 64), capped at maxRequests (defaults 10 and 1280: a
   * request count of 10 × concurrency, as common serving-benchmark sweeps use).
   */
  waves?: number;
  maxRequests?: number;
  /** Chunked context (default off: the LLM API default; the heuristic then covers ISL + max_batch_size). */
  chunkedPrefill?: boolean;
  /** Replaces the heuristic's max_num_tokens (e.g. the LLM API default 8192). */
  maxNumTokens?: number;
  /** Leave the first wave (the first `concurrency` requests, all started at t = 0) out of the means (default false). */
  skipFirstWave?: boolean;
  /** Simulate TensorRT-LLM's overlap scheduler (`PyExecutor._executor_loop_overlap`) instead of the non-overlap loop (default false). */
  overlap?: boolean;
}

export interface ReplayResult {
  ttftMs: number;
  tpotMs: number;
  requests: number;
  iterations: number;
  engine: EngineOptions;
}

export function predictorConfigFor(row: ReplayableRow, s: ReplaySettings): PredictorConfig {
  return {
    kind: predictorByName(s.predictor)!.kind,
    deviceName: row.system,
    databasePath: s.predictor === "aic" ? (s.systemsDir ?? "") : "",
    backendVersion: s.predictor === "aic" ? (s.backendVersion ?? "1.2.0rc5") : "",
    model: { name: row.model },
    parallelism: { tp: row.tp, pp: 1, ep: 1 },
    weightDtype: dtypeFromPrecision(row.weightDtype),
    kvCacheDtype: row.kvDtype === "fp8" ? DType.D_TYPE_FP8 : DType.D_TYPE_BF16,
    ctxAttention: "",
  };
}

/**
 * Engine settings for a row, as trtllm-bench would pick them: max_batch_size / max_num_tokens from its
 * heuristic (chunked context off, so max_num_tokens ≥ ISL + max_batch_size), KV blocks from GPU memory,
 * GUARANTEED_NO_EVICT, 32 tokens per block, closed-loop concurrency = the row's batch_size.
 */
export function engineOptionsFor(row: ReplayableRow, s: Pick<ReplaySettings, "chunkedPrefill" | "maxNumTokens" | "overlap"> = {}): EngineOptions {
  const run = resolveRun(predictorConfigFor(row, { predictor: "roofline" }));
  const h = benchHeuristic({
    model: run.model,
    tp: run.tp,
    pp: 1,
    weightDtype: run.weightDtype,
    kvDtype: run.kvDtype,
    deviceMemBytes: run.gpu.memCapacity,
    avgIsl: row.isl,
    avgOsl: row.osl,
    maxIsl: row.isl,
    chunkedPrefill: s.chunkedPrefill === true,
    ...(s.maxNumTokens !== undefined ? { maxNumTokens: s.maxNumTokens } : {}),
  });
  const kv = kvCapacity({ ...run, maxNumTokens: h.maxNumTokens, maxBatchSize: h.maxBatchSize, tokensPerBlock: 32 });
  return {
    maxBatchSize: h.maxBatchSize,
    maxNumTokens: h.maxNumTokens,
    maxSeqLen: row.isl + row.osl,
    ppSize: 1,
    capacityPolicy: "guaranteed_no_evict",
    chunking: s.chunkedPrefill === true ? "first_come_first_served" : null,
    tokensPerBlock: 32,
    numBlocks: kv.numBlocks,
    enableBlockReuse: false,
    arrivals: { kind: "concurrency", concurrency: row.concurrency },
    overlap: s.overlap === true,
  };
}

/** Replays one row as a concurrency-limited run and returns mean TTFT and TPOT over its requests. */
export function replayRow(row: ReplayableRow, predictor: LocalPredictor, settings: ReplaySettings): ReplayResult {
  const n = Math.min(Math.max((settings.waves ?? 10) * row.concurrency, 64), settings.maxRequests ?? 1280);
  const requests: SimRequest[] = Array.from({ length: n }, (_, i) => ({ taskId: i, inputLength: row.isl, outputTokens: row.osl }));
  const engine = engineOptionsFor(row, settings);
  const result = runSimulationSync(new Simulation(engine, requests), predictor);
  let ttft = 0;
  let tpot = 0;
  let ok = 0;
  const skip = settings.skipFirstWave === true ? row.concurrency : 0;
  for (const r of result.requests) {
    if (r.error || r.taskId < skip) continue;
    ttft += r.ttftMs;
    tpot += r.tpotMs;
    ok++;
  }
  return { ttftMs: ttft / ok, tpotMs: tpot / ok, requests: ok, iterations: result.numIterations, engine };
}

/** Builds (and caches per configuration) the predictor of a row. */
export class RowPredictors {
  private readonly cache = new Map<string, Promise<LocalPredictor>>();
  constructor(private readonly settings: ReplaySettings) {}

  get(row: ReplayableRow): Promise<LocalPredictor> {
    const cfg = predictorConfigFor(row, this.settings);
    const key = JSON.stringify(cfg);
    let p = this.cache.get(key);
    if (!p) {
      p = createPredictor(cfg, this.settings.predictorOptions) as Promise<LocalPredictor>;
      this.cache.set(key, p);
    }
    return p;
  }
}
