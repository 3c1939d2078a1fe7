import { once } from "node:events";
import { createWriteStream } from "node:fs";
import type { Writable } from "node:stream";
import { InvalidArgumentError, NumpyLegacyRandom } from "@servesim/core";
import { Pcg64 } from "./rng/pcg64.js";
import { PythonRandom } from "./rng/pythonRandom.js";

/**
 * `prepare-dataset` synthetic workloads (benchmarks/cpp/prepare_dataset.py and benchmarks/cpp/utils/utils.py), reproducing TensorRT-LLM's
 * `prepare_dataset` bit for bit: lengths from NumPy (legacy MT19937 Gaussian for token-norm-dist,
 * PCG64 `integers` for token-unif-dist), token ids from Python's `random`.
 */
export interface NormDistSpec {
  kind: "token-norm-dist";
  numRequests: number;
  inputMean: number;
  inputStdev: number;
  outputMean: number;
  outputStdev: number;
}

export interface UnifDistSpec {
  kind: "token-unif-dist";
  numRequests: number;
  /** Inclusive bounds. */
  inputMin: number;
  inputMax: number;
  outputMin: number;
  outputMax: number;
}

export interface TokenOptions {
  /** `--random-seed`, default 420. */
  seed?: number;
  /** Replaces the tokenizer's vocab size; default 128256. */
  vocabSize?: number;
  /** Token id never emitted (replaced by (eos + 1) % vocab); default none. */
  eosId?: number | null;
  /**
   * Shared prefixes (vLLM's --random-prefix-len): every prompt starts with one of `prefixGroups` random
   * prefixes of this many tokens, followed by its own ids of the distribution's length. Default 0.
   */
  prefixLen?: number;
  /** Number of distinct prefixes; request i gets prefix i mod prefixGroups. Default 1. */
  prefixGroups?: number;
}

export type SyntheticSpec = (NormDistSpec | UnifDistSpec) & TokenOptions;

export const DEFAULT_SEED = 420;
export const DEFAULT_VOCAB_SIZE = 128256;

export interface ResolvedSpec {
  dist: NormDistSpec | UnifDistSpec;
  seed: number;
  vocabSize: number;
  eosId: number | null;
  prefixLen: number;
  prefixGroups: number;
}

function check(ok: boolean, field: string, reason: string): void {
  if (!ok) throw new InvalidArgumentError(field, reason);
}

const finite = (v: number): boolean => typeof v === "number" && Number.isFinite(v);
const int = (v: number): boolean => typeof v === "number" && Number.isSafeInteger(v);

/** Validates a spec and fills in defaults. */
export function resolveSyntheticSpec(spec: SyntheticSpec): ResolvedSpec {
  check(int(spec.numRequests) && spec.numRequests >= 1, "numRequests", `must be an integer >= 1 (got ${spec.numRequests})`);
  if (spec.kind === "token-norm-dist") {
    for (const k of ["inputMean", "outputMean"] as const) check(finite(spec[k]), k, `must be a finite number (got ${spec[k]})`);
    for (const k of ["inputStdev", "outputStdev"] as const) {
      check(finite(spec[k]) && spec[k] >= 0, k, `must be a finite number >= 0 (got ${spec[k]})`);
    }
  } else if (spec.kind === "token-unif-dist") {
    for (const k of ["inputMin", "inputMax", "outputMin", "outputMax"] as const) {
      check(int(spec[k]) && spec[k] >= 1, k, `must be an integer >= 1 (got ${spec[k]})`);
    }
    check(spec.inputMax >= spec.inputMin, "inputMax", `must be >= inputMin (${spec.inputMax} < ${spec.inputMin})`);
    check(spec.outputMax >= spec.outputMin, "outputMax", `must be >= outputMin (${spec.outputMax} < ${spec.outputMin})`);
    check(spec.inputMax - spec.inputMin < 0xffffffff, "inputMax", "range must be below 2^32");
    check(spec.outputMax - spec.outputMin < 0xffffffff, "outputMax", "range must be below 2^32");
  } else {
    throw new InvalidArgumentError("kind", `unknown distribution ${String((spec as { kind: unknown }).kind)} (token-norm-dist or token-unif-dist)`);
  }
  const seed = spec.seed ?? DEFAULT_SEED;
  check(int(seed) && seed >= 0 && seed <= 0xffffffff, "seed", `must be an integer in [0, 2^32 - 1] (got ${seed})`);
  const vocabSize = spec.vocabSize ?? DEFAULT_VOCAB_SIZE;
  check(int(vocabSize) && vocabSize >= 2 && vocabSize <= 0xffffffff, "vocabSize", `must be an integer in [2, 2^32 - 1] (got ${vocabSize})`);
  const eosId = spec.eosId ?? null;
  if (eosId !== null) check(int(eosId) && eosId >= 0 && eosId < vocabSize, "eosId", `must be an integer in [0, vocabSize) (got ${eosId})`);
  const prefixLen = spec.prefixLen ?? 0;
  const prefixGroups = spec.prefixGroups ?? 1;
  check(int(prefixLen) && prefixLen >= 0 && prefixLen <= 1 << 24, "prefixLen", `must be an integer in [0, 2^24] (got ${prefixLen})`);
  check(
    int(prefixGroups) && prefixGroups >= 1 && prefixGroups <= spec.numRequests,
    "prefixGroups",
    `must be an integer in [1, numRequests] (got ${prefixGroups})`,
  );
  check(prefixGroups === 1 || prefixLen > 0, "prefixGroups", "needs prefixLen > 0 (groups of what?)");
  return { dist: spec, seed, vocabSize, eosId, prefixLen, prefixGroups };
}

const toLengths = (xs: Float64Array): Int32Array => {
  const out = new Int32Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = Math.max(1, Math.ceil(xs[i]!));
  return out;
};

/**
 * max(1, ceil(np.random.normal(mean, stdev, n))) after `np.random.seed(seed)`. With stdev 0 every
 * draw is mean + 0·z = mean (z is always finite; only the sign of a zero mean can change, which ceil and
 * max(1, ·) erase), so the Gaussians need not be drawn.
 */
function normalLengths(seed: number, mean: number, stdev: number, n: number): Int32Array {
  if (stdev === 0) return new Int32Array(n).fill(Math.max(1, Math.ceil(mean)));
  return toLengths(new NumpyLegacyRandom(seed).normal(mean, stdev, n));
}

/**
 * Input and output lengths. token-norm-dist reseeds before the output draw, so both use the same
 * standard-normal sequence z_i (perfectly rank-correlated lengths); token-unif-dist uses a fresh
 * generator with the same seed for the outputs.
 */
export function generateLengths(spec: SyntheticSpec): { inputLengths: Int32Array; outputLengths: Int32Array } {
  const { dist, seed } = resolveSyntheticSpec(spec);
  const n = dist.numRequests;
  if (dist.kind === "token-norm-dist") {
    return {
      inputLengths: normalLengths(seed, dist.inputMean, dist.inputStdev, n),
      outputLengths: normalLengths(seed, dist.outputMean, dist.outputStdev, n),
    };
  }
  return {
    inputLengths: Int32Array.from(new Pcg64(seed).integers(dist.inputMin, dist.inputMax + 1, n)),
    outputLengths: Int32Array.from(new Pcg64(seed).integers(dist.outputMin, dist.outputMax + 1, n)),
  };
}

/**
 * Token ids per request, in order: `random.sample(range(vocab), isl)` without repeats when
 * isl < vocab, else `random.choices`; EOS ids replaced by (eos + 1) % vocab. One Python `random.seed`
 * for the whole dataset, so requests must be drawn in order.
 */
export class TokenIdSampler {
  private readonly rnd: PythonRandom;
  private readonly vocab: number;
  private readonly eos: number | null;

  constructor(options: { seed?: number; vocabSize?: number; eosId?: number | null } = {}) {
    this.vocab = options.vocabSize ?? DEFAULT_VOCAB_SIZE;
    this.eos = options.eosId ?? null;
    this.rnd = new PythonRandom(options.seed ?? DEFAULT_SEED);
  }

  /** The next request's `isl` token ids, written to `out[0, isl)`; returns that part of `out`. */
  next(isl: number, out: Uint32Array = new Uint32Array(isl)): Uint32Array {
    const vocab = this.vocab;
    const ids = isl < vocab ? this.rnd.sampleRange(vocab, isl, out) : this.rnd.choicesRange(vocab, isl, out);
    const eos = this.eos;
    if (eos !== null) {
      const replacement = (eos + 1) % vocab;
      for (let i = 0; i < isl; i++) if (ids[i] === eos) ids[i] = replacement;
    }
    return ids.length === isl ? ids : ids.subarray(0, isl);
  }
}

/** `TokenIdSampler` as a generator of fresh arrays, one per request. */
export function* generateTokenIds(
  inputLengths: ArrayLike<number>,
  options: { seed?: number; vocabSize?: number; eosId?: number | null } = {},
): Generator<Uint32Array> {
  const sampler = new TokenIdSampler(options);
  for (let r = 0; r < inputLengths.length; r++) yield sampler.next(inputLengths[r]!);
}

/** One compact dataset line (Python `json.dumps(..., separators=(",", ":"))`), without newline. */
export function datasetLine(taskId: number, inputIds: ArrayLike<number>, outputTokens: number): string {
  return `{"task_id":${taskId},"input_ids":[${Array.prototype.join.call(inputIds, ",")}],"output_tokens":${outputTokens}}`;
}

/**
 * The shared prefixes of a spec (none without prefixLen): drawn like token ids, by a second generator
 * seeded with seed + 1, so the per-request ids stay exactly trtllm-bench's.
 */
export function sharedPrefixes(resolved: ResolvedSpec): Uint32Array[] {
  if (resolved.prefixLen === 0) return [];
  const sampler = new TokenIdSampler({ ...resolved, seed: (resolved.seed + 1) % 2 ** 32 });
  return Array.from({ length: resolved.prefixGroups }, () => sampler.next(resolved.prefixLen));
}

/** Each prompt's ids in order, in one scratch buffer (valid until the next request is drawn): prefix, then its own ids. */
export function* promptIds(spec: SyntheticSpec, inputLengths: ArrayLike<number>): Generator<Uint32Array> {
  const resolved = resolveSyntheticSpec(spec);
  const sampler = new TokenIdSampler(resolved);
  const prefixes = sharedPrefixes(resolved);
  const p = resolved.prefixLen;
  let longest = 0;
  for (let i = 0; i < inputLengths.length; i++) longest = Math.max(longest, inputLengths[i]!);
  const scratch = new Uint32Array(p + longest);
  for (let i = 0; i < inputLengths.length; i++) {
    const isl = inputLengths[i]!;
    if (p > 0) scratch.set(prefixes[i % prefixes.length]!);
    sampler.next(isl, scratch.subarray(p, p + isl));
    yield scratch.subarray(0, p + isl);
  }
}

/** The dataset's JSONL lines (no trailing newlines), generated lazily. */
export function* datasetJsonlLines(spec: SyntheticSpec): Generator<string> {
  const { inputLengths, outputLengths } = generateLengths(spec);
  let i = 0;
  for (const ids of promptIds(spec, inputLengths)) {
    yield datasetLine(i, ids, outputLengths[i]!);
    i++;
  }
}

/** Writes the dataset to a stream, honouring backpressure. Returns the number of requests written. */
export async function writeDatasetJsonl(spec: SyntheticSpec, out: Writable): Promise<number> {
  let n = 0;
  for (const line of datasetJsonlLines(spec)) {
    if (!out.write(`${line}\n`)) await once(out, "drain");
    n++;
  }
  return n;
}

/** Writes the dataset to a file (created or truncated). Returns the number of requests written. */
export async function writeDatasetFile(spec: SyntheticSpec, path: string): Promise<number> {
  resolveSyntheticSpec(spec);
  const out = createWriteStream(path, { encoding: "utf8" });
  try {
    const n = await writeDatasetJsonl(spec, out);
    out.end();
    await once(out, "finish");
    return n;
  } catch (e) {
    out.destroy();
    throw e;
  }
}
