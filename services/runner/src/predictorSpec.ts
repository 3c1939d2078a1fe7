import { InvalidArgumentError } from "@servesim/core";
import type { GpuSpec, ModelSpec } from "@servesim/perf";
import {
  describePredictor,
  dtypeFromPrecision,
  type Precision,
  precisionFromDType,
  predictorEntryOf,
  predictorNameList,
  type ResolvedRun,
  resolveGpu,
  resolveModel,
  resolveRun,
} from "@servesim/perf";
import { DType, type PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import { underPredictor, withFieldPath } from "./fields.js";

/** A predictor kind's registry name (constant, roofline, aic, calibrated, ...). */
export type PredictorKindName = string;

/** The job's predictor configuration, completed, plus what it says about the model and the GPU. */
export interface ResolvedPredictor {
  /** Sent to the predictor: kind, parallelism and (when a model is known) dtypes filled in. */
  config: PredictorConfig;
  kind: PredictorKindName;
  /** The model as the job names it (catalog name, Hugging Face id, config path or inline name); null without one. */
  modelName: string | null;
  model?: ModelSpec;
  gpu?: GpuSpec;
  tp: number;
  pp: number;
  ep: number;
  /** Known when a model is. */
  weightDtype?: Precision;
  kvDtype?: Precision;
  /** The resolved model, GPU, parallelism and precisions, when the job names a model and a GPU. */
  run?: ResolvedRun;
}

const FIELD = "spec.predictor";

function parallelism(v: number | undefined, field: string): number {
  const x = v === undefined || v === 0 ? 1 : v;
  if (!Number.isInteger(x) || x < 1 || x > 4096) throw new InvalidArgumentError(field, `must be an integer in [1, 4096] (got ${v})`);
  return x;
}

function dtypeOf(d: DType, field: string): Precision | undefined {
  if (d === DType.D_TYPE_UNSPECIFIED) return undefined;
  const p = precisionFromDType(d);
  if (p === undefined) throw new InvalidArgumentError(field, `unknown dtype ${String(d)}`);
  return p;
}

const hasModel = (c: PredictorConfig): boolean => Boolean(c.model?.inline || c.model?.name?.trim());
const hasGpu = (c: PredictorConfig): boolean => Boolean(c.gpu?.inline || c.gpu?.name?.trim() || c.deviceName.trim());

/**
 * Defaults: kind roofline when the job names a model and a GPU, else constant; TP/PP/EP 1; dtypes from
 * the model (quantized checkpoints imply FP8). Rejects unknown models and GPUs, and
 * anything the predictor factory would reject, with `spec.predictor.*` field paths.
 */
/** The optional numbers of a predictor config: finite and >= 0 (scale factors > 0), checked at submission. */
function checkNumbers(c: PredictorConfig): void {
  const fields: Array<[string, number | undefined, boolean]> = [
    ["constant_prefill_time_ms", c.constantPrefillTimeMs, false],
    ["constant_decode_time_ms", c.constantDecodeTimeMs, false],
    ["prefill_scale_factor", c.prefillScaleFactor, true],
    ["decode_scale_factor", c.decodeScaleFactor, true],
    ["step_overhead_us", c.stepOverheadUs, false],
    ["per_request_overhead_us", c.perRequestOverheadUs, false],
    ["per_layer_overhead_us", c.perLayerOverheadUs, false],
  ];
  for (const [name, v, strictlyPositive] of fields) {
    if (v === undefined) continue;
    if (!Number.isFinite(v) || v < 0 || (strictlyPositive && v === 0)) {
      throw new InvalidArgumentError(`${FIELD}.${name}`, `must be a finite number ${strictlyPositive ? "> 0" : ">= 0"} (got ${v})`);
    }
  }
}

export function resolvePredictorSpec(spec: PredictorConfig | undefined): ResolvedPredictor {
  const given: PredictorConfig = spec ?? {
    kind: PredictorKind.PREDICTOR_KIND_UNSPECIFIED,
    deviceName: "",
    databasePath: "",
    backendVersion: "",
    weightDtype: 0,
    kvCacheDtype: 0,
    ctxAttention: "",
  };
  const kindValue =
    given.kind === PredictorKind.PREDICTOR_KIND_UNSPECIFIED
      ? hasModel(given) && hasGpu(given)
        ? PredictorKind.PREDICTOR_KIND_ROOFLINE
        : PredictorKind.PREDICTOR_KIND_CONSTANT
      : given.kind;
  const entry = predictorEntryOf(kindValue);
  if (entry === undefined) throw new InvalidArgumentError(`${FIELD}.kind`, `unknown predictor kind ${String(given.kind)} (${predictorNameList()})`);
  const kind = entry.name;
  checkNumbers(given);

  const tp = parallelism(given.parallelism?.tp, `${FIELD}.parallelism.tp`);
  const pp = parallelism(given.parallelism?.pp, `${FIELD}.parallelism.pp`);
  const ep = parallelism(given.parallelism?.ep, `${FIELD}.parallelism.ep`);
  const config: PredictorConfig = { ...given, kind: kindValue, parallelism: { ...given.parallelism, tp, pp, ep } };
  const rename = underPredictor(FIELD);
  const systemsDir = config.databasePath.trim() || undefined;
  const out: ResolvedPredictor = { config, kind, modelName: null, tp, pp, ep };
  if (config.model?.inline) out.modelName = config.model.inline.name || "inline model";
  else if (config.model?.name?.trim()) out.modelName = config.model.name.trim();

  withFieldPath(rename, () => {
    if (hasModel(config) && hasGpu(config)) {
      const run = resolveRun(config, systemsDir ? { systemsDir } : {});
      Object.assign(out, { model: run.model, gpu: run.gpu, weightDtype: run.weightDtype, kvDtype: run.kvDtype, run });
    } else {
      if (entry.needsModelAndGpu) {
        // resolveRun names the missing part (model or GPU).
        resolveRun(config, systemsDir ? { systemsDir } : {});
      }
      if (hasModel(config)) {
        const m = resolveModel(config);
        const weight = dtypeOf(config.weightDtype, "config.weight_dtype") ?? m.weight ?? "bf16";
        const kv = dtypeOf(config.kvCacheDtype, "config.kv_cache_dtype") ?? m.kv ?? (weight === "fp8" || weight === "nvfp4" ? "fp8" : "bf16");
        Object.assign(out, { model: m.spec, weightDtype: weight, kvDtype: kv });
      }
      if (hasGpu(config)) out.gpu = resolveGpu(config, systemsDir ? { systemsDir } : {});
    }
    // Kind-specific checks (scale factors, overheads, calibrated coefficients, aic settings).
    describePredictor(config);
  });
  if (out.weightDtype !== undefined) config.weightDtype = dtypeFromPrecision(out.weightDtype);
  if (out.kvDtype !== undefined) config.kvCacheDtype = dtypeFromPrecision(out.kvDtype);
  return out;
}
