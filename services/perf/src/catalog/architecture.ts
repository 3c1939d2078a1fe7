import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { InvalidArgumentError } from "@servesim/core";
import { DType, type ModelArchitecture, type WeightPrecisions } from "@servesim/wire/predictor";
import { type ArchitectureFields, FieldChecks } from "../architectures/fields.js";
import { architectureEntry, supportedArchitectures, TEXT_CONFIG_WRAPPERS } from "../architectures/registry.js";
import { dtypeFromPrecision, type Precision, precisionFromDType } from "../dtypes.js";
import type { ModelSpec } from "./modelSpec.js";
import { toModelArchitecture } from "./modelSpec.js";
import { type CheckpointQuant, checkpointPrecisions, type OpPrecisions, quantFromConfig, quantFromHfQuantConfig, WEIGHT_GROUPS } from "./quant.js";

/** RoPE variants change positions, not cost; anything else (e.g. multimodal mrope) is rejected. */
const SUPPORTED_ROPE_TYPES = new Set(["default", "linear", "dynamic", "yarn", "llama3", "longrope", "ntk"]);

function buildSpec(f: ArchitectureFields, field: string): ModelSpec {
  const entry = architectureEntry(f.architecture);
  if (entry === undefined) {
    throw new InvalidArgumentError(
      `${field}.architecture`,
      `unsupported architecture "${f.architecture || "(empty)"}" (supported: ${supportedArchitectures()})`,
    );
  }
  const spec = entry.build(f, new FieldChecks(field));
  return entry.approximations.length > 0 ? { ...spec, notes: [...spec.notes, ...entry.approximations] } : spec;
}

const EMPTY_FIELDS: Omit<ArchitectureFields, "name" | "architecture"> = {
  numLayers: 0,
  hidden: 0,
  numHeads: 0,
  numKvHeads: 0,
  headDim: 0,
  intermediate: 0,
  vocab: 0,
  numExperts: 0,
  topK: 0,
  attentionBias: false,
  tiedEmbeddings: false,
  maxPositionEmbeddings: 0,
  qLoraRank: 0,
  kvLoraRank: 0,
  qkNopeHeadDim: 0,
  qkRopeHeadDim: 0,
  vHeadDim: 0,
  moeIntermediate: 0,
  sharedExperts: 0,
  sharedIntermediate: 0,
  firstKDense: 0,
  slidingWindow: 0,
  layerTypes: null,
  mtpLayers: 0,
  indexTopk: 0,
  indexHeads: 0,
  indexHeadDim: 0,
  extra: {},
};

/** A model plus what its checkpoint says about precisions. */
export interface HfModel {
  spec: ModelSpec;
  /** The checkpoint's headline weight precision (quantization config), if quantized. */
  weight?: Precision;
  /** The KV-cache precision the checkpoint implies ("auto"), if it says. */
  kv?: Precision;
  /** Per-group precisions of a quantized checkpoint. */
  quant?: CheckpointQuant;
}

function hfModel(spec: ModelSpec, quant: CheckpointQuant | undefined): HfModel {
  return quant ? { spec, weight: quant.weight, kv: quant.kv, quant } : { spec };
}

/** Validates an inline ModelArchitecture (gRPC). */
export function modelFromArchitecture(a: ModelArchitecture, field = "config.model.inline"): ModelSpec {
  return modelFromInline(a, field).spec;
}

/** An inline ModelArchitecture with its per-group precisions (weight_precisions), if any. */
export function modelFromInline(a: ModelArchitecture, field = "config.model.inline"): HfModel {
  const spec = buildSpec(
    {
      ...EMPTY_FIELDS,
      name: a.name,
      architecture: a.architecture,
      numLayers: a.numHiddenLayers,
      hidden: a.hiddenSize,
      numHeads: a.numAttentionHeads,
      numKvHeads: a.numKeyValueHeads,
      headDim: a.headDim,
      intermediate: a.intermediateSize,
      vocab: a.vocabSize,
      numExperts: a.numLocalExperts,
      topK: a.numExpertsPerTok,
      attentionBias: a.attentionBias,
      tiedEmbeddings: a.tieWordEmbeddings,
      maxPositionEmbeddings: a.maxPositionEmbeddings,
      qLoraRank: a.qLoraRank ?? 0,
      kvLoraRank: a.kvLoraRank ?? 0,
      qkNopeHeadDim: a.qkNopeHeadDim ?? 0,
      qkRopeHeadDim: a.qkRopeHeadDim ?? 0,
      vHeadDim: a.vHeadDim ?? 0,
      moeIntermediate: a.moeIntermediateSize ?? 0,
      sharedExperts: 0,
      sharedIntermediate: a.sharedIntermediateSize ?? 0,
      firstKDense: a.firstKDenseReplace ?? 0,
      slidingWindow: a.slidingWindow ?? 0,
      layerTypes: a.layerTypes?.types ?? null,
      mtpLayers: a.numNextnPredictLayers ?? 0,
      indexTopk: a.indexTopk ?? 0,
      indexHeads: a.indexNHeads ?? 0,
      indexHeadDim: a.indexHeadDim ?? 0,
      extra: {},
    },
    field,
  );
  const wp = a.weightPrecisions;
  if (!wp) return { spec };
  const groups: Partial<OpPrecisions> = {};
  const keys: Record<keyof OpPrecisions, keyof WeightPrecisions> = {
    qkv: "qkv",
    o: "o",
    denseMlp: "denseMlp",
    sharedExpert: "sharedExpert",
    experts: "experts",
  };
  for (const g of WEIGHT_GROUPS) {
    const d = wp[keys[g]];
    if (d === DType.D_TYPE_UNSPECIFIED) continue;
    const p = precisionFromDType(d);
    if (p === undefined) throw new InvalidArgumentError(`${field}.weight_precisions.${g}`, `unknown dtype ${String(d)}`);
    groups[g] = p;
  }
  const weight = groups[spec.family === "moe" ? "experts" : "denseMlp"] ?? "bf16";
  return { spec, weight, quant: { weight, groups, kv: "bf16", source: "inline weight_precisions" } };
}

/** The inline form of a model with its checkpoint's per-group precisions (what a client sends for a config.json). */
export function toInlineArchitecture(m: HfModel): ModelArchitecture {
  const a = toModelArchitecture(m.spec);
  if (m.quant) {
    const p = checkpointPrecisions(m.quant);
    a.weightPrecisions = {
      qkv: dtypeFromPrecision(p.qkv),
      o: dtypeFromPrecision(p.o),
      denseMlp: dtypeFromPrecision(p.denseMlp),
      sharedExpert: dtypeFromPrecision(p.sharedExpert),
      experts: dtypeFromPrecision(p.experts),
    };
  }
  return a;
}

type Json = Record<string, unknown>;

/**
 * The LLM part of a config.json: the config itself, or its `text_config` for a multimodal wrapper of a
 * registered architecture (quantization_config from the top level when the text config has none).
 */
function languageModelConfig(c: Json, source: string): { c: Json; arch: string } {
  const archs = c["architectures"];
  if (!Array.isArray(archs) || archs.length === 0 || typeof archs[0] !== "string") {
    throw new InvalidArgumentError("config.model", `${source}: "architectures" is missing (expected e.g. ["LlamaForCausalLM"])`);
  }
  const arch = archs[0];
  if (architectureEntry(arch)) return { c, arch };
  const text = c["text_config"];
  if (text !== null && typeof text === "object" && !Array.isArray(text)) {
    const t = text as Json;
    const inner =
      Array.isArray(t["architectures"]) && typeof t["architectures"][0] === "string" ? (t["architectures"][0] as string) : TEXT_CONFIG_WRAPPERS[arch];
    if (inner && architectureEntry(inner)) {
      const merged: Json = { ...t, architectures: [inner] };
      if (merged["quantization_config"] === undefined && c["quantization_config"] !== undefined) merged["quantization_config"] = c["quantization_config"];
      if (merged["tie_word_embeddings"] === undefined && c["tie_word_embeddings"] !== undefined) merged["tie_word_embeddings"] = c["tie_word_embeddings"];
      return { c: merged, arch: inner };
    }
  }
  throw new InvalidArgumentError("config.model", `${source}: architectures ${JSON.stringify(archs)} is not supported (supported: ${supportedArchitectures()})`);
}

/** Interprets a parsed Hugging Face config.json. `source` names it in errors (usually the path). */
export function modelFromHfConfig(json: unknown, source: string, name?: string, hfQuantConfig?: { json: unknown; source: string }): HfModel {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new InvalidArgumentError("config.model", `${source}: not a JSON object`);
  }
  const { c, arch } = languageModelConfig(json as Json, source);
  const num = (key: string, dflt?: number): number => {
    const v = c[key];
    if (v === undefined || v === null) {
      if (dflt !== undefined) return dflt;
      throw new InvalidArgumentError("config.model", `${source}: "${key}" is missing`);
    }
    if (typeof v !== "number" || !Number.isFinite(v)) throw new InvalidArgumentError("config.model", `${source}: "${key}" must be a number`);
    return v;
  };
  const firstNum = (keys: string[], dflt: number): number => {
    for (const k of keys) if (c[k] !== undefined && c[k] !== null) return num(k);
    return dflt;
  };
  checkRopeScaling(c["rope_scaling"], source);
  const entry = architectureEntry(arch)!;
  if (!entry.slidingWindow) checkSlidingWindow(c, arch, source);
  const layerTypes = Array.isArray(c["layer_types"]) ? (c["layer_types"] as unknown[]).map(String) : null;
  const slides = layerTypes?.some((t) => t === "sliding_attention") ?? false;
  const displayName = name ?? (typeof c["_name_or_path"] === "string" && c["_name_or_path"] ? (c["_name_or_path"] as string) : arch);
  const spec = buildSpec(
    {
      name: displayName,
      architecture: arch,
      numLayers: num("num_hidden_layers"),
      hidden: num("hidden_size"),
      numHeads: num("num_attention_heads"),
      numKvHeads: num("num_key_value_heads", 0),
      headDim: entry.family === "moe" && c["kv_lora_rank"] !== undefined ? 0 : num("head_dim", 0),
      intermediate: num("intermediate_size", entry.family === "moe" ? 0 : undefined),
      vocab: num("vocab_size"),
      numExperts: firstNum(["num_local_experts", "n_routed_experts", "num_experts"], 0),
      topK: firstNum(["num_experts_per_tok", "experts_per_token"], 0),
      attentionBias: c["attention_bias"] === true,
      tiedEmbeddings: c["tie_word_embeddings"] === true,
      maxPositionEmbeddings: num("max_position_embeddings", 0),
      qLoraRank: num("q_lora_rank", 0),
      kvLoraRank: num("kv_lora_rank", 0),
      qkNopeHeadDim: num("qk_nope_head_dim", 0),
      qkRopeHeadDim: num("qk_rope_head_dim", 0),
      vHeadDim: num("v_head_dim", 0),
      moeIntermediate: num("moe_intermediate_size", 0),
      sharedExperts: num("n_shared_experts", 0),
      sharedIntermediate: firstNum(["shared_intermediate_size", "shared_expert_intermediate_size"], 0),
      firstKDense: num("first_k_dense_replace", 0),
      slidingWindow: entry.slidingWindow && (slides || layerTypes === null) ? num("sliding_window", 0) : 0,
      layerTypes,
      mtpLayers: num("num_nextn_predict_layers", 0),
      indexTopk: num("index_topk", 0),
      indexHeads: num("index_n_heads", 0),
      indexHeadDim: num("index_head_dim", 0),
      extra: c,
    },
    `config.model (${source})`,
  );
  const quant = hfQuantConfig
    ? quantFromHfQuantConfig(spec, hfQuantConfig.json, hfQuantConfig.source)
    : quantFromConfig(spec, c["quantization_config"], source);
  return hfModel(spec, quant);
}

function checkRopeScaling(rope: unknown, source: string): void {
  if (rope === undefined || rope === null) return;
  if (typeof rope !== "object") throw new InvalidArgumentError("config.model", `${source}: "rope_scaling" must be an object or null`);
  const r = rope as Record<string, unknown>;
  const type = r["rope_type"] ?? r["type"];
  if (typeof type === "string" && !SUPPORTED_ROPE_TYPES.has(type)) {
    throw new InvalidArgumentError(
      "config.model",
      `${source}: rope_scaling type "${type}" is not supported (supported: ${[...SUPPORTED_ROPE_TYPES].join(", ")})`,
    );
  }
}

function checkSlidingWindow(c: Record<string, unknown>, arch: string, source: string): void {
  const w = c["sliding_window"];
  if (typeof w !== "number") return;
  // Qwen2/Qwen3 configs carry a window that is off unless use_sliding_window is true.
  if ((arch === "Qwen2ForCausalLM" || arch === "Qwen3ForCausalLM" || arch === "Qwen3MoeForCausalLM") && c["use_sliding_window"] !== true) return;
  const maxPos = c["max_position_embeddings"];
  if (typeof maxPos === "number" && w >= maxPos) return;
  throw new InvalidArgumentError("config.model", `${source}: sliding_window ${w} (windowed attention) is not modelled; set it to null`);
}

/** True when `ref` names something on disk (a config.json or a directory holding one). */
export function isConfigPath(ref: string): boolean {
  try {
    statSync(ref);
    return true;
  } catch {
    return false;
  }
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new InvalidArgumentError("config.model", `${file}: cannot read (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InvalidArgumentError("config.model", `${file}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * The hf_quant_config.json that belongs to a config.json: `hf_quant_config.json` beside `config.json`,
 * or `<name>_hf_quant_config.json` beside `<name>_config.json`.
 */
export function hfQuantConfigPath(configFile: string): string | undefined {
  const dir = dirname(configFile);
  const base = basename(configFile);
  const candidate =
    base === "config.json"
      ? join(dir, "hf_quant_config.json")
      : base.endsWith("config.json")
        ? join(dir, `${base.slice(0, -"config.json".length)}hf_quant_config.json`)
        : undefined;
  return candidate && existsSync(candidate) ? candidate : undefined;
}

/**
 * Reads a config.json, or `<dir>/config.json` when `path` is a directory, with its hf_quant_config.json
 * (ModelOpt) when one sits beside it: that file's quantization wins over config.json's quantization_config.
 */
export function loadHfConfig(path: string): HfModel {
  let file = path;
  // "<org>--<model>_config.json" (a Hugging Face cache's naming) is "<org>/<model>".
  let name = basename(path)
    .replace(/\.json$/, "")
    .replace(/_config$/, "")
    .replace(/^([^/]+?)--/, "$1/");
  try {
    if (statSync(path).isDirectory()) file = join(path, "config.json");
    else if (basename(path) === "config.json") name = basename(dirname(path));
  } catch {
    throw new InvalidArgumentError("config.model", `${path}: no such file or directory`);
  }
  const json = readJson(file);
  const quantFile = hfQuantConfigPath(file);
  return modelFromHfConfig(json, file, name, quantFile ? { json: readJson(quantFile), source: quantFile } : undefined);
}
