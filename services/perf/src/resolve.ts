import { existsSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError } from "@servesim/core";
import { DType, type PredictorConfig } from "@servesim/wire/predictor";
import { isConfigPath, loadHfConfig, modelFromArchitecture } from "./catalog/architecture.js";
import { GPU_CATALOG, type GpuSpec, gpuFromHardware, gpuFromYaml, lookupGpu, peakFlops } from "./catalog/gpus.js";
import { lookupModel, MODEL_CATALOG, type ModelSpec } from "./catalog/models.js";
import { type Precision, precisionFromDType } from "./dtypes.js";

/** A predictor configuration with model, GPU, parallelism and precisions resolved and validated. */
export interface ResolvedRun {
  model: ModelSpec;
  gpu: GpuSpec;
  tp: number;
  pp: number;
  /** Expert parallelism inside the TP group (MoE only; moe_tp = tp / ep). */
  ep: number;
  weightDtype: Precision;
  kvDtype: Precision;
}

export interface ResolveOptions {
  /** AIC systems directory: `<dir>/<name>.yaml` is tried for GPU names outside the catalog. */
  systemsDir?: string;
}

export interface ResolvedModel {
  spec: ModelSpec;
  weight?: Precision;
  kv?: Precision;
}

export function resolveModel(config: PredictorConfig): ResolvedModel {
  const ref = config.model;
  if (ref?.inline) return { spec: modelFromArchitecture(ref.inline) };
  const name = ref?.name?.trim();
  if (!name) throw new InvalidArgumentError("config.model", "required: a catalog name, a Hugging Face id, a config.json path or an inline architecture");
  const hit = lookupModel(name);
  if (hit) return hit;
  if (isConfigPath(name)) return loadHfConfig(name);
  const known = MODEL_CATALOG.map((m) => m.spec.name).join(", ");
  throw new InvalidArgumentError("config.model", `unknown model "${name}" (built in: ${known}; or give a path to a Hugging Face config.json)`);
}

export function resolveGpu(config: PredictorConfig, opts: ResolveOptions = {}): GpuSpec {
  const ref = config.gpu;
  if (ref?.inline) return gpuFromHardware(ref.inline);
  const name = ref?.name?.trim() || config.deviceName.trim();
  const field = ref?.name?.trim() ? "config.gpu" : "config.device_name";
  if (!name) throw new InvalidArgumentError("config.gpu", "required: a GPU name (h100_sxm, ...), a system YAML path, inline hardware, or device_name");
  const hit = lookupGpu(name);
  if (hit) return hit;
  if (/\.ya?ml$/i.test(name) || name.includes("/")) {
    if (!existsSync(name)) throw new InvalidArgumentError(field, `${name}: no such system YAML`);
    return gpuFromYaml(name);
  }
  if (opts.systemsDir) {
    const candidate = join(opts.systemsDir, `${name}.yaml`);
    if (existsSync(candidate)) return gpuFromYaml(candidate);
  }
  const known = GPU_CATALOG.map((g) => g.name).join(", ");
  throw new InvalidArgumentError(field, `unknown GPU "${name}" (built in: ${known}; or give a path to an AIConfigurator system YAML)`);
}

function dtypeField(d: DType, field: string): Precision | undefined {
  if (d === DType.D_TYPE_UNSPECIFIED) return undefined;
  const p = precisionFromDType(d);
  if (p === undefined) throw new InvalidArgumentError(field, `unknown dtype ${String(d)}`);
  return p;
}

const positiveInt = (v: number | undefined, field: string): number => {
  const x = v === undefined || v === 0 ? 1 : v;
  if (!Number.isInteger(x) || x < 1) throw new InvalidArgumentError(field, `must be a positive integer (got ${v})`);
  return x;
};

/** Resolves model, GPU, parallelism and precisions of a predictor configuration, with field-named errors. */
export function resolveRun(config: PredictorConfig, opts: ResolveOptions = {}): ResolvedRun {
  const model = resolveModel(config);
  const gpu = resolveGpu(config, opts);
  const spec = model.spec;

  const tp = positiveInt(config.parallelism?.tp, "config.parallelism.tp");
  const pp = positiveInt(config.parallelism?.pp, "config.parallelism.pp");
  const ep = positiveInt(config.parallelism?.ep, "config.parallelism.ep");
  if (spec.numHeads % tp !== 0) {
    throw new InvalidArgumentError("config.parallelism.tp", `${spec.name} has ${spec.numHeads} attention heads, not divisible by TP ${tp}`);
  }
  if (spec.intermediate % tp !== 0) {
    throw new InvalidArgumentError("config.parallelism.tp", `${spec.name} intermediate size ${spec.intermediate} is not divisible by TP ${tp}`);
  }
  if (pp > spec.numLayers) throw new InvalidArgumentError("config.parallelism.pp", `PP ${pp} exceeds ${spec.numLayers} layers`);
  if (ep > 1) {
    if (spec.family !== "moe") throw new InvalidArgumentError("config.parallelism.ep", `expert parallelism needs an MoE model (${spec.name} is dense)`);
    if (tp % ep !== 0) throw new InvalidArgumentError("config.parallelism.ep", `EP ${ep} must divide TP ${tp}`);
    if (spec.numExperts % ep !== 0) throw new InvalidArgumentError("config.parallelism.ep", `EP ${ep} must divide ${spec.numExperts} experts`);
  }

  const weightDtype = dtypeField(config.weightDtype, "config.weight_dtype") ?? model.weight ?? "bf16";
  const kvDtype = dtypeField(config.kvCacheDtype, "config.kv_cache_dtype") ?? model.kv ?? (weightDtype === "fp8" || weightDtype === "nvfp4" ? "fp8" : "bf16");
  if (peakFlops(gpu, weightDtype) === undefined) {
    throw new InvalidArgumentError("config.weight_dtype", `${gpu.name} has no ${weightDtype} tensor cores`);
  }
  if (kvDtype === "nvfp4") throw new InvalidArgumentError("config.kv_cache_dtype", "an NVFP4 KV cache is not supported (use bf16, fp16 or fp8)");
  if (kvDtype === "fp8" && peakFlops(gpu, "fp8") === undefined) {
    throw new InvalidArgumentError("config.kv_cache_dtype", `${gpu.name} has no FP8 support for an FP8 KV cache`);
  }
  return { model: spec, gpu, tp, pp, ep, weightDtype, kvDtype };
}

/** "h100_sxm, Llama-3.1-8B, TP2, fp8 (KV fp8)". */
export function describeRun(r: ResolvedRun): string {
  const par = `TP${r.tp}${r.pp > 1 ? ` PP${r.pp}` : ""}${r.ep > 1 ? ` EP${r.ep}` : ""}`;
  const kv = r.kvDtype === r.weightDtype ? "" : ` (KV ${r.kvDtype})`;
  return `${r.gpu.name}, ${r.model.name}, ${par}, ${r.weightDtype}${kv}`;
}
