import { basename } from "node:path";
import { InvalidArgumentError, parsePercentiles, parseSlos } from "@servesim/core";
import { dtypeFromPrecision, GPU_CATALOG, loadHfConfig, toInlineArchitecture } from "@servesim/perf";
import { CHUNKING_POLICY_BY_NAME, SCHEDULER_POLICY_BY_NAME, sloToWire } from "@servesim/wire";
import { DType, type PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import {
  BenchmarkMode,
  ChunkingPolicy,
  type ClusterSpec,
  type EngineConfig,
  type JobSpec,
  RampUpStrategy,
  type ReportOptions,
  SchedulerPolicy,
  SessionMode,
  TimingModel,
} from "@servesim/wire/scheduler";
import { CliError } from "./cliError.js";
import { type DatasetFile, type DatasetFlags, datasetWorkload } from "./datasetFile.js";
import { readLlmApiOptions } from "./llmApiOptions.js";
import type { PredictorDraft } from "./predictorDraft.js";
import { dtypeByName, PREDICTOR_NAMES, predictorKind } from "./predictorNames.js";
import { readSimConfig } from "./simConfig.js";

/** `servesim throughput` flags as commander parses them (camelCase). */
export interface ThroughputFlags extends DatasetFlags {
  model?: string;
  modelPath?: string;
  gpu?: string;
  tp?: number;
  pp?: number;
  ep?: number;
  maxBatchSize?: number;
  maxNumTokens?: number;
  maxSeqLen?: number;
  schedulerPolicy?: string;
  enableChunkedContext?: boolean;
  disableChunkedContext?: boolean;
  chunkingPolicy?: string;
  tokensPerBlock?: number;
  kvCacheMaxTokens?: number;
  kvNumBlocks?: number;
  kvCacheFreeGpuMemFraction?: number;
  enableBlockReuse?: boolean;
  disableBlockReuse?: boolean;
  enableOverlapScheduler?: boolean;
  disableOverlapScheduler?: boolean;
  enableCudaGraphs?: boolean;
  disableCudaGraphs?: boolean;
  timingModel?: string;
  hostStepUs?: number;
  serveFrontEnd?: boolean;
  frontEndPerResponseUs?: number;
  frontEndPerPromptTokenUs?: number;
  frontEndPerRequestUs?: number;
  hostPerRequestUs?: number;
  hostLaunchUsPerLayer?: number;
  concurrency?: number;
  requestRate?: number;
  /** vLLM's --max-concurrency: --concurrency under its other name. */
  maxConcurrency?: number;
  burstiness?: number;
  rampUpStrategy?: string;
  rampUpStartRps?: number;
  rampUpEndRps?: number;
  /** --trace: replay the dataset's timestamps. */
  trace?: boolean;
  traceSpeedup?: number;
  sessionMode?: string;
  numRequests?: number;
  seed?: number;
  warmup?: number;
  quantization?: string;
  kvCacheDtype?: string;
  predictor?: string;
  constantPrefillTimeMs?: number;
  constantDecodeTimeMs?: number;
  databasePath?: string;
  backendVersion?: string;
  simConfig?: string;
  extraLlmApiOptions?: string;
  beamWidth?: number;
  backend?: string;
  name?: string;
  /** trtllm-bench --target_input_len / --target_output_len (the heuristic's average lengths). */
  targetInputLen?: number;
  targetOutputLen?: number;
  /** Set by `servesim latency`. */
  benchmark?: "throughput" | "latency";
  /** --goodput terms (vLLM's KEY:VALUE, milliseconds), e.g. ["ttft:300", "tpot:25"]. */
  goodput?: string[];
  /** --percentiles "50,90,99,99.9". */
  percentiles?: string;
  /** --instances N: an aggregated cluster of N instances behind --router. */
  instances?: number;
  /** --router: the aggregated cluster's router (round_robin, least_loaded, least_kv_usage, kv_aware). */
  router?: string;
}

/** --concurrency or its vLLM name --max-concurrency (0: unlimited). */
function concurrencyFlag(f: ThroughputFlags): number {
  const c = f.concurrency !== undefined && f.concurrency > 0 ? f.concurrency : 0;
  if (f.maxConcurrency === undefined) return c;
  if (c > 0 && c !== f.maxConcurrency) throw new CliError(`--max-concurrency ${f.maxConcurrency} contradicts --concurrency ${c} (the same setting)`);
  return f.maxConcurrency;
}

const RAMP_UP_STRATEGIES: Record<string, RampUpStrategy> = {
  linear: RampUpStrategy.RAMP_UP_STRATEGY_LINEAR,
  exponential: RampUpStrategy.RAMP_UP_STRATEGY_EXPONENTIAL,
};
const SESSION_MODES: Record<string, SessionMode> = {
  "closed-loop": SessionMode.SESSION_MODE_CLOSED_LOOP,
  independent: SessionMode.SESSION_MODE_INDEPENDENT,
};

/** --burstiness, --ramp-up-*, --trace, --trace-speedup, --session-mode into the engine settings. */
function arrivalFlags(f: ThroughputFlags, engine: EngineConfig): void {
  if (f.burstiness !== undefined) engine.burstiness = f.burstiness;
  const ramp = [f.rampUpStrategy, f.rampUpStartRps, f.rampUpEndRps];
  if (ramp.some((v) => v !== undefined)) {
    if (ramp.some((v) => v === undefined)) throw new CliError("--ramp-up-strategy, --ramp-up-start-rps and --ramp-up-end-rps go together");
    const strategy = lookup(RAMP_UP_STRATEGIES, f.rampUpStrategy!, "--ramp-up-strategy", (s) => s.toLowerCase());
    engine.rampUp = { strategy, startRps: f.rampUpStartRps!, endRps: f.rampUpEndRps! };
  }
  if (f.trace) engine.replayTimestamps = true;
  if (f.traceSpeedup !== undefined) {
    if (!f.trace) throw new CliError("--trace-speedup needs --trace (it scales the replayed timestamps)");
    engine.traceSpeedup = f.traceSpeedup;
  }
  if (f.sessionMode !== undefined) engine.sessionMode = lookup(SESSION_MODES, f.sessionMode, "--session-mode", (s) => s.toLowerCase());
}

/** --goodput and --percentiles as JobSpec.report (undefined when neither is given). */
export function reportOptions(f: Pick<ThroughputFlags, "goodput" | "percentiles">): ReportOptions | undefined {
  if (f.goodput === undefined && f.percentiles === undefined) return undefined;
  return {
    percentiles: f.percentiles !== undefined ? parsePercentiles(f.percentiles, "--percentiles") : [],
    goodput: parseSlos(f.goodput ?? [], "--goodput").map(sloToWire),
  };
}

export interface BuiltJob {
  spec: JobSpec;
  /** The dataset file: its bytes are streamed to wherever the job is resolved. */
  dataset: DatasetFile;
  /** Remarks for stderr (unknown YAML keys, settings without effect). */
  warnings: string[];
}

/** The constant predictor's defaults (TensorRT-LLM PR #12700). */
const DEFAULT_PREFILL_MS = 10;
const DEFAULT_DECODE_MS = 5;

const SCHEDULER_POLICIES = SCHEDULER_POLICY_BY_NAME;
/** --timing-model values (docs/timing.md). */
const TIMING_MODELS: Record<string, TimingModel> = {
  "whole-iteration": TimingModel.TIMING_MODEL_WHOLE_ITERATION,
  "host-device": TimingModel.TIMING_MODEL_HOST_DEVICE,
};
const CHUNKING_POLICIES = CHUNKING_POLICY_BY_NAME;
const QUANTIZATION: Record<string, DType> = {
  NONE: DType.D_TYPE_UNSPECIFIED,
  FP8: DType.D_TYPE_FP8,
  NVFP4: DType.D_TYPE_NVFP4,
};

function lookup<T>(table: Readonly<Record<string, T>>, value: string, flag: string, normalise: (s: string) => string): T {
  const hit = table[normalise(value.trim())];
  if (hit === undefined) throw new CliError(`${flag} must be ${Object.keys(table).join(", ")} (got ${JSON.stringify(value)})`);
  return hit;
}

function pair(on: boolean | undefined, off: boolean | undefined, name: string): boolean | undefined {
  if (on && off) throw new CliError(`--enable-${name} and --disable-${name} contradict each other`);
  return on ? true : off ? false : undefined;
}

/** --model-path: the checkpoint's config.json, sent inline so a remote service need not read it. */
function modelFromPath(path: string, name: string | undefined): { config: PredictorConfig["model"]; kv?: DType } {
  try {
    const hf = loadHfConfig(path);
    // The checkpoint's per-group precisions travel in the architecture (weight_precisions).
    const arch = toInlineArchitecture(hf);
    arch.name = name ?? hf.spec.name;
    return { config: { inline: arch }, ...(hf.kv ? { kv: dtypeFromPrecision(hf.kv) } : {}) };
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw new CliError(`--model-path ${path}: ${e.reason}`);
    throw e;
  }
}

function predictorConfig(d: PredictorDraft, model: PredictorConfig["model"]): PredictorConfig {
  const c: PredictorConfig = {
    kind: d.kind ?? PredictorKind.PREDICTOR_KIND_UNSPECIFIED,
    deviceName: d.deviceName ?? "",
    databasePath: d.databasePath ?? "",
    backendVersion: d.backendVersion ?? "",
    weightDtype: d.weightDtype ?? DType.D_TYPE_UNSPECIFIED,
    kvCacheDtype: d.kvCacheDtype ?? DType.D_TYPE_UNSPECIFIED,
    ctxAttention: d.ctxAttention ?? "",
    parallelism: {
      tp: d.tp ?? 1,
      pp: d.pp ?? 1,
      ep: d.ep ?? 1,
      ...(d.moeTp !== undefined ? { moeTp: d.moeTp } : {}),
      ...(d.attentionDp !== undefined ? { attentionDp: d.attentionDp } : {}),
    },
  };
  if (d.moeDistribution !== undefined || d.eplb !== undefined || d.moeCommunication !== undefined) {
    c.moe = { distribution: d.moeDistribution ?? "", eplb: d.eplb ?? false, communication: d.moeCommunication ?? "" };
  }
  if (d.nearestTableVersion !== undefined) c.nearestTableVersion = d.nearestTableVersion;
  if (model) c.model = model;
  if (d.gpu) c.gpu = { name: d.gpu };
  if (d.constantPrefillTimeMs !== undefined) c.constantPrefillTimeMs = d.constantPrefillTimeMs;
  if (d.constantDecodeTimeMs !== undefined) c.constantDecodeTimeMs = d.constantDecodeTimeMs;
  if (d.prefillScaleFactor !== undefined) c.prefillScaleFactor = d.prefillScaleFactor;
  if (d.decodeScaleFactor !== undefined) c.decodeScaleFactor = d.decodeScaleFactor;
  if (d.stepOverheadUs !== undefined) c.stepOverheadUs = d.stepOverheadUs;
  if (d.perRequestOverheadUs !== undefined) c.perRequestOverheadUs = d.perRequestOverheadUs;
  if (d.perLayerOverheadUs !== undefined) c.perLayerOverheadUs = d.perLayerOverheadUs;
  if (d.calibrated) c.calibrated = d.calibrated;
  return c;
}

/**
 * Builds the one JobSpec every mode runs (embedded, remote predictor, scheduler job) from the flags,
 * --sim-config (predictor; flags win) and --extra-llm-api-options (engine; the file wins, as in
 * trtllm-bench). The dataset is streamed (the spec names it and its format); --model-path goes in twice: as
 * the inline architecture read here and as JobSpec.model_path (the report's "Model Path").
 */
export function buildJobSpec(f: ThroughputFlags): BuiltJob {
  const warnings: string[] = [];
  if (f.backend !== undefined && f.backend.trim().toLowerCase() !== "pytorch") {
    throw new CliError(`--backend ${f.backend}: only the pytorch backend is simulated`);
  }
  if (f.beamWidth !== undefined && f.beamWidth !== 1) throw new CliError(`--beam-width ${f.beamWidth}: only beam width 1 is simulated`);

  const dataset = datasetWorkload(f);
  const draft: PredictorDraft = {};
  let cluster: ClusterSpec | undefined;
  if (f.simConfig) {
    const sim = readSimConfig(f.simConfig);
    Object.assign(draft, sim.predictor);
    warnings.push(...sim.warnings);
    cluster = sim.cluster;
  }
  if (f.instances !== undefined) {
    if (!Number.isInteger(f.instances) || f.instances < 1) throw new CliError(`--instances must be an integer >= 1 (got ${f.instances})`);
    if (cluster?.prefill !== undefined) throw new CliError("--instances makes an aggregated cluster; the --sim-config file describes a disaggregated one");
    cluster = { ...(cluster ?? {}), aggregated: [{ numWorkers: f.instances }] };
  }
  if (f.router !== undefined) {
    if (cluster === undefined || cluster.aggregated.length === 0)
      throw new CliError(
        "--router places requests on the instances of an aggregated cluster: give --instances (disaggregated pools set their routers in --sim-config)",
      );
    cluster.router = { type: f.router, weights: cluster.router?.weights ?? {} };
  }
  if (f.predictor !== undefined) {
    const kind = predictorKind(f.predictor);
    if (kind === undefined) throw new CliError(`--predictor must be ${PREDICTOR_NAMES} (got ${JSON.stringify(f.predictor)})`);
    draft.kind = kind;
  }
  if (f.gpu) draft.gpu = f.gpu;
  if (f.tp !== undefined) draft.tp = f.tp;
  if (f.pp !== undefined) draft.pp = f.pp;
  if (f.ep !== undefined) draft.ep = f.ep;
  if (f.databasePath) draft.databasePath = f.databasePath;
  if (f.backendVersion) draft.backendVersion = f.backendVersion;
  if (f.constantPrefillTimeMs !== undefined) draft.constantPrefillTimeMs = f.constantPrefillTimeMs;
  if (f.constantDecodeTimeMs !== undefined) draft.constantDecodeTimeMs = f.constantDecodeTimeMs;

  // Without a GPU only the constant predictor can run: it must be asked for (--predictor constant, its
  // times, or a --sim-config), never fallen into.
  const asksConstant = draft.constantPrefillTimeMs !== undefined || draft.constantDecodeTimeMs !== undefined;
  if (draft.kind === undefined && draft.gpu === undefined && !draft.deviceName && !asksConstant) {
    throw new CliError(
      `no GPU to predict batch times for: give --gpu (${GPU_CATALOG.map((g) => g.name).join(", ")}, or an AIConfigurator system YAML), or --predictor constant for fixed ${DEFAULT_PREFILL_MS} ms prefill / ${DEFAULT_DECODE_MS} ms decode batches`,
    );
  }

  let model: PredictorConfig["model"];
  if (f.modelPath) {
    const m = modelFromPath(f.modelPath, f.model);
    model = m.config;
    if (m.kv !== undefined && draft.kvCacheDtype === undefined) draft.kvCacheDtype = m.kv;
  } else {
    const name = f.model ?? draft.model;
    if (name) model = { name };
  }
  if (f.quantization !== undefined) {
    const q = lookup(QUANTIZATION, f.quantization, "--quantization", (s) => s.toUpperCase());
    if (q !== DType.D_TYPE_UNSPECIFIED || draft.weightDtype === undefined) draft.weightDtype = q;
  }
  if (f.kvCacheDtype !== undefined) {
    const dt = dtypeByName(f.kvCacheDtype);
    if (dt === undefined || dt === DType.D_TYPE_NVFP4)
      throw new CliError(`--kv-cache-dtype must be auto, bf16, fp16 or fp8 (got ${JSON.stringify(f.kvCacheDtype)})`);
    draft.kvCacheDtype = dt;
  }

  const engine: EngineConfig = {
    schedulerPolicy: SchedulerPolicy.SCHEDULER_POLICY_UNSPECIFIED,
    chunkingPolicy: ChunkingPolicy.CHUNKING_POLICY_UNSPECIFIED,
    concurrency: concurrencyFlag(f),
    requestRate: f.requestRate ?? 0,
    seed: f.seed ?? 0,
    numRequests: f.numRequests ?? 0,
    benchmark: f.benchmark === "latency" ? BenchmarkMode.BENCHMARK_MODE_LATENCY : BenchmarkMode.BENCHMARK_MODE_UNSPECIFIED,
    timingModel: TimingModel.TIMING_MODEL_UNSPECIFIED,
    replayTimestamps: false,
    traceSpeedup: 0,
    sessionMode: SessionMode.SESSION_MODE_UNSPECIFIED,
  };
  arrivalFlags(f, engine);
  if (f.targetInputLen !== undefined) engine.targetInputLen = f.targetInputLen;
  if (f.targetOutputLen !== undefined) engine.targetOutputLen = f.targetOutputLen;
  if (f.maxBatchSize !== undefined) engine.maxBatchSize = f.maxBatchSize;
  if (f.maxNumTokens !== undefined) engine.maxNumTokens = f.maxNumTokens;
  if (f.maxSeqLen !== undefined) engine.maxSeqLen = f.maxSeqLen;
  if (f.schedulerPolicy !== undefined) engine.schedulerPolicy = lookup(SCHEDULER_POLICIES, f.schedulerPolicy, "--scheduler-policy", (s) => s.toLowerCase());
  if (f.chunkingPolicy !== undefined) engine.chunkingPolicy = lookup(CHUNKING_POLICIES, f.chunkingPolicy, "--chunking-policy", (s) => s.toLowerCase());
  const chunked = pair(f.enableChunkedContext, f.disableChunkedContext, "chunked-context");
  if (chunked !== undefined) engine.enableChunkedContext = chunked;
  const reuse = pair(f.enableBlockReuse, f.disableBlockReuse, "block-reuse");
  if (reuse !== undefined) engine.enableBlockReuse = reuse;
  const overlap = pair(f.enableOverlapScheduler, f.disableOverlapScheduler, "overlap-scheduler");
  if (overlap !== undefined) engine.disableOverlapScheduler = !overlap;
  const graphs = pair(f.enableCudaGraphs, f.disableCudaGraphs, "cuda-graphs");
  if (graphs !== undefined) engine.disableCudaGraphs = !graphs;
  if (f.timingModel !== undefined) engine.timingModel = lookup(TIMING_MODELS, f.timingModel, "--timing-model", (s) => s.toLowerCase());
  if (f.hostStepUs !== undefined || f.hostPerRequestUs !== undefined || f.hostLaunchUsPerLayer !== undefined) {
    engine.hostCost = {
      ...(f.hostStepUs !== undefined ? { stepUs: f.hostStepUs } : {}),
      ...(f.hostPerRequestUs !== undefined ? { perRequestUs: f.hostPerRequestUs } : {}),
      ...(f.hostLaunchUsPerLayer !== undefined ? { launchUsPerLayer: f.hostLaunchUsPerLayer } : {}),
    };
  }
  if (f.serveFrontEnd === true || f.frontEndPerResponseUs !== undefined || f.frontEndPerPromptTokenUs !== undefined || f.frontEndPerRequestUs !== undefined) {
    engine.frontEnd = {
      ...(f.frontEndPerResponseUs !== undefined ? { perResponseUs: f.frontEndPerResponseUs } : {}),
      ...(f.frontEndPerPromptTokenUs !== undefined ? { perPromptTokenUs: f.frontEndPerPromptTokenUs } : {}),
      ...(f.frontEndPerRequestUs !== undefined ? { perRequestUs: f.frontEndPerRequestUs } : {}),
    };
  }
  if (f.tokensPerBlock !== undefined) engine.tokensPerBlock = f.tokensPerBlock;
  if (f.kvCacheMaxTokens !== undefined) engine.kvCacheMaxTokens = f.kvCacheMaxTokens;
  if (f.kvNumBlocks !== undefined) engine.kvNumBlocks = f.kvNumBlocks;
  if (f.kvCacheFreeGpuMemFraction !== undefined) engine.kvCacheFreeGpuMemFraction = f.kvCacheFreeGpuMemFraction;
  if (f.warmup !== undefined) engine.warmup = f.warmup;

  if (f.extraLlmApiOptions) {
    const extra = readLlmApiOptions(f.extraLlmApiOptions);
    Object.assign(engine, extra.engine);
    if (extra.kvCacheDtype !== undefined) draft.kvCacheDtype = extra.kvCacheDtype;
    Object.assign(draft, extra.predictor);
    warnings.push(...extra.warnings);
  }

  const spec: JobSpec = {
    name: f.name ?? `${f.benchmark ?? "throughput"} ${basename(f.dataset)}`,
    engine,
    predictor: predictorConfig(draft, model),
    workload: { dataset: dataset.workload },
    modelPath: f.modelPath ?? "",
  };
  const report = reportOptions(f);
  if (report) spec.report = report;
  if (cluster) spec.cluster = cluster;
  return { spec, warnings, dataset: dataset.file };
}
