import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { SimRequest } from "@servesim/core";
import { InvalidArgumentError } from "@servesim/core";
import { computeDatasetMetadata, type DatasetMetadata } from "./metadata.js";

/** How a trtllm-bench JSONL dataset is read (trtllm-bench-compat.md §1). */
export interface DatasetOptions {
  /** Keep only the first N requests; 0 or undefined = all (`--num_requests`). */
  numRequests?: number;
  /** Accept `prompt`-only lines with ISL = ceil(characters / 4) (`--approx-prompt-tokens`). */
  approxPromptTokens?: boolean;
  /** Keep token ids (needed only for prefix-cache reuse). Default true. */
  keepInputIds?: boolean;
  /** Size guard: more requests than this is an error. */
  maxRequests?: number;
  /** Size guard: Σ (ISL + OSL) above this is an error. */
  maxTotalTokens?: number;
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

/**
 * Accumulates dataset lines one at a time, so a file can be streamed without holding its text.
 * `label` names the source in errors (`<label> line <n>`).
 */
export class DatasetReader {
  private readonly requests: SimRequest[] = [];
  private readonly inputLengths: number[] = [];
  private readonly outputLengths: number[] = [];
  private readonly firstLineOfTask = new Map<number, number>();
  private readonly warnings: string[] = [];
  private duplicates = 0;
  private totalTokens = 0;
  private lineNo = 0;
  private approximated = false;
  private readonly limit: number;
  private readonly maxRequests: number;
  private readonly maxTotalTokens: number;
  private readonly keepIds: boolean;
  private readonly approx: boolean;

  constructor(
    private readonly label: string,
    private readonly datasetPath: string | null,
    options: DatasetOptions = {},
  ) {
    this.limit = optionalLimit(options.numRequests, "numRequests");
    this.maxRequests = optionalLimit(options.maxRequests, "maxRequests");
    this.maxTotalTokens = optionalLimit(options.maxTotalTokens, "maxTotalTokens");
    this.keepIds = options.keepInputIds ?? true;
    this.approx = options.approxPromptTokens ?? false;
  }

  /** True once `numRequests` lines were kept: later lines need not be read. */
  get full(): boolean {
    return this.requests.length >= this.limit;
  }

  /** Parses one line (without its newline). Blank lines are skipped. */
  addLine(line: string): void {
    this.lineNo++;
    if (this.full || line.trim() === "") return;
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
      if (this.keepIds) inputIds = Uint32Array.from(rawIds as number[]);
    } else if (prompt !== undefined && prompt !== null) {
      if (!this.approx) fail("prompt without input_ids needs a tokenizer; regenerate the dataset with input_ids");
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

    if (this.requests.length + 1 > this.maxRequests) {
      fail(`dataset has more than ${this.maxRequests} requests (size limit)`);
    }
    this.totalTokens += inputLength + outputTokens;
    if (this.totalTokens > this.maxTotalTokens) {
      fail(`dataset exceeds ${this.maxTotalTokens} total tokens (input + output; size limit)`);
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
    this.requests.push(req);
    this.inputLengths.push(inputLength);
    this.outputLengths.push(outputTokens);
  }

  finish(): Dataset {
    if (this.requests.length === 0) throw new InvalidArgumentError(this.label, "dataset is empty (no requests)");
    const warnings = [...this.warnings];
    if (this.duplicates > MAX_DETAILED_DUPLICATES) {
      warnings.push(`${this.label}: ${this.duplicates} duplicate task_ids in total`);
    }
    return {
      requests: this.requests,
      metadata: computeDatasetMetadata(this.inputLengths, this.outputLengths, this.datasetPath),
      warnings,
      approxPromptTokens: this.approximated,
    };
  }
}

/** Parses dataset text already in memory. `datasetPath` (default null) names it in errors and metadata. */
export function parseDatasetText(text: string, options: DatasetOptions & { datasetPath?: string | null } = {}): Dataset {
  const path = options.datasetPath ?? null;
  const reader = new DatasetReader(path ?? "dataset", path, options);
  let start = 0;
  while (start <= text.length && !reader.full) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const line = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
    reader.addLine(line);
    start = end + 1;
  }
  return reader.finish();
}

/** Streams a dataset file line by line (constant memory besides the requests kept). */
export async function loadDatasetFile(path: string, options: DatasetOptions = {}): Promise<Dataset> {
  const reader = new DatasetReader(path, path, options);
  const stream = createReadStream(path, { encoding: "utf8" });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      reader.addLine(line);
      if (reader.full) break;
    }
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw e;
    throw new InvalidArgumentError(path, `cannot read dataset: ${(e as Error).message}`);
  } finally {
    lines.close();
    stream.destroy();
  }
  return reader.finish();
}
