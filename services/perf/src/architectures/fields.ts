import { InvalidArgumentError } from "@servesim/core";
import type { ModelFamily, ModelSpec } from "../catalog/modelSpec.js";

/**
 * The cost-relevant fields of a model, as a config.json or an inline ModelArchitecture gives them
 * (0 / null = absent). Architecture entries turn them into a ModelSpec.
 */
export interface ArchitectureFields {
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
  qLoraRank: number;
  kvLoraRank: number;
  qkNopeHeadDim: number;
  qkRopeHeadDim: number;
  vHeadDim: number;
  moeIntermediate: number;
  sharedExperts: number;
  sharedIntermediate: number;
  firstKDense: number;
  slidingWindow: number;
  layerTypes: readonly string[] | null;
  mtpLayers: number;
  indexTopk: number;
  indexHeads: number;
  indexHeadDim: number;
  /** config.json keys an entry may read beyond these (e.g. use_qk_norm); empty for inline models. */
  extra: Readonly<Record<string, unknown>>;
}

/** Field errors of one source: `config.model.inline.num_hidden_layers`, or `config.model (path).num_hidden_layers`. */
export class FieldChecks {
  constructor(readonly field: string) {}

  fail(name: string, reason: string): never {
    throw new InvalidArgumentError(`${this.field}.${name}`, reason);
  }

  positiveInt(v: number, name: string): number {
    if (!Number.isInteger(v) || v <= 0) this.fail(name, `must be a positive integer (got ${v})`);
    return v;
  }

  nonNegativeInt(v: number, name: string): number {
    if (!Number.isInteger(v) || v < 0) this.fail(name, `must be an integer >= 0 (got ${v})`);
    return v;
  }
}

/** The fields every architecture shares (name, layers, hidden, heads, vocab, ...), validated. */
export function commonSpec(
  f: ArchitectureFields,
  c: FieldChecks,
  family: ModelFamily,
): Pick<
  ModelSpec,
  "name" | "architecture" | "family" | "numLayers" | "hidden" | "numHeads" | "numKvHeads" | "headDim" | "vocab" | "tiedEmbeddings" | "maxPositionEmbeddings"
> {
  const numLayers = c.positiveInt(f.numLayers, "num_hidden_layers");
  const hidden = c.positiveInt(f.hidden, "hidden_size");
  const numHeads = c.positiveInt(f.numHeads, "num_attention_heads");
  const numKvHeads = f.numKvHeads === 0 ? numHeads : c.positiveInt(f.numKvHeads, "num_key_value_heads");
  if (numHeads % numKvHeads !== 0) c.fail("num_key_value_heads", `${numKvHeads} does not divide num_attention_heads ${numHeads}`);
  let headDim = f.headDim;
  if (headDim === 0) {
    if (hidden % numHeads !== 0) c.fail("head_dim", `required: hidden_size ${hidden} is not a multiple of num_attention_heads ${numHeads}`);
    headDim = hidden / numHeads;
  }
  c.positiveInt(headDim, "head_dim");
  const vocab = c.positiveInt(f.vocab, "vocab_size");
  return {
    name: f.name || f.architecture,
    architecture: f.architecture,
    family,
    numLayers,
    hidden,
    numHeads,
    numKvHeads,
    headDim,
    vocab,
    tiedEmbeddings: f.tiedEmbeddings,
    maxPositionEmbeddings: Math.max(f.maxPositionEmbeddings, 0),
  };
}

/** Routed experts: count, top-k and width (`moe_intermediate_size`, else `intermediate_size`). */
export function expertFields(f: ArchitectureFields, c: FieldChecks): { numExperts: number; topK: number; moeIntermediate: number } {
  const numExperts = c.positiveInt(f.numExperts, "num_local_experts");
  const topK = c.positiveInt(f.topK, "num_experts_per_tok");
  if (topK > numExperts) c.fail("num_experts_per_tok", `${topK} exceeds num_local_experts ${numExperts}`);
  const moeIntermediate = c.positiveInt(f.moeIntermediate || f.intermediate, f.moeIntermediate ? "moe_intermediate_size" : "intermediate_size");
  return { numExperts, topK, moeIntermediate };
}

/** Which layers slide, from layer_types (or every layer when only a window is given). */
export function slidingLayersOf(f: ArchitectureFields, c: FieldChecks, numLayers: number): boolean[] | null {
  if (f.slidingWindow <= 0) return null;
  if (!f.layerTypes || f.layerTypes.length === 0) return new Array<boolean>(numLayers).fill(true);
  if (f.layerTypes.length !== numLayers) c.fail("layer_types", `has ${f.layerTypes.length} entries for ${numLayers} layers`);
  return f.layerTypes.map((t, i) => {
    if (t === "sliding_attention") return true;
    if (t === "full_attention") return false;
    return c.fail(`layer_types[${i}]`, `must be "sliding_attention" or "full_attention" (got "${t}")`);
  });
}
