import type { BatchPredictor, OpTime, SimBatch } from "@servesim/core";
import { InvalidArgumentError } from "@servesim/core";
import { type CatalogModel, type DescribePredictorResponse, type ListCatalogResponse, type PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import { type AicDatabase, openAicDatabase } from "./aic/database.js";
import { AicKernels } from "./aic/kernels.js";
import { CalibratedPredictor, validateCalibratedModel } from "./calibrated.js";
import { GPU_CATALOG, toGpuHardware } from "./catalog/gpus.js";
import { kvBytesPerTokenPerGpu, MODEL_CATALOG, paramCount, toModelArchitecture, weightBytesPerGpu } from "./catalog/models.js";
import { ComposedPredictor, type ComposeParams, type CtxAttentionMode } from "./compose.js";
import { ConstantPredictor } from "./constant.js";
import { dtypeFromPrecision } from "./dtypes.js";
import { defaultEfficiency, defaultOverheads, type Efficiency, type Overheads, ZERO_OVERHEADS } from "./efficiency.js";
import { buildPlan } from "./plan.js";
import { describeRun, type ResolvedRun, resolveRun } from "./resolve.js";
import { RooflineKernels } from "./roofline.js";

const positive = (v: number | undefined, dflt: number, field: string): number => {
  const x = v ?? dflt;
  if (!Number.isFinite(x) || x <= 0) throw new InvalidArgumentError(field, `must be a finite number > 0 (got ${x})`);
  return x;
};

const nonNegative = (v: number | undefined, dflt: number, field: string): number => {
  const x = v ?? dflt;
  if (!Number.isFinite(x) || x < 0) throw new InvalidArgumentError(field, `must be a finite number >= 0 (got ${x})`);
  return x;
};

function ctxAttentionMode(s: string): CtxAttentionMode {
  const v = s.trim().toLowerCase();
  if (v === "" || v === "grouped") return "grouped";
  if (v === "per-request" || v === "per_request") return "per-request";
  throw new InvalidArgumentError("config.ctx_attention", `must be "grouped" or "per-request" (got "${s}")`);
}

/** Scale factors, overheads (config values over the given defaults) and the context-attention mode. */
export function composeParams(config: PredictorConfig, defaults: Overheads = ZERO_OVERHEADS): ComposeParams {
  return {
    prefillScale: positive(config.prefillScaleFactor, 1, "config.prefill_scale_factor"),
    decodeScale: positive(config.decodeScaleFactor, 1, "config.decode_scale_factor"),
    stepOverheadUs: nonNegative(config.stepOverheadUs, defaults.stepUs, "config.step_overhead_us"),
    perRequestOverheadUs: nonNegative(config.perRequestOverheadUs, defaults.perRequestUs, "config.per_request_overhead_us"),
    perLayerOverheadUs: nonNegative(config.perLayerOverheadUs, defaults.perLayerUs, "config.per_layer_overhead_us"),
    ctxAttention: ctxAttentionMode(config.ctxAttention),
  };
}

/** Options not carried by PredictorConfig (library callers, validation, tests). */
export interface PredictorOptions {
  /** Roofline efficiency factors (default: the GPU family's calibrated set). Also the AIC fallback's. */
  efficiency?: Efficiency;
  /** Overhead defaults used where the config leaves them unset (default: the family's calibrated values). */
  overheads?: Overheads;
}

/** A local predictor (roofline, aic, calibrated): synchronous times and breakdowns, decode runs in O(count + steps). */
export interface LocalPredictor extends BatchPredictor {
  predict(batch: SimBatch): number;
  breakdown(batch: SimBatch): OpTime[];
  predictDecodeRun(pastKv: ArrayLike<number>, count: number, steps: number): number[];
}

function rooflinePredictor(config: PredictorConfig, opts: PredictorOptions): ComposedPredictor {
  const run = resolveRun(config);
  const plan = buildPlan(run);
  const kernels = new RooflineKernels(plan, opts.efficiency ?? defaultEfficiency(run.gpu));
  const params = composeParams(config, opts.overheads ?? defaultOverheads(run.gpu, "roofline"));
  return new ComposedPredictor(`roofline (${describeRun(run)})`, kernels, params);
}

/** The AIC system (table directory) name: device_name, else the GPU's name. */
function aicDevice(config: PredictorConfig, run: ResolvedRun): string {
  return config.deviceName.trim() || run.gpu.name;
}

async function aicPredictor(config: PredictorConfig, opts: PredictorOptions): Promise<ComposedPredictor> {
  const dir = config.databasePath.trim();
  if (!dir) throw new InvalidArgumentError("config.database_path", "required for the aic predictor (an AIConfigurator systems directory)");
  if (!config.backendVersion.trim()) throw new InvalidArgumentError("config.backend_version", "required for the aic predictor (e.g. 1.2.0rc5)");
  if (!config.deviceName.trim() && !config.gpu?.name?.trim()) {
    throw new InvalidArgumentError("config.device_name", "required for the aic predictor (the AIC system name, e.g. h100_sxm)");
  }
  const run = resolveRun(config, { systemsDir: dir });
  const db = await openAicDatabase(dir, aicDevice(config, run), config.backendVersion.trim(), { moe: run.model.family === "moe" });
  return aicPredictorWith(config, db, opts, run);
}

/**
 * An AIC predictor over an already opened database (in-memory rows in tests, or a shared instance).
 * `run` defaults to resolving the configuration.
 */
export function aicPredictorWith(
  config: PredictorConfig,
  db: AicDatabase,
  opts: PredictorOptions = {},
  run: ResolvedRun = resolveRun(config),
): ComposedPredictor {
  const plan = buildPlan(run);
  const fallback = new RooflineKernels(plan, opts.efficiency ?? defaultEfficiency(run.gpu));
  const kernels = new AicKernels(plan, db, fallback);
  const params = composeParams(config, opts.overheads ?? defaultOverheads(run.gpu, "aic"));
  const version = config.backendVersion.trim() || "?";
  const base = describeRun(run).replace(run.gpu.name, `${aicDevice(config, run)} trtllm ${version}`);
  return new ComposedPredictor(`aic (${base}; tables ${db.origin})`, kernels, params);
}

/** Validates a predictor configuration and builds the predictor it names. */
export async function createPredictor(config: PredictorConfig, opts: PredictorOptions = {}): Promise<BatchPredictor> {
  switch (config.kind) {
    case PredictorKind.PREDICTOR_KIND_CONSTANT:
      return new ConstantPredictor({
        prefillMs: positive(config.constantPrefillTimeMs, 10, "config.constant_prefill_time_ms"),
        decodeMs: positive(config.constantDecodeTimeMs, 5, "config.constant_decode_time_ms"),
        prefillScale: positive(config.prefillScaleFactor, 1, "config.prefill_scale_factor"),
        decodeScale: positive(config.decodeScaleFactor, 1, "config.decode_scale_factor"),
      });
    case PredictorKind.PREDICTOR_KIND_ROOFLINE:
      return rooflinePredictor(config, opts);
    case PredictorKind.PREDICTOR_KIND_AIC:
      return aicPredictor(config, opts);
    case PredictorKind.PREDICTOR_KIND_CALIBRATED:
      return new CalibratedPredictor(validateCalibratedModel(config.calibrated), composeParams(config));
    case PredictorKind.PREDICTOR_KIND_UNSPECIFIED:
      throw new InvalidArgumentError("config.kind", "predictor kind is required (constant, roofline, aic or calibrated)");
    default:
      throw new InvalidArgumentError("config.kind", `unknown predictor kind ${String(config.kind)}`);
  }
}

/**
 * Times of `steps` decode-only iterations (step i: every request at pastKv[j] + i). Uses the predictor's
 * own O(count + steps) method when it has one, else prices each step as a batch.
 */
export async function predictDecodeRun(predictor: BatchPredictor, pastKv: ArrayLike<number>, count: number, steps: number): Promise<number[]> {
  const fast = (predictor as Partial<LocalPredictor>).predictDecodeRun;
  if (typeof fast === "function") return fast.call(predictor, pastKv, count, steps);
  const past = new Array<number>(count);
  const ones = new Array<number>(count).fill(1);
  const batch: SimBatch = { numContext: 0, numGeneration: count, inputLength: ones, pastKvLength: past, numContextTokens: 0 };
  const out: number[] = [];
  for (let s = 0; s < steps; s++) {
    for (let j = 0; j < count; j++) past[j] = pastKv[j]! + s;
    out.push(await predictor.predict(batch));
  }
  return out;
}

const KIND_NAMES: Record<number, string> = {
  [PredictorKind.PREDICTOR_KIND_CONSTANT]: "constant",
  [PredictorKind.PREDICTOR_KIND_ROOFLINE]: "roofline",
  [PredictorKind.PREDICTOR_KIND_AIC]: "aic",
  [PredictorKind.PREDICTOR_KIND_CALIBRATED]: "calibrated",
};

/**
 * Resolves a configuration without pricing anything (DescribePredictor). Model/GPU fields are filled when
 * the configuration names them (always for roofline and aic). Does not read AIC tables.
 */
export function describePredictor(config: PredictorConfig): DescribePredictorResponse {
  const kind = KIND_NAMES[config.kind];
  if (kind === undefined) throw new InvalidArgumentError("config.kind", "predictor kind is required (constant, roofline, aic or calibrated)");
  const needsRun = config.kind === PredictorKind.PREDICTOR_KIND_ROOFLINE || config.kind === PredictorKind.PREDICTOR_KIND_AIC;
  const hasRun = (config.model?.name || config.model?.inline) && (config.gpu?.name || config.gpu?.inline || config.deviceName);
  if (config.kind === PredictorKind.PREDICTOR_KIND_CALIBRATED) validateCalibratedModel(config.calibrated);
  composeParams(config);
  if (!needsRun && !hasRun) {
    return {
      description: kind,
      paramCount: 0,
      weightBytesPerGpu: 0,
      kvBytesPerTokenPerGpu: 0,
      weightDtype: 0,
      kvCacheDtype: 0,
    };
  }
  const run = resolveRun(config, config.databasePath ? { systemsDir: config.databasePath } : {});
  let description = `${kind} (${describeRun(run)})`;
  if (config.kind === PredictorKind.PREDICTOR_KIND_AIC) {
    const device = aicDevice(config, run);
    description = `aic (${describeRun(run).replace(run.gpu.name, `${device} trtllm ${config.backendVersion}`)})`;
  }
  return { description, ...resolvedRunFacts(run) };
}

/** What DescribePredictor reports about a resolved model, GPU and parallelism (all but the description). */
export function resolvedRunFacts(run: ResolvedRun): Omit<DescribePredictorResponse, "description"> {
  return {
    model: toModelArchitecture(run.model),
    gpu: toGpuHardware(run.gpu),
    paramCount: paramCount(run.model),
    weightBytesPerGpu: weightBytesPerGpu(run.model, run.weightDtype, run.tp, run.pp),
    kvBytesPerTokenPerGpu: kvBytesPerTokenPerGpu(run.model, run.kvDtype, run.tp, run.pp),
    weightDtype: dtypeFromPrecision(run.weightDtype),
    kvCacheDtype: dtypeFromPrecision(run.kvDtype),
  };
}

/** Everything built in (ListCatalog): predictor kinds, models (one entry per default precision) and GPUs. */
export function listCatalog(): ListCatalogResponse {
  const models: CatalogModel[] = [];
  for (const e of MODEL_CATALOG) {
    models.push({
      name: e.spec.name,
      aliases: e.aliases,
      architecture: toModelArchitecture(e.spec),
      paramCount: paramCount(e.spec),
      defaultWeightDtype: dtypeFromPrecision("bf16"),
      defaultKvCacheDtype: dtypeFromPrecision("bf16"),
    });
    const quantized = e.quantizedAliases.filter((q) => q.id.includes("/"));
    for (const q of quantized) {
      models.push({
        name: q.id.slice(q.id.indexOf("/") + 1),
        aliases: [q.id],
        architecture: toModelArchitecture(e.spec),
        paramCount: paramCount(e.spec),
        defaultWeightDtype: dtypeFromPrecision(q.weight),
        defaultKvCacheDtype: dtypeFromPrecision(q.kv),
      });
    }
  }
  return {
    predictors: [
      PredictorKind.PREDICTOR_KIND_CONSTANT,
      PredictorKind.PREDICTOR_KIND_ROOFLINE,
      PredictorKind.PREDICTOR_KIND_AIC,
      PredictorKind.PREDICTOR_KIND_CALIBRATED,
    ],
    models,
    gpus: GPU_CATALOG.map((g) => ({ name: g.name, hardware: toGpuHardware(g) })),
  };
}
