import { createWriteStream } from "node:fs";
import { once } from "node:events";
import type { Writable } from "node:stream";
import { InvalidArgumentError } from "../../common/src/errors.js";
import { NumpyLegacyRandom } from "./rng/numpyLegacy.js";
import { Pcg64 } from "./rng/pcg64.js";
import { PythonRandom } from "./rng/pythonRandom.js";

/**
 * `prepare-dataset` synthetic workloads (trtllm-bench-compat.md §2), reproducing TensorRT-LLM's
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
}

export type SyntheticSpec = (NormDistSpec | UnifDistSpec) & TokenOptions;

export const DEFAULT_SEED = 420;
export const DEFAULT_VOCAB_SIZE = 128256;

export interface ResolvedSpec {
  dist: NormDistSpec | UnifDistSpec;
  seed: number;
  vocabSize: number;
  eosId: number | null;
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
  return { dist: spec, seed, vocabSize, eosId };
}

const toLengths = (xs: Float64Array): Int32Array => {
  const out = new Int32Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = Math.max(1, Math.ceil(xs[i]!));
  return out;
};

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
      inputLengths: toLengths(new NumpyLegacyRandom(seed).normal(dist.inputMean, dist.inputStdev, n)),
      outputLengths: toLengths(new NumpyLegacyRandom(seed).normal(dist.outputMean, dist.outputStdev, n)),
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
export function* generateTokenIds(
  inputLengths: ArrayLike<number>,
  options: { seed?: number; vocabSize?: number; eosId?: number | null } = {},
): Generator<Uint32Array> {
  const vocab = options.vocabSize ?? DEFAULT_VOCAB_SIZE;
  const eos = options.eosId ?? null;
  const rnd = new PythonRandom(options.seed ?? DEFAULT_SEED);
  for (let r = 0; r < inputLengths.length; r++) {
    const isl = inputLengths[r]!;
    const ids = isl < vocab ? rnd.sampleRange(vocab, isl) : rnd.choicesRange(vocab, isl);
    if (eos !== null) {
      const replacement = (eos + 1) % vocab;
      for (let i = 0; i < ids.length; i++) if (ids[i] === eos) ids[i] = replacement;
    }
    yield ids;
  }
}

/** One compact dataset line (Python `json.dumps(..., separators=(",", ":"))`), without newline. */
export function datasetLine(taskId: number, inputIds: ArrayLike<number>, outputTokens: number): string {
  return `{"task_id":${taskId},"input_ids":[${Array.prototype.join.call(inputIds, ",")}],"output_tokens":${outputTokens}}`;
}

/** The dataset's JSONL lines (no trailing newlines), generated lazily. */
export function* datasetJsonlLines(spec: SyntheticSpec): Generator<string> {
  const resolved = resolveSyntheticSpec(spec);
  const { inputLengths, outputLengths } = generateLengths(spec);
  let i = 0;
  for (const ids of generateTokenIds(inputLengths, resolved)) {
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
