import {
  type CudaGraphSettings,
  type EngineOptions,
  type FrontEndSettings,
  type HostCostParams,
  hostCostFor,
  runSimulationSync,
  Simulation,
  type TimingModelName,
  type TimingSettings,
  TRTLLM_PYTORCH_TIMING,
  withHostDeviceTiming,
} from "@servesim/engine";
import {
  benchHeuristic,
  createPredictor,
  dtypeFromPrecision,
  gpuFamily,
  kvCapacity,
  type LocalPredictor,
  type PredictorOptions,
  predictorByName,
  type ResolvedRun,
  resolveRun,
} from "@servesim/perf";
import { DType, type PredictorConfig } from "@servesim/wire/predictor";
import { type BenchmarkMethod, benchmarkWorkload, methodForRow } from "./benchmarkMethod.js";
import { meanLatencies } from "./meanLatencies.js";
import type { ReplayableRow } from "./silicon.js";
import type { SlotSignatures } from "./slotSignature.js";

export type ValidationPredictor = "roofline" | "aic";

/** The timing model of a replay; unset fields take TensorRT-LLM's PyTorch defaults for the row's GPU. */
export interface ReplayTiming {
  model?: Exclude<TimingModelName, "whole-iteration">;
  host?: HostCostParams;
  cudaGraphs?: CudaGraphSettings | null;
  /** trtllm-serve's front end (default: the engine profile's `serveFrontEnd`). */
  frontEnd?: FrontEndSettings;
}

export interface ReplaySettings {
  predictor: ValidationPredictor;
  /** AIC systems directory (aic only). */
  systemsDir?: string;
  /** AIC table version (default 1.2.0rc5). */
  backendVersion?: string;
  /** Efficiency and device-overhead overrides (default: the GPU family's). */
  predictorOptions?: PredictorOptions;
  timing?: ReplayTiming;
  /** Replaces the row's benchmark method (tests, experiments). */
  method?: BenchmarkMethod;
  /** The CSV's source-file signatures that refine the row's method (slotSignature.ts). */
  slotSignatures?: SlotSignatures;
  /** Caps the measured requests per row (default: the method's count). */
  maxRequests?: number;
  seed?: number;
}

export interface ReplayResult {
  ttftMs: number;
  tpotMs: number;
  requests: number;
  iterations: number;
  engine: EngineOptions;
  timing: TimingSettings;
}

export function predictorConfigFor(row: ReplayableRow, s: Pick<ReplaySettings, "predictor" | "systemsDir" | "backendVersion">): PredictorConfig {
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

const runCache = new Map<string, ResolvedRun>();
function rowRun(row: ReplayableRow): ResolvedRun {
  const key = `${row.model}|${row.system}|${row.tp}|${row.weightDtype}`;
  let run = runCache.get(key);
  if (!run) runCache.set(key, (run = resolveRun(predictorConfigFor(row, { predictor: "roofline" }))));
  return run;
}

/** The timing settings of a row: the overrides over TensorRT-LLM's PyTorch defaults for its GPU family. */
export function timingFor(row: ReplayableRow, t: ReplayTiming = {}): TimingSettings {
  const run = rowRun(row);
  return {
    model: t.model ?? TRTLLM_PYTORCH_TIMING.model,
    host: t.host ?? hostCostFor(TRTLLM_PYTORCH_TIMING, gpuFamily(run.gpu)),
    cudaGraphs: t.cudaGraphs === undefined ? TRTLLM_PYTORCH_TIMING.cudaGraphs : t.cudaGraphs,
    layers: Math.ceil(run.model.numLayers / run.pp),
  };
}

/**
 * Engine settings for a row as the benchmark ran it: max_batch_size from the method (the server was
 * launched for the row's concurrency), max_num_tokens and batch waiting from the method's server settings
 * where its source's launch script set them, else max_num_tokens from trtllm-bench's heuristic without
 * chunking (≥ ISL + max_batch_size), KV blocks from GPU memory, GUARANTEED_NO_EVICT, 32 tokens per block, closed
 * loop at the row's concurrency.
 */
export function engineOptionsFor(
  row: ReplayableRow,
  method: BenchmarkMethod,
  concurrency: number,
  overlap: boolean,
  frontEnd: FrontEndSettings | undefined = method.trtllmServeFrontEnd ? TRTLLM_PYTORCH_TIMING.serveFrontEnd : undefined,
): EngineOptions {
  const run = rowRun(row);
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
    chunkedPrefill: false,
  });
  const maxBatchSize = Math.min(h.maxBatchSize, method.slots(concurrency));
  const server = method.server?.(row) ?? {};
  const maxNumTokens = server.maxNumTokens ?? Math.max(h.maxNumTokens, row.isl + maxBatchSize);
  const kv = kvCapacity({ ...run, maxNumTokens, maxBatchSize, tokensPerBlock: 32 });
  return {
    maxBatchSize,
    maxNumTokens,
    maxSeqLen: row.isl + row.osl,
    ppSize: 1,
    capacityPolicy: "guaranteed_no_evict",
    chunking: null,
    tokensPerBlock: 32,
    numBlocks: kv.numBlocks,
    enableBlockReuse: false,
    arrivals: { kind: "concurrency", concurrency },
    overlap,
    ...(frontEnd ? { frontEnd } : {}),
    ...(server.batchWait ? { batchWait: server.batchWait } : {}),
  };
}

/** Replays one row the way it was measured and returns the mean TTFT and TPOT over its measured requests. */
export function replayRow(row: ReplayableRow, predictor: LocalPredictor, settings: ReplaySettings): ReplayResult {
  const method = settings.method ?? methodForRow(row, settings.slotSignatures);
  const wl = benchmarkWorkload(row, method, {
    ...(settings.seed !== undefined ? { seed: settings.seed } : {}),
    ...(settings.maxRequests !== undefined ? { maxRequests: settings.maxRequests } : {}),
  });
  const timing = timingFor(row, settings.timing);
  const frontEnd = method.trtllmServeFrontEnd ? (settings.timing?.frontEnd ?? TRTLLM_PYTORCH_TIMING.serveFrontEnd) : undefined;
  const engine = engineOptionsFor(row, method, wl.concurrency, timing.model === "overlap", frontEnd);
  const timed = withHostDeviceTiming(predictor, timing);
  const result = runSimulationSync(new Simulation(engine, wl.requests, { warmup: wl.warmup }), timed);
  const m = meanLatencies(result.requests);
  return { ttftMs: m.ttftMs, tpotMs: m.tpotMs, requests: m.finished, iterations: result.numIterations, engine, timing };
}

/** Builds (and caches per configuration) the device-time predictor of a row. */
export class RowPredictors {
  private readonly cache = new Map<string, Promise<LocalPredictor>>();
  constructor(private readonly settings: Pick<ReplaySettings, "predictor" | "systemsDir" | "backendVersion" | "predictorOptions">) {}

  get(row: ReplayableRow): Promise<LocalPredictor> {
    const cfg = predictorConfigFor(row, this.settings);
    const key = JSON.stringify([cfg, this.settings.predictorOptions?.overheads]);
    let p = this.cache.get(key);
    if (!p) {
      p = createPredictor(cfg, this.settings.predictorOptions ?? {}) as Promise<LocalPredictor>;
      this.cache.set(key, p);
    }
    return p;
  }
}
