import { InvalidArgumentError } from "@servesim/core";
import type { Precision } from "../dtypes.js";
import type { ModelSpec } from "./modelSpec.js";

/**
 * The precision of each weight group of a checkpoint. Quantized checkpoints leave some groups in bf16
 * (NVIDIA's NVFP4 DeepSeek and Kimi checkpoints keep attention in bf16; gpt-oss quantizes only the
 * experts); the router and the LM head stay bf16.
 */
export interface OpPrecisions {
  /** q/k/v projections (MLA: q_a, q_b, kv_a, kv_b; the DSA indexer). */
  qkv: Precision;
  /** o_proj. */
  o: Precision;
  denseMlp: Precision;
  sharedExpert: Precision;
  experts: Precision;
}

export type WeightGroup = keyof OpPrecisions;
export const WEIGHT_GROUPS: readonly WeightGroup[] = ["qkv", "o", "denseMlp", "sharedExpert", "experts"];

/** Every group at one precision. */
export const uniformPrecisions = (p: Precision): OpPrecisions => ({ qkv: p, o: p, denseMlp: p, sharedExpert: p, experts: p });

/** What a checkpoint's quantization config says. */
export interface CheckpointQuant {
  /** The headline precision (of the groups with most weights: the experts of an MoE model). */
  weight: Precision;
  /** Groups that differ from `weight` (absent groups are at `weight`). */
  groups: Partial<OpPrecisions>;
  /** KV-cache precision with kv_cache_config.dtype "auto": kv_cache_quant_algo / kv_cache_scheme, else the model dtype (bf16). */
  kv: Precision;
  /** Where it came from, for DescribePredictor ("hf_quant_config.json: NVFP4, attention bf16"). */
  source: string;
}

/** The groups' precisions of a checkpoint quantization (or of bf16 when there is none). */
export function checkpointPrecisions(q: CheckpointQuant | undefined): OpPrecisions {
  if (!q) return uniformPrecisions("bf16");
  return { ...uniformPrecisions(q.weight), ...q.groups };
}

/** The headline precision of a set of group precisions for a model (experts for MoE models, else the dense FFN). */
export function headlinePrecision(m: ModelSpec, p: OpPrecisions): Precision {
  return m.family === "moe" ? p.experts : p.denseMlp;
}

/** "qkv=bf16, o=bf16, experts=nvfp4, ..." (only the groups the model has). */
export function describePrecisions(m: ModelSpec, p: OpPrecisions): string[] {
  const out = [`attention=${p.qkv === p.o ? p.qkv : `${p.qkv} (o_proj ${p.o})`}`];
  if (m.family === "llama" || m.denseLayers > 0) out.push(`dense_mlp=${p.denseMlp}`);
  if (m.sharedIntermediate > 0) out.push(`shared_experts=${p.sharedExpert}`);
  if (m.family === "moe") out.push(`experts=${p.experts}`);
  return out;
}

/** Representative module names of each group (the layer index is substituted). */
const GROUP_MODULES: Record<WeightGroup, readonly string[]> = {
  qkv: [
    "self_attn.q_proj",
    "self_attn.k_proj",
    "self_attn.v_proj",
    "self_attn.qkv_proj",
    "self_attn.q_a_proj",
    "self_attn.q_b_proj",
    "self_attn.kv_a_proj_with_mqa",
    "self_attn.kv_b_proj",
  ],
  o: ["self_attn.o_proj"],
  denseMlp: ["mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"],
  sharedExpert: ["mlp.shared_experts.gate_proj", "mlp.shared_experts.down_proj", "mlp.shared_expert.gate_proj"],
  experts: ["mlp.experts.0.gate_proj", "mlp.experts.0.down_proj", "block_sparse_moe.experts.0.w1", "mlp.experts.gate_up_proj", "mlp.experts"],
};

/** Module-name prefixes of a layer (multimodal checkpoints nest the language model). */
const PREFIXES = ["model.layers.", "language_model.model.layers.", "model.language_model.layers."];

/** The layer a group is judged by: layer 0 for the dense FFN, the last layer otherwise (layer 0 is often special-cased). */
function layerOf(m: ModelSpec, g: WeightGroup): number {
  return g === "denseMlp" ? 0 : m.numLayers - 1;
}

/** A matcher for exclude/ignore patterns: shell globs (`*`), `re:` regular expressions, or exact names. */
function patternMatcher(patterns: readonly string[]): (name: string) => boolean {
  const res = patterns.map((p) => {
    if (p.startsWith("re:")) {
      try {
        return new RegExp(`^(?:${p.slice(3)})$`);
      } catch {
        return /$^/;
      }
    }
    const escaped = p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
    return new RegExp(`^${escaped}$`);
  });
  return (name) => res.some((r) => r.test(name) || r.test(`${name}.weight`));
}

/** Groups whose modules the patterns exclude from quantization (any representative module of the group matched). */
function excludedGroups(m: ModelSpec, patterns: readonly string[]): Set<WeightGroup> {
  const matches = patternMatcher(patterns);
  const out = new Set<WeightGroup>();
  for (const g of Object.keys(GROUP_MODULES) as WeightGroup[]) {
    const layer = layerOf(m, g);
    for (const module of GROUP_MODULES[g]) {
      if (PREFIXES.some((p) => matches(`${p}${layer}.${module}`))) out.add(g);
    }
  }
  return out;
}

const MODELOPT_ALGOS: Readonly<Record<string, Precision>> = {
  FP8: "fp8",
  FP8_BLOCK_SCALES: "fp8_block",
  FP8_PER_CHANNEL_PER_TOKEN: "fp8",
  NVFP4: "nvfp4",
  W4A16_AWQ: "int4",
  W4A16_GPTQ: "int4",
  W4A16_MXFP4: "mxfp4",
  MXFP4: "mxfp4",
};

const KV_ALGOS: Readonly<Record<string, Precision>> = { FP8: "fp8", NVFP4: "fp8" };

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === "object" && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

function unsupported(source: string, what: string, supported: string): never {
  throw new InvalidArgumentError("config.model", `${source}: ${what} is not supported (supported: ${supported})`);
}

/** Builds a CheckpointQuant from a headline precision and the excluded (bf16) groups. */
function withExclusions(m: ModelSpec, weight: Precision, excluded: Set<WeightGroup>, kv: Precision | undefined, source: string): CheckpointQuant {
  const groups: Partial<OpPrecisions> = {};
  for (const g of excluded) groups[g] = "bf16";
  const exclusions = [...excluded].filter((g) => g !== "denseMlp" || m.denseLayers > 0);
  return { weight, groups, kv: kv ?? "bf16", source: exclusions.length > 0 ? `${source} (${exclusions.join(", ")} bf16)` : source };
}

/**
 * Reads a ModelOpt `hf_quant_config.json` (`{quantization: {quant_algo, kv_cache_quant_algo,
 * exclude_modules}}`). MIXED_PRECISION checkpoints take each group's algorithm from `quantized_layers`.
 */
export function quantFromHfQuantConfig(m: ModelSpec, json: unknown, source: string): CheckpointQuant {
  if (!isObject(json) || !isObject(json["quantization"])) {
    throw new InvalidArgumentError("config.model", `${source}: "quantization" is missing (expected a ModelOpt hf_quant_config.json)`);
  }
  const q = json["quantization"];
  const algo = String(q["quant_algo"] ?? "").toUpperCase();
  const kvAlgo = String(q["kv_cache_quant_algo"] ?? "").toUpperCase();
  const kv = KV_ALGOS[kvAlgo];
  const excluded = excludedGroups(m, strings(q["exclude_modules"]));
  if (algo === "MIXED_PRECISION") {
    const layers = isObject(q["quantized_layers"]) ? q["quantized_layers"] : {};
    const groups: Partial<OpPrecisions> = {};
    for (const g of Object.keys(GROUP_MODULES) as WeightGroup[]) {
      const layer = layerOf(m, g);
      let found: Precision | undefined;
      for (const module of GROUP_MODULES[g]) {
        for (const prefix of PREFIXES) {
          const entry = layers[`${prefix}${layer}.${module}`];
          if (isObject(entry)) found ??= MODELOPT_ALGOS[String(entry["quant_algo"] ?? "").toUpperCase()];
        }
      }
      groups[g] = excluded.has(g) ? "bf16" : (found ?? "bf16");
    }
    const weight = groups[m.family === "moe" ? "experts" : "denseMlp"] ?? "bf16";
    return { weight, groups, kv: kv ?? "bf16", source: `${source}: MIXED_PRECISION` };
  }
  const weight = MODELOPT_ALGOS[algo];
  if (!weight) unsupported(source, `quant_algo "${algo}"`, Object.keys(MODELOPT_ALGOS).join(", "));
  return withExclusions(m, weight, excluded, kv, `${source}: ${algo}`);
}

/**
 * Reads a config.json `quantization_config`: modelopt (FP8, NVFP4, ...), `fp8` (per-tensor, or block
 * scales with weight_block_size: DeepSeek/Qwen3 FP8), `mxfp4` (gpt-oss: experts only) and
 * compressed-tensors (INT4 weight-only as in Kimi-K2.5, or float 4/8-bit weights).
 */
export function quantFromConfig(m: ModelSpec, raw: unknown, source: string): CheckpointQuant | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) throw new InvalidArgumentError("config.model", `${source}: "quantization_config" must be an object`);
  const method = String(raw["quant_method"] ?? "");
  const algo = String(raw["quant_algo"] ?? "").toUpperCase();
  const kv = kvPrecisionOf(raw);
  const notConverted = [...strings(raw["modules_to_not_convert"]), ...strings(raw["ignore"]), ...strings(raw["exclude_modules"])];
  const excluded = excludedGroups(m, notConverted);
  if (method === "modelopt" && MODELOPT_ALGOS[algo]) return withExclusions(m, MODELOPT_ALGOS[algo]!, excluded, kv, `${source}: modelopt ${algo}`);
  if (method === "fp8") {
    // Block-scaled FP8 (DeepSeek, Qwen3-FP8) keeps the model dtype for the KV cache; per-tensor FP8 implies an FP8 cache.
    if (Array.isArray(raw["weight_block_size"])) return withExclusions(m, "fp8_block", excluded, kv, `${source}: fp8 block scales`);
    return withExclusions(m, "fp8", excluded, "fp8", `${source}: fp8`);
  }
  if (method === "mxfp4") {
    // gpt-oss: only the MoE experts are MXFP4 (modules_to_not_convert lists attention, router, embeddings, LM head).
    return { weight: "mxfp4", groups: { qkv: "bf16", o: "bf16", denseMlp: "bf16", sharedExpert: "bf16" }, kv: "bf16", source: `${source}: mxfp4 experts` };
  }
  if (method === "compressed-tensors") return compressedTensors(m, raw, excluded, kv, source);
  return unsupported(
    source,
    `quantization_config (quant_method "${method}"${algo ? `, quant_algo "${algo}"` : ""})`,
    "modelopt FP8/FP8_BLOCK_SCALES/NVFP4, fp8 (per-tensor or block), mxfp4, compressed-tensors",
  );
}

/** The KV-cache precision a quantization config asks for: kv_cache_quant_algo, or an 8-bit float kv_cache_scheme. */
function kvPrecisionOf(raw: Json): Precision | undefined {
  const algo = KV_ALGOS[String(raw["kv_cache_quant_algo"] ?? "").toUpperCase()];
  if (algo) return algo;
  const scheme = raw["kv_cache_scheme"];
  return isObject(scheme) && Number(scheme["num_bits"]) === 8 && String(scheme["type"]) === "float" ? "fp8" : undefined;
}

function compressedTensors(m: ModelSpec, raw: Json, excluded: Set<WeightGroup>, kv: Precision | undefined, source: string): CheckpointQuant {
  const groups = isObject(raw["config_groups"]) ? Object.values(raw["config_groups"]).filter(isObject) : [];
  const first = groups[0];
  const weights = first && isObject(first["weights"]) ? first["weights"] : undefined;
  const acts = first && isObject(first["input_activations"]) ? first["input_activations"] : undefined;
  if (!weights) unsupported(source, "compressed-tensors without config_groups.*.weights", "int4 weight-only, fp4, fp8");
  const bits = Number(weights["num_bits"]);
  const type = String(weights["type"] ?? "");
  let weight: Precision;
  if (bits === 4 && type === "int" && !acts) weight = "int4";
  else if (bits === 4 && type === "float") weight = acts ? "nvfp4" : "mxfp4";
  else if (bits === 8 && type === "float") weight = Array.isArray(weights["block_structure"]) ? "fp8_block" : "fp8";
  else unsupported(source, `compressed-tensors weights (${bits}-bit ${type}${acts ? "" : ", weight-only"})`, "4-bit int weight-only, 4-bit float, 8-bit float");
  return withExclusions(m, weight, excluded, kv, `${source}: compressed-tensors ${weight}`);
}
