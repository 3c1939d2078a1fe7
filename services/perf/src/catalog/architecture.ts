import { readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { InvalidArgumentError } from "@servesim/core";
import type { ModelArchitecture } from "@servesim/wire/predictor";
import type { Precision } from "../dtypes.js";
import type { ModelFamily, ModelSpec } from "./models.js";

/** Hugging Face architecture classes servesim can price, and the AIC graph each maps to. */
export const SUPPORTED_ARCHITECTURES: Readonly<Record<string, ModelFamily>> = {
  LlamaForCausalLM: "llama",
  MistralForCausalLM: "llama",
  Qwen2ForCausalLM: "llama",
  Qwen3ForCausalLM: "llama",
  MixtralForCausalLM: "moe",
};

/** RoPE variants change positions, not cost; anything else (e.g. multimodal mrope) is rejected. */
const SUPPORTED_ROPE_TYPES = new Set(["default", "linear", "dynamic", "yarn", "llama3", "longrope", "ntk"]);

const supportedList = (): string => Object.keys(SUPPORTED_ARCHITECTURES).join(", ");

/** The cost-relevant fields shared by an inline ModelArchitecture and a config.json. */
interface ArchitectureFields {
  name: string;
  architecture: string;
  numLayers: number;
  hidden: number;
  numHeads: number;
  /** 0 = same as numHeads. */
  numKvHeads: number;
  /** 0 = hidden / numHeads. */
  headDim: number;
  intermediate: number;
  vocab: number;
  numExperts: number;
  topK: number;
  attentionBias: boolean;
  tiedEmbeddings: boolean;
  maxPositionEmbeddings: number;
}

function buildSpec(f: ArchitectureFields, field: string): ModelSpec {
  const family = SUPPORTED_ARCHITECTURES[f.architecture];
  if (family === undefined) {
    throw new InvalidArgumentError(`${field}.architecture`, `unsupported architecture "${f.architecture || "(empty)"}" (supported: ${supportedList()})`);
  }
  const positiveInt = (v: number, name: string): number => {
    if (!Number.isInteger(v) || v <= 0) throw new InvalidArgumentError(`${field}.${name}`, `must be a positive integer (got ${v})`);
    return v;
  };
  const numLayers = positiveInt(f.numLayers, "num_hidden_layers");
  const hidden = positiveInt(f.hidden, "hidden_size");
  const numHeads = positiveInt(f.numHeads, "num_attention_heads");
  const numKvHeads = f.numKvHeads === 0 ? numHeads : positiveInt(f.numKvHeads, "num_key_value_heads");
  if (numHeads % numKvHeads !== 0) {
    throw new InvalidArgumentError(`${field}.num_key_value_heads`, `${numKvHeads} does not divide num_attention_heads ${numHeads}`);
  }
  let headDim = f.headDim;
  if (headDim === 0) {
    if (hidden % numHeads !== 0) {
      throw new InvalidArgumentError(`${field}.head_dim`, `required: hidden_size ${hidden} is not a multiple of num_attention_heads ${numHeads}`);
    }
    headDim = hidden / numHeads;
  }
  positiveInt(headDim, "head_dim");
  const intermediate = positiveInt(f.intermediate, "intermediate_size");
  const vocab = positiveInt(f.vocab, "vocab_size");
  let numExperts = 0;
  let topK = 0;
  if (family === "moe") {
    numExperts = positiveInt(f.numExperts, "num_local_experts");
    topK = positiveInt(f.topK, "num_experts_per_tok");
    if (topK > numExperts) {
      throw new InvalidArgumentError(`${field}.num_experts_per_tok`, `${topK} exceeds num_local_experts ${numExperts}`);
    }
  } else if (f.numExperts > 1) {
    throw new InvalidArgumentError(`${field}.num_local_experts`, `${f.architecture} is a dense architecture (use MixtralForCausalLM for MoE)`);
  }
  return {
    name: f.name || f.architecture,
    architecture: f.architecture,
    family,
    numLayers,
    hidden,
    numHeads,
    numKvHeads,
    headDim,
    intermediate,
    vocab,
    numExperts,
    topK,
    // Qwen2 always has q/k/v biases; the others only when attention_bias is set.
    qkvBias: f.architecture === "Qwen2ForCausalLM" || f.attentionBias,
    qkNorm: f.architecture === "Qwen3ForCausalLM",
    tiedEmbeddings: f.tiedEmbeddings,
    maxPositionEmbeddings: Math.max(f.maxPositionEmbeddings, 0),
  };
}

/** Validates an inline ModelArchitecture (gRPC). */
export function modelFromArchitecture(a: ModelArchitecture, field = "config.model.inline"): ModelSpec {
  return buildSpec(
    {
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
    },
    field,
  );
}

export interface HfModel {
  spec: ModelSpec;
  /** Precision implied by the checkpoint's quantization_config, if any. */
  weight?: Precision;
  kv?: Precision;
}

/** Interprets a parsed Hugging Face config.json. `source` names it in errors (usually the path). */
export function modelFromHfConfig(json: unknown, source: string, name?: string): HfModel {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new InvalidArgumentError("config.model", `${source}: not a JSON object`);
  }
  const c = json as Record<string, unknown>;
  const archs = c["architectures"];
  if (!Array.isArray(archs) || archs.length === 0 || typeof archs[0] !== "string") {
    throw new InvalidArgumentError("config.model", `${source}: "architectures" is missing (expected e.g. ["LlamaForCausalLM"])`);
  }
  const arch = archs[0];
  if (SUPPORTED_ARCHITECTURES[arch] === undefined) {
    throw new InvalidArgumentError("config.model", `${source}: architectures ${JSON.stringify(archs)} is not supported (supported: ${supportedList()})`);
  }
  const num = (key: string, dflt?: number): number => {
    const v = c[key];
    if (v === undefined || v === null) {
      if (dflt !== undefined) return dflt;
      throw new InvalidArgumentError("config.model", `${source}: "${key}" is missing`);
    }
    if (typeof v !== "number" || !Number.isFinite(v)) throw new InvalidArgumentError("config.model", `${source}: "${key}" must be a number`);
    return v;
  };
  checkRopeScaling(c["rope_scaling"], source);
  checkSlidingWindow(c, arch, source);
  const quant = quantizationOf(c["quantization_config"], source);
  const spec = buildSpec(
    {
      name: name ?? (typeof c["_name_or_path"] === "string" && c["_name_or_path"] ? (c["_name_or_path"] as string) : arch),
      architecture: arch,
      numLayers: num("num_hidden_layers"),
      hidden: num("hidden_size"),
      numHeads: num("num_attention_heads"),
      numKvHeads: num("num_key_value_heads", 0),
      headDim: num("head_dim", 0),
      intermediate: num("intermediate_size"),
      vocab: num("vocab_size"),
      numExperts: num("num_local_experts", 0),
      topK: num("num_experts_per_tok", 0),
      attentionBias: c["attention_bias"] === true,
      tiedEmbeddings: c["tie_word_embeddings"] === true,
      maxPositionEmbeddings: num("max_position_embeddings", 0),
    },
    `config.model (${source})`,
  );
  return { spec, ...quant };
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
  if ((arch === "Qwen2ForCausalLM" || arch === "Qwen3ForCausalLM") && c["use_sliding_window"] !== true) return;
  const maxPos = c["max_position_embeddings"];
  if (typeof maxPos === "number" && w >= maxPos) return;
  throw new InvalidArgumentError("config.model", `${source}: sliding_window ${w} (windowed attention) is not modelled; set it to null`);
}

function quantizationOf(q: unknown, source: string): { weight?: Precision; kv?: Precision } {
  if (q === undefined || q === null) return {};
  if (typeof q !== "object") throw new InvalidArgumentError("config.model", `${source}: "quantization_config" must be an object`);
  const o = q as Record<string, unknown>;
  const method = String(o["quant_method"] ?? "");
  const algo = String(o["quant_algo"] ?? "").toUpperCase();
  const kvAlgo = String(o["kv_cache_quant_algo"] ?? "").toUpperCase();
  if ((method === "modelopt" && (algo === "FP8" || algo === "FP8_BLOCK_SCALES")) || method === "fp8") {
    return { weight: "fp8", kv: kvAlgo === "FP8" ? "fp8" : method === "fp8" ? "fp8" : "bf16" };
  }
  if (method === "modelopt" && algo === "NVFP4") return { weight: "nvfp4", kv: kvAlgo === "FP8" ? "fp8" : "bf16" };
  throw new InvalidArgumentError(
    "config.model",
    `${source}: quantization_config (quant_method "${method}"${algo ? `, quant_algo "${algo}"` : ""}) is not supported (supported: modelopt FP8/NVFP4, fp8)`,
  );
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

/** Reads a config.json, or `<dir>/config.json` when `path` is a directory. */
export function loadHfConfig(path: string): HfModel {
  let file = path;
  let name = basename(path).replace(/\.json$/, "");
  try {
    if (statSync(path).isDirectory()) file = join(path, "config.json");
    else if (basename(path) === "config.json") name = basename(dirname(path));
  } catch {
    throw new InvalidArgumentError("config.model", `${path}: no such file or directory`);
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new InvalidArgumentError("config.model", `${file}: cannot read (${(e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InvalidArgumentError("config.model", `${file}: not valid JSON (${(e as Error).message})`);
  }
  return modelFromHfConfig(json, file, name);
}
