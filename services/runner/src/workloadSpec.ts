import { InvalidArgumentError, promptBlocks } from "@servesim/core";
import type { SimRequest } from "@servesim/engine";
import {
  DatasetFormat as DatasetFormatProto,
  type DatasetWorkload,
  Distribution,
  type InlineWorkload,
  type SyntheticWorkload,
  TimestampUnit as TimestampUnitProto,
  type Workload,
} from "@servesim/wire/scheduler";
import {
  computeDatasetMetadata,
  contextMessage,
  type DatasetFormat,
  type DatasetMetadata,
  DEFAULT_SEED,
  DEFAULT_VOCAB_SIZE,
  generateLengths,
  type ReadDatasetOptions,
  readDataset,
  type Sessions,
  type SyntheticSpec,
  syntheticDataset,
  type TimestampUnit,
} from "@servesim/workload";
import { underMessage, withFieldPath } from "./fields.js";
import type { RunnerLimits } from "./limits.js";

/** The measured requests of a job and trtllm-bench's dataset metadata for them. */
export interface ResolvedWorkload {
  source: "inline" | "dataset" | "synthetic";
  requests: SimRequest[];
  metadata: DatasetMetadata;
  /** Non-fatal findings (duplicate task ids). */
  warnings: string[];
  /** At least one input length was approximated from a text prompt (dataset approx_prompt_tokens). */
  approxPromptTokens: boolean;
  /** Trace arrival times (ms since the first), NaN where a row has none. */
  timestampsMs?: Float64Array;
  /** Multi-turn sessions. */
  sessions?: Sessions;
}

export interface WorkloadOptions {
  /** Keep only the first N requests; 0 = all. */
  numRequests: number;
  limits: RunnerLimits;
  /** Vocabulary for synthetic token ids when the workload leaves vocab_size 0 (the model's). */
  vocabSize?: number;
  /** Prompts keep their prefix-cache block keys for this block size (the engine's); 0: block reuse is off, keep nothing. */
  tokensPerBlock: number;
  /** The model's context (max_position_embeddings; 0 unknown): longer prompts are rejected. */
  maxInputLength?: number;
  /** The bytes of a streamed dataset (SubmitJobStream, or a file the CLI reads), in order. */
  datasetStream?: AsyncIterable<Uint8Array>;
}

const MAX_UINT32 = 0xffffffff;

function checkSize(count: number, tokens: number, limits: RunnerLimits, field: string): void {
  if (count > limits.maxRequests) throw new InvalidArgumentError(field, `${count} requests exceed the limit of ${limits.maxRequests}`);
  if (tokens > limits.maxTotalTokens) {
    throw new InvalidArgumentError(field, `${tokens} total tokens (input + output) exceed the limit of ${limits.maxTotalTokens}`);
  }
}

function inlineWorkload(w: InlineWorkload, opts: WorkloadOptions): ResolvedWorkload {
  const field = "spec.workload.inline.requests";
  const all = w.requests ?? [];
  const n = opts.numRequests > 0 ? Math.min(opts.numRequests, all.length) : all.length;
  if (n === 0) throw new InvalidArgumentError(field, "the workload is empty (no requests)");
  checkSize(n, 0, opts.limits, field);
  const requests: SimRequest[] = new Array(n);
  const isl = new Float64Array(n);
  const osl = new Float64Array(n);
  const seen = new Map<number, number>();
  const warnings: string[] = [];
  let tokens = 0;
  for (let i = 0; i < n; i++) {
    const q = all[i]!;
    const at = `${field}[${i}]`;
    if (!Number.isSafeInteger(q.taskId)) throw new InvalidArgumentError(`${at}.task_id`, `must be an integer (got ${String(q.taskId)})`);
    const ids = q.inputIds ?? [];
    let inputLength = q.inputLength;
    if (ids.length > 0) {
      for (let j = 0; j < ids.length; j++) {
        const v = ids[j];
        if (!Number.isInteger(v) || v! < 0 || v! > MAX_UINT32) {
          throw new InvalidArgumentError(`${at}.input_ids[${j}]`, `must be a token id in [0, 2^32 - 1] (got ${String(v)})`);
        }
      }
      if (inputLength !== 0 && inputLength !== ids.length) {
        throw new InvalidArgumentError(`${at}.input_length`, `is ${inputLength} but input_ids has ${ids.length} tokens (leave it 0 or make them agree)`);
      }
      inputLength = ids.length;
    } else if (!Number.isInteger(inputLength) || inputLength < 1) {
      throw new InvalidArgumentError(`${at}.input_length`, `must be an integer >= 1 (got ${String(inputLength)})`);
    }
    if (!Number.isInteger(q.outputTokens) || q.outputTokens < 1) {
      throw new InvalidArgumentError(`${at}.output_tokens`, `must be an integer >= 1 (got ${String(q.outputTokens)})`);
    }
    if (inputLength > MAX_UINT32 || q.outputTokens > MAX_UINT32) throw new InvalidArgumentError(at, "lengths must be below 2^32");
    if (opts.maxInputLength && inputLength > opts.maxInputLength) {
      throw new InvalidArgumentError(ids.length > 0 ? `${at}.input_ids` : `${at}.input_length`, contextMessage(inputLength, opts.maxInputLength));
    }
    tokens += inputLength + q.outputTokens;
    checkSize(n, tokens, opts.limits, field);
    const first = seen.get(q.taskId);
    if (first === undefined) seen.set(q.taskId, i);
    else if (warnings.length < 20) warnings.push(`${at}: duplicate task_id ${q.taskId} (first at requests[${first}])`);
    const req: SimRequest = { taskId: q.taskId, inputLength, outputTokens: q.outputTokens };
    if (ids.length > 0 && opts.tokensPerBlock > 0) req.blocks = promptBlocks(ids, opts.tokensPerBlock);
    requests[i] = req;
    isl[i] = inputLength;
    osl[i] = q.outputTokens;
  }
  return { source: "inline", requests, metadata: computeDatasetMetadata(isl, osl, null), warnings, approxPromptTokens: false };
}

const FORMATS: Record<DatasetFormatProto, DatasetFormat | undefined> = {
  [DatasetFormatProto.DATASET_FORMAT_UNSPECIFIED]: "trtllm",
  [DatasetFormatProto.DATASET_FORMAT_TRTLLM_JSONL]: "trtllm",
  [DatasetFormatProto.DATASET_FORMAT_TRACE_JSONL]: "trace",
  [DatasetFormatProto.DATASET_FORMAT_AZURE_CSV]: "azure",
  [DatasetFormatProto.DATASET_FORMAT_BURSTGPT_CSV]: "burstgpt",
  [DatasetFormatProto.DATASET_FORMAT_CSV]: "csv",
  [DatasetFormatProto.UNRECOGNIZED]: undefined,
};

const UNITS: Record<number, TimestampUnit> = {
  [TimestampUnitProto.TIMESTAMP_UNIT_UNSPECIFIED]: "auto",
  [TimestampUnitProto.TIMESTAMP_UNIT_SECONDS]: "seconds",
  [TimestampUnitProto.TIMESTAMP_UNIT_MILLISECONDS]: "milliseconds",
  [TimestampUnitProto.TIMESTAMP_UNIT_DATETIME]: "datetime",
};

/** The reading options of a dataset workload (format, trace settings, size guards). */
function readOptions(w: DatasetWorkload, opts: WorkloadOptions): ReadDatasetOptions {
  const F = "spec.workload.dataset";
  const format = FORMATS[w.format ?? DatasetFormatProto.DATASET_FORMAT_UNSPECIFIED];
  if (format === undefined) throw new InvalidArgumentError(`${F}.format`, `unknown format ${String(w.format)}`);
  const out: ReadDatasetOptions = {
    format,
    numRequests: opts.numRequests,
    maxRequests: opts.limits.maxRequests,
    maxTotalTokens: opts.limits.maxTotalTokens,
    approxPromptTokens: w.approxPromptTokens ?? false,
    tokensPerBlock: opts.tokensPerBlock,
    keepInputIds: false,
    ...(opts.maxInputLength ? { maxInputLength: opts.maxInputLength } : {}),
  };
  const blockSize = w.trace?.blockSize ?? 0;
  if (!Number.isInteger(blockSize) || blockSize < 0 || blockSize > 1 << 20) {
    throw new InvalidArgumentError(`${F}.trace.block_size`, `must be an integer in [0, ${1 << 20}] (got ${blockSize})`);
  }
  if (blockSize > 0) out.traceBlockSize = blockSize;
  const c = w.trace?.csvColumns;
  if (format === "csv") {
    const name = (v: string | undefined, field: string, required: boolean): string | undefined => {
      const t = (v ?? "").trim();
      if (t === "" && required) throw new InvalidArgumentError(`${F}.trace.csv_columns.${field}`, "is required for a CSV trace (the column's header name)");
      if (t.length > 256) throw new InvalidArgumentError(`${F}.trace.csv_columns.${field}`, "is longer than 256 characters");
      return t === "" ? undefined : t;
    };
    const unit = UNITS[c?.timestampUnit ?? 0];
    if (unit === undefined) throw new InvalidArgumentError(`${F}.trace.csv_columns.timestamp_unit`, `unknown unit ${String(c?.timestampUnit)}`);
    const timestamp = name(c?.timestamp, "timestamp", false);
    const sessionId = name(c?.sessionId, "session_id", false);
    out.csvColumns = {
      inputLength: name(c?.inputLength, "input_length", true)!,
      outputLength: name(c?.outputLength, "output_length", true)!,
      timestampUnit: unit,
      ...(timestamp ? { timestamp } : {}),
      ...(sessionId ? { sessionId } : {}),
    };
  } else if (c !== undefined && (c.inputLength || c.outputLength || c.timestamp || c.sessionId)) {
    throw new InvalidArgumentError(`${F}.trace.csv_columns`, "applies to format CSV only (the other formats have fixed columns)");
  }
  return out;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function datasetWorkload(w: DatasetWorkload, opts: WorkloadOptions): Promise<ResolvedWorkload> {
  const F = "spec.workload.dataset";
  const name = w.name.trim();
  const content = w.content ?? new Uint8Array(0);
  const sources = [w.jsonl.length > 0, content.length > 0, w.streamed ?? false].filter(Boolean).length;
  if (sources > 1) throw new InvalidArgumentError(F, "give the dataset once: jsonl, content, or streamed (SubmitJobStream)");
  if (w.jsonl.length > opts.limits.maxDatasetChars) {
    throw new InvalidArgumentError(`${F}.jsonl`, `${w.jsonl.length} characters exceed the limit of ${opts.limits.maxDatasetChars}`);
  }
  if (content.length > opts.limits.maxDatasetBytes) {
    throw new InvalidArgumentError(`${F}.content`, `${content.length} bytes exceed the limit of ${opts.limits.maxDatasetBytes}`);
  }
  const options = readOptions(w, opts);
  if (w.jsonl.length > 0 && options.format !== "trtllm")
    throw new InvalidArgumentError(`${F}.jsonl`, "holds trtllm-bench JSONL only: send other formats as content");
  let chunks: AsyncIterable<Uint8Array>;
  if (w.streamed) {
    if (!opts.datasetStream) throw new InvalidArgumentError(`${F}.streamed`, "a streamed dataset is sent with SubmitJobStream (its bytes follow the job)");
    chunks = capped(opts.datasetStream, opts.limits.maxDatasetBytes, `${F}.streamed`);
  } else if (opts.datasetStream) {
    throw new InvalidArgumentError(`${F}.streamed`, "must be set when the dataset's bytes follow the job (SubmitJobStream)");
  } else {
    chunks = once(content.length > 0 ? content : Buffer.from(w.jsonl, "utf8"));
  }
  // Errors name the dataset and line ("<name> line 12", "dataset line 12" without a name).
  const ds = await readDataset(chunks, name || "dataset", name || null, options);
  const out: ResolvedWorkload = {
    source: "dataset",
    requests: ds.requests,
    metadata: ds.metadata,
    warnings: ds.warnings,
    approxPromptTokens: ds.approxPromptTokens,
  };
  if (ds.timestampsMs) out.timestampsMs = ds.timestampsMs;
  if (ds.sessions) out.sessions = ds.sessions;
  return out;
}

/** Passes chunks through, failing once more than `limit` bytes came. */
async function* capped(chunks: AsyncIterable<Uint8Array>, limit: number, field: string): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const c of chunks) {
    total += c.length;
    if (total > limit) throw new InvalidArgumentError(field, `the dataset exceeds the limit of ${limit} bytes`);
    yield c;
  }
}

/** Most tokens one synthetic request may have (input or output): lengths are held as 32-bit integers. */
export const MAX_REQUEST_TOKENS = 2 ** 30;

function syntheticSpec(w: SyntheticWorkload, vocabSize: number | undefined): SyntheticSpec {
  const common = {
    numRequests: w.numRequests,
    seed: w.seed || DEFAULT_SEED,
    vocabSize: w.vocabSize || vocabSize || DEFAULT_VOCAB_SIZE,
    prefixLen: w.randomPrefixLen ?? 0,
    prefixGroups: w.numPrefixGroups || 1,
  };
  switch (w.distribution) {
    case Distribution.DISTRIBUTION_TOKEN_NORM_DIST:
      return { kind: "token-norm-dist", ...common, inputMean: w.inputMean, inputStdev: w.inputStdev, outputMean: w.outputMean, outputStdev: w.outputStdev };
    case Distribution.DISTRIBUTION_TOKEN_UNIF_DIST:
      return { kind: "token-unif-dist", ...common, inputMin: w.inputMin, inputMax: w.inputMax, outputMin: w.outputMin, outputMax: w.outputMax };
    default:
      throw new InvalidArgumentError("spec.workload.synthetic.distribution", "must be TOKEN_NORM_DIST or TOKEN_UNIF_DIST");
  }
}

function syntheticWorkload(w: SyntheticWorkload, opts: WorkloadOptions): ResolvedWorkload {
  const field = "spec.workload.synthetic";
  const spec = syntheticSpec(w, opts.vocabSize);
  if (spec.kind === "token-norm-dist") {
    // trtllm-bench's generator clips lengths to max(1, ·): a mean below 1 token silently gives 1-token requests.
    for (const [k, v] of [
      ["input_mean", spec.inputMean],
      ["output_mean", spec.outputMean],
    ] as const) {
      if (!(v >= 1)) throw new InvalidArgumentError(`${field}.${k}`, `must be a number >= 1 (got ${v})`);
    }
    // Lengths are 32-bit: a mean (plus ten deviations) beyond MAX_REQUEST_TOKENS would wrap around.
    for (const [k, v] of [
      ["input_stdev", spec.inputStdev],
      ["output_stdev", spec.outputStdev],
    ] as const) {
      if (!Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`${field}.${k}`, `must be a finite number >= 0 (got ${v})`);
    }
    for (const [k, mean, stdev] of [
      ["input_mean", spec.inputMean, spec.inputStdev],
      ["output_mean", spec.outputMean, spec.outputStdev],
    ] as const) {
      if (!(mean + 10 * stdev <= MAX_REQUEST_TOKENS)) {
        throw new InvalidArgumentError(
          `${field}.${k}`,
          `plus 10 standard deviations must be at most ${MAX_REQUEST_TOKENS} tokens per request (got ${mean} + 10 × ${stdev})`,
        );
      }
    }
  } else {
    for (const [k, v] of [
      ["input_max", spec.inputMax],
      ["output_max", spec.outputMax],
    ] as const) {
      if (v > MAX_REQUEST_TOKENS) throw new InvalidArgumentError(`${field}.${k}`, `must be at most ${MAX_REQUEST_TOKENS} tokens per request (got ${v})`);
    }
  }
  if ((spec.prefixLen ?? 0) >= MAX_REQUEST_TOKENS) {
    throw new InvalidArgumentError(`${field}.random_prefix_len`, `must be below ${MAX_REQUEST_TOKENS} tokens (got ${spec.prefixLen})`);
  }
  if (opts.numRequests > 0) spec.numRequests = Math.min(spec.numRequests, opts.numRequests);
  checkSize(spec.numRequests, 0, opts.limits, `${field}.num_requests`);
  const rename = (f: string) =>
    f === "prefixLen" ? `${field}.random_prefix_len` : f === "prefixGroups" ? `${field}.num_prefix_groups` : underMessage(field)(f);
  return withFieldPath(rename, () => {
    // Lengths first: the size guard must hold before any token ids are generated.
    const { inputLengths: own, outputLengths } = generateLengths(spec);
    const prefix = spec.prefixLen ?? 0;
    const inputLengths = prefix === 0 ? own : Int32Array.from(own, (l) => l + prefix);
    let tokens = 0;
    for (let i = 0; i < inputLengths.length; i++) tokens += inputLengths[i]! + outputLengths[i]!;
    checkSize(inputLengths.length, tokens, opts.limits, field);
    if (opts.maxInputLength) {
      const i = inputLengths.findIndex((l) => l > opts.maxInputLength!);
      const cause = spec.kind === "token-norm-dist" ? "inputMean" : "inputMax";
      if (i >= 0) throw new InvalidArgumentError(cause, `request ${i}: ${contextMessage(inputLengths[i]!, opts.maxInputLength)}`);
    }
    const ds = syntheticDataset(spec, opts.tokensPerBlock > 0 ? { tokensPerBlock: opts.tokensPerBlock } : { includeInputIds: false });
    return { source: "synthetic" as const, requests: ds.requests, metadata: ds.metadata, warnings: [], approxPromptTokens: false };
  });
}

/**
 * A workload resolved earlier (shared by the points of a sweep, or read from the CLI's parsed-dataset
 * cache) for a job keeping its first `numRequests`: the size guards apply as to a fresh one.
 */
export function adoptWorkload(w: ResolvedWorkload, opts: WorkloadOptions): ResolvedWorkload {
  const all = w.requests;
  const n = opts.numRequests > 0 ? Math.min(opts.numRequests, all.length) : all.length;
  const field = `spec.workload.${w.source}`;
  if (n === 0) throw new InvalidArgumentError(field, "the workload is empty (no requests)");
  let tokens = 0;
  for (let i = 0; i < n; i++) {
    const r = all[i]!;
    tokens += r.inputLength + r.outputTokens;
    if (opts.maxInputLength && r.inputLength > opts.maxInputLength) {
      throw new InvalidArgumentError(field, `request ${i}: ${contextMessage(r.inputLength, opts.maxInputLength)}`);
    }
    // Block keys are made for one block size: a workload is shared only by jobs of that size.
    if (opts.tokensPerBlock > 0 && r.blocks && r.blocks.tokensPerBlock !== opts.tokensPerBlock) {
      throw new Error(`a workload with ${r.blocks.tokensPerBlock}-token block keys given to a job with tokens_per_block ${opts.tokensPerBlock}`);
    }
  }
  checkSize(n, tokens, opts.limits, field);
  if (n === all.length) return w;
  const requests = all.slice(0, n);
  return {
    ...w,
    ...(w.timestampsMs ? { timestampsMs: w.timestampsMs.subarray(0, n) } : {}),
    requests,
    metadata: computeDatasetMetadata(
      requests.map((r) => r.inputLength),
      requests.map((r) => r.outputTokens),
      w.metadata.datasetPath,
    ),
  };
}

/** Resolves the workload oneof into requests (first `numRequests` only) with size guards. */
export async function resolveWorkloadSpec(w: Workload | undefined, opts: WorkloadOptions): Promise<ResolvedWorkload> {
  const set = [w?.inline, w?.dataset, w?.synthetic].filter((x) => x !== undefined).length;
  if (w === undefined || set === 0) throw new InvalidArgumentError("spec.workload", "required: inline requests, a dataset or a synthetic workload");
  if (set > 1) throw new InvalidArgumentError("spec.workload", "set exactly one of inline, dataset and synthetic");
  if (w.inline) return inlineWorkload(w.inline, opts);
  if (w.dataset) return datasetWorkload(w.dataset, opts);
  return syntheticWorkload(w.synthetic!, opts);
}
