import { existsSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError } from "@servesim/core";
import { DType, type MoeOptions, type PredictorConfig } from "@servesim/wire/predictor";
import { compareVersions, parseVersion } from "./aic/versions.js";
import { isConfigPath, loadHfConfig, modelFromInline } from "./catalog/architecture.js";
import { GPU_CATALOG, type GpuSpec, gpuFromHardware, gpuFromYaml, lookupGpu, peakFlops } from "./catalog/gpus.js";
import { lookupModel, MODEL_CATALOG, type ModelSpec } from "./catalog/models.js";
import { type CheckpointQuant, checkpointPrecisions, describePrecisions, headlinePrecision, type OpPrecisions, WEIGHT_GROUPS } from "./catalog/quant.js";
import { computePrecision, type Precision, precisionFromDType } from "./dtypes.js";

/** How tokens spread over experts: evenly, or a power law with exponent alpha (AIC's routing assumption). */
export type MoeDistribution = { kind: "balanced" } | { kind: "power_law"; alpha: number };

/** How MoE layers exchange tokens (TensorRT-LLM's fused_moe communication strategies). */
export type MoeCommunication = "allreduce" | "allgather" | "alltoall" | "nvlink_one_sided";

export interface ResolvedMoe {
  distribution: MoeDistribution;
  /** moe_config.load_balancer: the expert load is balanced across EP ranks. */
  eplb: boolean;
  communication: MoeCommunication;
}

/** A predictor configuration with model, GPU, parallelism and precisions resolved and validated. */
export interface ResolvedRun {
  model: ModelSpec;
  gpu: GpuSpec;
  /** TensorRT-LLM tp_size: the GPUs of one pipeline stage (attention TP, or attention-DP ranks, and the MoE world). */
  tp: number;
  pp: number;
  /** MoE expert parallelism (moe_ep; 1 for dense models). */
  ep: number;
  /** MoE tensor parallelism (moe_tp = tp / ep). */
  moeTp: number;
  /** enable_attention_dp: attention replicated on each of the tp ranks, each with its own batch. */
  attentionDp: boolean;
  /** The headline weight precision (the experts' for MoE models). */
  weightDtype: Precision;
  kvDtype: Precision;
  /** The precision of each weight group. */
  precisions: OpPrecisions;
  /** Dense (and Mixtral) models count every weight at `weightDtype` (servesim's original accounting). */
  uniformWeights: boolean;
  /** MoE models only. */
  moe: ResolvedMoe | null;
  /** Approximations and assumptions worth telling the user (DescribePredictor notes). */
  notes: string[];
}

/** Attention TP of a run: 1 under attention DP, else TP. */
export const attentionTp = (r: Pick<ResolvedRun, "tp" | "attentionDp">): number => (r.attentionDp ? 1 : r.tp);

export interface ResolveOptions {
  /** AIC systems directory: `<dir>/<name>.yaml` is tried for GPU names outside the catalog. */
  systemsDir?: string;
}

export interface ResolvedModel {
  spec: ModelSpec;
  weight?: Precision;
  kv?: Precision;
  /** The checkpoint's per-group precisions. */
  quant?: CheckpointQuant;
}

export function resolveModel(config: PredictorConfig): ResolvedModel {
  const ref = config.model;
  if (ref?.inline) return modelFromInline(ref.inline);
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

/**
 * Group precisions: a weight_dtype the configuration gives replaces every group the checkpoint quantizes
 * (every group of an unquantized checkpoint); the groups a quantized checkpoint keeps in bf16 stay bf16.
 */
function precisionsOf(model: ResolvedModel, explicit: Precision | undefined): OpPrecisions {
  const checkpoint = checkpointPrecisions(model.quant);
  if (explicit === undefined) return checkpoint;
  const quantized = model.quant !== undefined;
  const out = { ...checkpoint };
  for (const g of WEIGHT_GROUPS) if (!quantized || checkpoint[g] !== "bf16") out[g] = explicit;
  return out;
}

const MOE_COMMS: readonly MoeCommunication[] = ["allreduce", "allgather", "alltoall", "nvlink_one_sided"];

function moeDistribution(s: string, spec: ModelSpec): MoeDistribution {
  const v = s.trim().toLowerCase();
  if (v === "") return defaultDistribution(spec);
  if (v === "balanced" || v === "uniform") return { kind: "balanced" };
  const m = /^power_law_(\d+(?:\.\d+)?)$/.exec(v);
  const alpha = m ? Number(m[1]) : Number.NaN;
  if (!(alpha > 1 && alpha <= 10)) {
    throw new InvalidArgumentError("config.moe.distribution", `must be "balanced" or "power_law_<alpha>" with 1 < alpha <= 10 (got "${s}")`);
  }
  return { kind: "power_law", alpha };
}

/**
 * AIConfigurator's routing assumption: a power law over experts with alpha 1.01 for DeepSeek-style
 * (MLA) models and 1.2 for the other MoE families; Mixtral keeps servesim's original balanced load.
 */
export function defaultDistribution(spec: ModelSpec): MoeDistribution {
  if (spec.architecture === "MixtralForCausalLM") return { kind: "balanced" };
  return { kind: "power_law", alpha: spec.attention === "mla" ? 1.01 : 1.2 };
}

/**
 * The MoE dispatch/combine TensorRT-LLM picks. Without attention DP the layer's TP all-reduce combines the
 * experts' outputs. With attention DP, the NVLink all-to-all needs a multi-node NVLink (MNNVL) fabric
 * (GB200/GB300 NVL72) holding the EP group; otherwise all-gather + reduce-scatter. From 1.2
 * (fused_moe/communication/communication_factory.py) it also needs MoE TP 1; before 1.2 (FusedMoE's
 * select_alltoall_method_type) it needed more EP ranks than experts per token (`moe_ep_size > top_k`).
 * An unknown or unset version follows 1.2.
 */
export function autoCommunication(r: Pick<ResolvedRun, "attentionDp" | "tp" | "moeTp" | "ep" | "gpu">, topK: number, version = ""): MoeCommunication {
  if (!r.attentionDp || r.tp === 1) return "allreduce";
  const mnnvl = r.gpu.smVersion >= 100 && r.gpu.nvlinkDomain > r.gpu.numGpusPerNode && r.ep <= r.gpu.nvlinkDomain;
  const before12 = version !== "" && parseVersion(version) !== undefined && compareVersions(version, "1.2.0rc0") < 0;
  if (before12) return mnnvl && r.ep > topK && r.moeTp === 1 ? "nvlink_one_sided" : "allgather";
  if (r.moeTp > 1) return "allgather";
  return mnnvl ? "nvlink_one_sided" : "allgather";
}

function resolveMoe(
  o: MoeOptions | undefined,
  spec: ModelSpec,
  r: Pick<ResolvedRun, "attentionDp" | "tp" | "moeTp" | "ep" | "gpu">,
  version: string,
): ResolvedMoe {
  const comm = (o?.communication ?? "").trim().toLowerCase();
  let communication: MoeCommunication;
  if (comm === "" || comm === "auto") communication = autoCommunication(r, spec.topK, version);
  else if ((MOE_COMMS as readonly string[]).includes(comm)) communication = comm as MoeCommunication;
  else throw new InvalidArgumentError("config.moe.communication", `must be auto, ${MOE_COMMS.join(", ")} (got "${o?.communication}")`);
  if (communication === "allreduce" && r.attentionDp && r.tp > 1) {
    throw new InvalidArgumentError("config.moe.communication", "allreduce needs attention TP; with attention DP use allgather, alltoall or nvlink_one_sided");
  }
  if (communication !== "allreduce" && !r.attentionDp) {
    throw new InvalidArgumentError(
      "config.moe.communication",
      `${communication} exchanges tokens between attention-DP ranks; without attention DP the TP all-reduce combines`,
    );
  }
  if ((communication === "alltoall" || communication === "nvlink_one_sided") && r.moeTp > 1) {
    throw new InvalidArgumentError("config.moe.communication", `${communication} needs MoE TP 1 (pure expert parallelism; got MoE TP ${r.moeTp})`);
  }
  return { distribution: moeDistribution(o?.distribution ?? "", spec), eplb: o?.eplb === true, communication };
}

/** Resolves model, GPU, parallelism and precisions of a predictor configuration, with field-named errors. */
export function resolveRun(config: PredictorConfig, opts: ResolveOptions = {}): ResolvedRun {
  const model = resolveModel(config);
  const gpu = resolveGpu(config, opts);
  const spec = model.spec;

  const tp = positiveInt(config.parallelism?.tp, "config.parallelism.tp");
  const pp = positiveInt(config.parallelism?.pp, "config.parallelism.pp");
  const givenEp = config.parallelism?.ep ?? 0;
  const givenMoeTp = config.parallelism?.moeTp ?? 0;
  const attentionDp = config.parallelism?.attentionDp === true;
  positiveInt(givenEp, "config.parallelism.ep");
  positiveInt(givenMoeTp, "config.parallelism.moe_tp");
  const attnTp = attentionDp ? 1 : tp;
  if (spec.numHeads % attnTp !== 0) {
    throw new InvalidArgumentError("config.parallelism.tp", `${spec.name} has ${spec.numHeads} attention heads, not divisible by TP ${tp}`);
  }
  const hasDenseFfn = spec.family === "llama" || spec.denseLayers > 0;
  if (spec.family === "llama" || spec.architecture === "MixtralForCausalLM") {
    if (spec.intermediate % tp !== 0) {
      throw new InvalidArgumentError("config.parallelism.tp", `${spec.name} intermediate size ${spec.intermediate} is not divisible by TP ${tp}`);
    }
  } else if (hasDenseFfn && spec.intermediate % attnTp !== 0) {
    throw new InvalidArgumentError("config.parallelism.tp", `${spec.name} dense FFN width ${spec.intermediate} is not divisible by TP ${tp}`);
  }
  if (spec.sharedIntermediate % attnTp !== 0) {
    throw new InvalidArgumentError("config.parallelism.tp", `${spec.name} shared-expert width ${spec.sharedIntermediate} is not divisible by TP ${tp}`);
  }
  if (pp > spec.numLayers) throw new InvalidArgumentError("config.parallelism.pp", `PP ${pp} exceeds ${spec.numLayers} layers`);
  if (attentionDp && spec.family !== "moe") {
    throw new InvalidArgumentError("config.parallelism.attention_dp", `attention data parallelism needs an MoE model (${spec.name} is dense)`);
  }

  // MoE mapping (tensorrt_llm/mapping.py): moe_tp × moe_ep = tp; neither given → MoE TP = TP.
  let ep = 1;
  let moeTp = tp;
  if (givenEp > 1 || givenMoeTp > 0) {
    if (spec.family !== "moe") {
      const field = givenEp > 1 ? "config.parallelism.ep" : "config.parallelism.moe_tp";
      throw new InvalidArgumentError(field, `expert parallelism needs an MoE model (${spec.name} is dense)`);
    }
    if (givenEp > 0 && givenMoeTp > 0) {
      if (givenEp * givenMoeTp !== tp) throw new InvalidArgumentError("config.parallelism.moe_tp", `MoE TP ${givenMoeTp} × EP ${givenEp} must equal TP ${tp}`);
      ep = givenEp;
      moeTp = givenMoeTp;
    } else if (givenEp > 0) {
      if (tp % givenEp !== 0) throw new InvalidArgumentError("config.parallelism.ep", `EP ${givenEp} must divide TP ${tp}`);
      ep = givenEp;
      moeTp = tp / ep;
    } else {
      if (tp % givenMoeTp !== 0) throw new InvalidArgumentError("config.parallelism.moe_tp", `MoE TP ${givenMoeTp} must divide TP ${tp}`);
      moeTp = givenMoeTp;
      ep = tp / moeTp;
    }
    if (spec.numExperts % ep !== 0) throw new InvalidArgumentError("config.parallelism.ep", `EP ${ep} must divide ${spec.numExperts} experts`);
  }
  if (spec.family === "moe" && spec.moeIntermediate % moeTp !== 0 && spec.architecture !== "MixtralForCausalLM") {
    throw new InvalidArgumentError("config.parallelism.moe_tp", `${spec.name} expert width ${spec.moeIntermediate} is not divisible by MoE TP ${moeTp}`);
  }

  const explicit = dtypeField(config.weightDtype, "config.weight_dtype");
  const precisions = precisionsOf(model, explicit);
  const weightDtype = explicit ?? model.weight ?? headlinePrecision(spec, precisions);
  const kvDtype = dtypeField(config.kvCacheDtype, "config.kv_cache_dtype") ?? model.kv ?? (weightDtype === "fp8" || weightDtype === "nvfp4" ? "fp8" : "bf16");
  for (const g of WEIGHT_GROUPS) {
    const p = precisions[g];
    if (peakFlops(gpu, computePrecision(p)) === undefined) {
      throw new InvalidArgumentError("config.weight_dtype", `${gpu.name} has no ${p} tensor cores${p === weightDtype ? "" : ` (${g} weights are ${p})`}`);
    }
  }
  if (kvDtype !== "bf16" && kvDtype !== "fp16" && kvDtype !== "fp8") {
    const label = kvDtype === "nvfp4" ? "NVFP4" : kvDtype;
    throw new InvalidArgumentError("config.kv_cache_dtype", `an ${label} KV cache is not supported (use bf16, fp16 or fp8)`);
  }
  if (kvDtype === "fp8" && peakFlops(gpu, "fp8") === undefined) {
    throw new InvalidArgumentError("config.kv_cache_dtype", `${gpu.name} has no FP8 support for an FP8 KV cache`);
  }
  const notes = [...spec.notes];
  if (model.quant && explicit === undefined) notes.push(`precisions from ${model.quant.source}`);
  const base = { model: spec, gpu, tp, pp, ep, moeTp, attentionDp, weightDtype, kvDtype, precisions, notes };
  const uniformWeights = spec.family === "llama" || spec.architecture === "MixtralForCausalLM";
  const moe = spec.family === "moe" ? resolveMoe(config.moe, spec, base, config.backendVersion.trim()) : null;
  if (moe?.eplb) notes.push("EPLB: the expert load is priced as balanced across EP ranks");
  if (attentionDp && tp === 1) notes.push("attention DP with TP 1 is the same as no attention DP");
  return { ...base, uniformWeights, moe };
}

/** "TP8 EP8", "TP8 (attention DP) MoE TP1×EP8", "TP2 PP2". */
export function describeParallelism(r: ResolvedRun): string {
  if (!r.attentionDp) return `TP${r.tp}${r.pp > 1 ? ` PP${r.pp}` : ""}${r.ep > 1 ? ` EP${r.ep}` : ""}`;
  return `TP${r.tp}${r.pp > 1 ? ` PP${r.pp}` : ""} ADP${r.tp}${r.ep > 1 ? ` EP${r.ep}` : ""}${r.moeTp > 1 ? ` MoE-TP${r.moeTp}` : ""}`;
}

/** "h100_sxm, Llama-3.1-8B, TP2, fp8 (KV fp8)". */
export function describeRun(r: ResolvedRun): string {
  const kv = r.kvDtype === r.weightDtype ? "" : ` (KV ${r.kvDtype})`;
  return `${r.gpu.name}, ${r.model.name}, ${describeParallelism(r)}, ${r.weightDtype}${kv}`;
}

/** Per-group precisions as "attention=bf16", "experts=nvfp4" (DescribePredictor). */
export function runPrecisions(r: ResolvedRun): string[] {
  return describePrecisions(r.model, r.precisions);
}
