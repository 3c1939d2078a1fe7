import { createReadStream } from "node:fs";
import type { SimRequest } from "@servesim/core";
import { BlockKeyBuilder, blockStateH1, blockStateH2, InvalidArgumentError, KeySlabs } from "@servesim/core";
import { keyIs, NOT_HANDLED, scanUint, skipString, skipValue, skipWs } from "./jsonScan.js";
import { readLines, readLinesSync } from "./lineSplitter.js";
import { computeDatasetMetadata, type DatasetMetadata } from "./metadata.js";

/** How a trtllm-bench JSONL dataset is read (`create_dataset_from_stream` in tensorrt_llm/bench/utils/data.py). */
export interface DatasetOptions {
  /** Keep only the first N requests; 0 or undefined = all (`--num_requests`). */
  numRequests?: number;
  /** Accept `prompt`-only lines with ISL = ceil(characters / 4) (`--approx-prompt-tokens`). */
  approxPromptTokens?: boolean;
  /**
   * Compute each prompt's prefix-cache block keys for this block size while reading, and keep them instead
   * of the token ids (the engine's tokens_per_block). 0 or undefined: no keys.
   */
  tokensPerBlock?: number;
  /** Keep token ids (needed only for prefix-cache reuse). Default true unless tokensPerBlock is set. */
  keepInputIds?: boolean;
  /** Size guard: more requests than this is an error. */
  maxRequests?: number;
  /** Size guard: Σ (ISL + OSL) above this is an error. */
  maxTotalTokens?: number;
  /** The model's context (max_position_embeddings): a longer prompt is an error naming its line. */
  maxInputLength?: number;
}

export interface Dataset {
  requests: SimRequest[];
  metadata: DatasetMetadata;
  /** Non-fatal findings, e.g. duplicate task ids. */
  warnings: string[];
  /** True when at least one ISL was approximated from a text prompt. */
  approxPromptTokens: boolean;
}

const MAX_DETAILED_DUPLICATES = 20;
const MAX_TOKEN_ID = 0xffffffff;

const describe = (v: unknown): string => {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  if (typeof v === "object") return "an object";
  return String(v);
};

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);

function optionalLimit(v: number | undefined, name: string): number {
  if (v === undefined) return Infinity;
  if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(name, `must be a non-negative integer (got ${v})`);
  return v === 0 && name === "numRequests" ? Infinity : v;
}

function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point (Python's len()).
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** Where the last scanTokenId stopped (a module variable: no allocation per id). */
let scanEnd = 0;

/**
 * A token id written as a plain integer in [0, 2^32) at `i` (no sign, fraction, exponent or leading zero),
 * or -1; sets scanEnd to the index after it. One unsigned compare per digit: this is the inner loop of a
 * dataset read.
 */
function scanTokenId(b: Uint8Array, i: number, end: number): number {
  if (i >= end) return -1;
  let c = b[i]! - 48;
  if (c >>> 0 > 9) return -1;
  const lead = c;
  let v = c;
  let n = 1;
  i++;
  while (i < end) {
    c = b[i]! - 48;
    if (c >>> 0 > 9) break;
    v = v * 10 + c;
    i++;
    n++;
  }
  if ((lead === 0 && n > 1) || v > MAX_TOKEN_ID) return -1;
  scanEnd = i;
  return v;
}

/** The message for a text-only line read without a tokenizer (names both ways out). */
export const PROMPT_NEEDS_TOKENS =
  "prompt without input_ids needs a tokenizer: regenerate the dataset with input_ids (servesim prepare-dataset sharegpt --tokenizer tokenizer.json), or pass --approx-prompt-tokens (JobSpec workload.dataset.approx_prompt_tokens) to take ISL = ceil(characters / 4)";

const decoder = new TextDecoder();
const scanned = { value: 0 };

/**
 * Reads a trtllm-bench dataset one line at a time, so a file can be streamed without holding its text;
 * what is kept per request is its lengths and either its prompt's block keys or its token ids. `label`
 * names the source in errors (`<label> line <n>`).
 *
 * Lines arrive as text (addLine) or as bytes (addLineBytes). Bytes of the usual shape (an object whose
 * task_id, output_tokens and input_ids are plain integers) are scanned directly, hashing the ids as
 * they are read; anything else is decoded and read with JSON.parse, so both give the same requests and
 * the same errors.
 */
export class DatasetReader {
  private readonly requests: SimRequest[] = [];
  private inputLengths: Int32Array<ArrayBuffer> = new Int32Array(1024);
  private outputLengths: Int32Array<ArrayBuffer> = new Int32Array(1024);
  private readonly firstLineOfTask = new Map<number, number>();
  private readonly warnings: string[] = [];
  private duplicates = 0;
  private totalTokens = 0;
  private lineNo = 0;
  private approximated = false;
  private readonly limit: number;
  private readonly maxRequests: number;
  private readonly maxTotalTokens: number;
  private readonly maxInput: number;
  private readonly keepIds: boolean;
  private readonly approx: boolean;
  private readonly keys: BlockKeyBuilder | undefined;
  private readonly slabs = new KeySlabs();
  /** Ids of the line being scanned (when ids are kept). */
  private ids = new Uint32Array(1024);

  constructor(
    private readonly label: string,
    private readonly datasetPath: string | null,
    options: DatasetOptions = {},
  ) {
    this.limit = optionalLimit(options.numRequests, "numRequests");
    this.maxRequests = optionalLimit(options.maxRequests, "maxRequests");
    this.maxTotalTokens = optionalLimit(options.maxTotalTokens, "maxTotalTokens");
    this.maxInput = options.maxInputLength || Infinity;
    const tpb = options.tokensPerBlock ?? 0;
    if (!Number.isInteger(tpb) || tpb < 0) throw new InvalidArgumentError("tokensPerBlock", `must be an integer >= 0 (got ${tpb})`);
    this.keys = tpb > 0 ? new BlockKeyBuilder(tpb) : undefined;
    this.keepIds = tpb > 0 ? false : (options.keepInputIds ?? true);
    this.approx = options.approxPromptTokens ?? false;
  }

  /** True once `numRequests` lines were kept: later lines need not be read. */
  get full(): boolean {
    return this.requests.length >= this.limit;
  }

  /** Lines read by the byte scanner and by JSON.parse (the fallback), for tests and benchmarks. */
  readonly paths = { scanned: 0, parsed: 0 };

  /** Requests kept so far. */
  get size(): number {
    return this.requests.length;
  }

  /** Parses one line (without its newline). Blank lines are skipped. */
  addLine(line: string): void {
    this.lineNo++;
    if (this.full || line.trim() === "") return;
    this.addParsed(line);
  }

  /** Parses one line given as UTF-8 bytes [start, end) of `buf` (without its newline). */
  addLineBytes(buf: Uint8Array, start: number, end: number): void {
    this.lineNo++;
    if (this.full) return;
    const first = skipWs(buf, start, end);
    if (first === end) return;
    if (this.scan(buf, first, end)) {
      this.paths.scanned++;
    } else {
      this.keys?.reset();
      const line = decoder.decode(buf.subarray(start, end));
      if (line.trim() !== "") this.addParsed(line);
    }
  }

  finish(): Dataset {
    if (this.requests.length === 0) throw new InvalidArgumentError(this.label, "dataset is empty (no requests)");
    const warnings = [...this.warnings];
    if (this.duplicates > MAX_DETAILED_DUPLICATES) {
      warnings.push(`${this.label}: ${this.duplicates} duplicate task_ids in total`);
    }
    const n = this.requests.length;
    return {
      requests: this.requests,
      metadata: computeDatasetMetadata(this.inputLengths.subarray(0, n), this.outputLengths.subarray(0, n), this.datasetPath),
      warnings,
      approxPromptTokens: this.approximated,
    };
  }

  /**
   * The fast path: one object with plain-integer task_id, output_tokens (>= 1) and input_ids/logits ids,
   * any other members skipped (validated). Returns false, having kept nothing, for anything else.
   */
  private scan(b: Uint8Array, i: number, end: number): boolean {
    if (b[i] !== 123) return false;
    i = skipWs(b, i + 1, end);
    let taskId = -1;
    let outputTokens = -1;
    let count = -1;
    for (;;) {
      if (b[i] !== 34) return false;
      const keyStart = i + 1;
      const afterKey = skipString(b, i, end);
      if (afterKey < 0) return false;
      const keyEnd = afterKey - 1;
      for (let k = keyStart; k < keyEnd; k++) if (b[k] === 92) return false; // an escape: let JSON.parse decode the key
      i = skipWs(b, afterKey, end);
      if (b[i] !== 58) return false;
      i = skipWs(b, i + 1, end);
      if (keyIs(b, keyStart, keyEnd, "task_id")) {
        if (taskId >= 0) return false;
        i = scanUint(b, i, end, scanned);
        if (i < 0) return false;
        taskId = scanned.value;
      } else if (keyIs(b, keyStart, keyEnd, "output_tokens")) {
        if (outputTokens >= 0) return false;
        i = scanUint(b, i, end, scanned);
        if (i < 0) return false;
        outputTokens = scanned.value;
      } else if (keyIs(b, keyStart, keyEnd, "input_ids") || keyIs(b, keyStart, keyEnd, "logits")) {
        if (count >= 0 || b[i] !== 91) return false;
        i = this.scanIds(b, i, end);
        if (i < 0) return false;
        count = this.keys ? this.keys.tokens : this.idCount;
      } else {
        i = skipValue(b, i, end);
        if (i < 0) return false;
      }
      i = skipWs(b, i, end);
      if (b[i] === 44) {
        i = skipWs(b, i + 1, end);
        continue;
      }
      if (b[i] !== 125) return false;
      break;
    }
    if (skipWs(b, i + 1, end) !== end || taskId < 0 || outputTokens < 1 || count < 1) return false;
    if (this.keys) this.keep(taskId, count, outputTokens, undefined);
    else this.keep(taskId, count, outputTokens, this.keepIds ? this.ids.slice(0, count) : undefined);
    return true;
  }

  private idCount = 0;

  /** Scans `[id, ...]` of plain integers in [0, 2^32); returns the index after `]` or NOT_HANDLED. */
  private scanIds(b: Uint8Array, i: number, end: number): number {
    const keys = this.keys;
    if (keys) {
      keys.reset();
      return this.scanIdsHashing(b, i, end, keys);
    }
    this.idCount = 0;
    i = skipWs(b, i + 1, end);
    if (b[i] === 93) return NOT_HANDLED;
    for (;;) {
      const v = scanTokenId(b, i, end);
      if (v < 0) return NOT_HANDLED;
      i = scanEnd;
      if (this.keepIds) this.pushId(v);
      else this.idCount++;
      let c = b[i];
      if (c !== 44 && c !== 93) {
        i = skipWs(b, i, end);
        c = b[i];
      }
      if (c === 93) return i + 1;
      if (c !== 44) return NOT_HANDLED;
      c = b[++i];
      if (c === 32 || c === 9 || c === 13 || c === 10) i = skipWs(b, i, end);
    }
  }

  /**
   * scanIds while hashing the ids into `keys`: the hot loop of a dataset read, so the digit scan and both
   * halves of the mixing (mixTokenH1 / mixTokenH2, inlined) run on local state in one loop, and the byte
   * after a number is tested once as the separator. A number reaching `end` is not handled (a valid line
   * closes the array first); the digit loop is bounded by `end` because `c >>> 0 <= 9` also holds for the
   * NaN of a read past the buffer.
   */
  private scanIdsHashing(b: Uint8Array, i: number, end: number, keys: BlockKeyBuilder): number {
    const tpb = keys.tokensPerBlock;
    let [h1, h2, inBlock] = keys.blockState();
    let pushed = 0;
    i = skipWs(b, i + 1, end);
    if (b[i] === 93) return NOT_HANDLED;
    for (;;) {
      if (i >= end) return NOT_HANDLED;
      let c = b[i]! - 48;
      if (c >>> 0 > 9) return NOT_HANDLED;
      let v = c;
      c = b[++i]! - 48;
      if (v === 0) {
        if (c >>> 0 <= 9) return NOT_HANDLED; // a leading zero
      } else {
        while (c >>> 0 <= 9 && i < end) {
          v = v * 10 + c;
          c = b[++i]! - 48;
        }
      }
      if (i >= end || v > MAX_TOKEN_ID) return NOT_HANDLED;
      const t = v | 0;
      let k = Math.imul(t, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      h1 ^= Math.imul(k, 0x1b873593);
      h1 = (h1 << 13) | (h1 >>> 19);
      h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
      k = Math.imul(t ^ 0x5bd1e995, 0x1b873593);
      k = (k << 15) | (k >>> 17);
      h2 ^= Math.imul(k, 0x1b873593);
      h2 = (h2 << 13) | (h2 >>> 19);
      h2 = (Math.imul(h2, 5) + 0xe6546b64) | 0;
      pushed++;
      if (++inBlock === tpb) {
        const key = keys.closeFull(h1, h2);
        h1 = blockStateH1(key);
        h2 = blockStateH2(key);
        inBlock = 0;
      }
      // c + 48 is the byte after the number: ',' (44) or ']' (93) in compact JSON.
      if (c === -4) {
        c = b[++i]!;
        if (c === 32 || c === 9 || c === 13 || c === 10) i = skipWs(b, i, end);
        continue;
      }
      if (c !== 45) {
        i = skipWs(b, i, end);
        if (b[i] === 44) {
          i = skipWs(b, i + 1, end);
          continue;
        }
        if (b[i] !== 93) return NOT_HANDLED;
      }
      keys.store(h1, h2, inBlock, pushed);
      return i + 1;
    }
  }

  private pushId(v: number): void {
    if (this.idCount === this.ids.length) {
      const grown = new Uint32Array(this.ids.length * 2);
      grown.set(this.ids);
      this.ids = grown;
    }
    this.ids[this.idCount++] = v;
  }

  /** The JSON.parse path (any line; every error). */
  private addParsed(line: string): void {
    this.paths.parsed++;
    const where = `${this.label} line ${this.lineNo}`;
    const fail: (reason: string) => never = (reason) => {
      throw new InvalidArgumentError(where, reason);
    };

    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      fail(`invalid JSON: ${(e as Error).message}`);
    }
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) fail("expected a JSON object");
    const rec = obj as Record<string, unknown>;

    if (!("task_id" in rec)) fail("missing task_id");
    const taskId = rec["task_id"];
    if (!isInt(taskId)) fail(`task_id must be an integer (got ${describe(taskId)})`);

    const rawIds = rec["input_ids"] ?? rec["logits"];
    const prompt = rec["prompt"];
    let inputLength: number;
    let inputIds: Uint32Array | undefined;
    if (rawIds !== undefined && rawIds !== null) {
      const idField = rec["input_ids"] !== undefined && rec["input_ids"] !== null ? "input_ids" : "logits";
      if (!Array.isArray(rawIds)) fail(`${idField} must be an array of token ids (got ${describe(rawIds)})`);
      if (rawIds.length === 0) fail(`${idField} is empty`);
      for (let i = 0; i < rawIds.length; i++) {
        const v: unknown = rawIds[i];
        if (!isInt(v) || v < 0 || v > MAX_TOKEN_ID) {
          fail(`${idField}[${i}] must be a non-negative integer token id (got ${describe(v)})`);
        }
      }
      inputLength = rawIds.length;
      if (this.keys) this.keys.pushAll(rawIds as number[]);
      else if (this.keepIds) inputIds = Uint32Array.from(rawIds as number[]);
    } else if (prompt !== undefined && prompt !== null) {
      if (!this.approx) fail(PROMPT_NEEDS_TOKENS);
      if (typeof prompt !== "string") fail(`prompt must be a string (got ${describe(prompt)})`);
      inputLength = Math.ceil(codePointLength(prompt) / 4);
      if (inputLength === 0) fail("prompt is empty");
      this.approximated = true;
    } else {
      fail(`Both prompt and input_ids for ${taskId} are both None.`);
    }

    if (!("output_tokens" in rec)) fail("missing output_tokens");
    const outputTokens = rec["output_tokens"];
    if (!isInt(outputTokens)) fail(`output_tokens must be an integer (got ${describe(outputTokens)})`);
    if (outputTokens < 1) fail(`output_tokens must be >= 1 (got ${outputTokens})`);
    // A text prompt has no ids: it never shares cached blocks (and has no keys).
    this.keep(taskId, inputLength, outputTokens, inputIds, rawIds === undefined || rawIds === null);
  }

  /** Size guards, duplicate check, then the request (with the keys just hashed, when hashing). */
  private keep(taskId: number, inputLength: number, outputTokens: number, inputIds: Uint32Array | undefined, noIds = false): void {
    const where = `${this.label} line ${this.lineNo}`;
    if (inputLength > this.maxInput) {
      this.keys?.reset();
      throw new InvalidArgumentError(where, contextMessage(inputLength, this.maxInput));
    }
    if (this.requests.length + 1 > this.maxRequests) {
      this.keys?.reset();
      throw new InvalidArgumentError(where, `dataset has more than ${this.maxRequests} requests (size limit)`);
    }
    this.totalTokens += inputLength + outputTokens;
    if (this.totalTokens > this.maxTotalTokens) {
      this.keys?.reset();
      throw new InvalidArgumentError(where, `dataset exceeds ${this.maxTotalTokens} total tokens (input + output; size limit)`);
    }

    const first = this.firstLineOfTask.get(taskId);
    if (first === undefined) {
      this.firstLineOfTask.set(taskId, this.lineNo);
    } else {
      this.duplicates++;
      if (this.duplicates <= MAX_DETAILED_DUPLICATES) {
        this.warnings.push(`${where}: duplicate task_id ${taskId} (first seen on line ${first})`);
      }
    }

    const req: SimRequest = { taskId, inputLength, outputTokens };
    if (inputIds) req.inputIds = inputIds;
    else if (this.keys && !noIds) req.blocks = this.keys.finish(this.slabs);
    const n = this.requests.length;
    if (n === this.inputLengths.length) {
      this.inputLengths = grow(this.inputLengths);
      this.outputLengths = grow(this.outputLengths);
    }
    this.inputLengths[n] = inputLength;
    this.outputLengths[n] = outputTokens;
    this.requests.push(req);
  }
}

/** The error of a prompt longer than the model's context. */
export function contextMessage(inputLength: number, limit: number): string {
  return `a prompt of ${inputLength} tokens is longer than the model's context (max_position_embeddings ${limit})`;
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** Parses dataset text already in memory. `datasetPath` (default null) names it in errors and metadata. */
export function parseDatasetText(text: string, options: DatasetOptions & { datasetPath?: string | null } = {}): Dataset {
  const path = options.datasetPath ?? null;
  const reader = new DatasetReader(path ?? "dataset", path, options);
  return readLinesSync(reader, path ?? "dataset", [Buffer.from(text, "utf8")]);
}

/** Reads a dataset from a stream of byte chunks (a file, an upload) with constant memory besides the requests kept. */
export async function readDatasetStream(
  chunks: AsyncIterable<Uint8Array>,
  label: string,
  datasetPath: string | null,
  options: DatasetOptions = {},
): Promise<Dataset> {
  return readLines(new DatasetReader(label, datasetPath, options), label, chunks);
}

/** Chunk size of file reads. */
const READ_CHUNK_BYTES = 1 << 20;

/** Streams a dataset file (constant memory besides the requests kept). */
export async function loadDatasetFile(path: string, options: DatasetOptions = {}): Promise<Dataset> {
  const stream = createReadStream(path, { highWaterMark: READ_CHUNK_BYTES });
  try {
    return await readDatasetStream(stream, path, path, options);
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw e;
    throw new InvalidArgumentError(path, `cannot read dataset: ${(e as Error).message}`);
  } finally {
    stream.destroy();
  }
}
