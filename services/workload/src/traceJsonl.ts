import { InvalidArgumentError } from "@servesim/core";
import { PROMPT_NEEDS_TOKENS } from "./dataset.js";
import { readLines } from "./lineSplitter.js";
import { TraceWorkloadBuilder, type TraceWorkloadOptions, type Workload } from "./traceWorkload.js";

export interface TraceJsonlOptions extends TraceWorkloadOptions {
  /** Accept rows with a literal `text_input` (no input_length): ISL = ceil(characters / 4). */
  approxPromptTokens?: boolean;
}

const describe = (v: unknown): string => {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  if (typeof v === "object") return "an object";
  return String(v);
};

const decoder = new TextDecoder();

/**
 * AIPerf / Mooncake trace JSONL, one request (or one session turn) per line:
 * `{"timestamp": 0, "input_length": 655, "output_length": 52, "hash_ids": [46, 47]}`, with optional
 * `session_id` and `delay` (ms) for multi-turn sessions (AIPerf's multi-turn mooncake rows: a turn's
 * input_length counts its new tokens; the history is carried by the session). A row may give
 * `text_input` instead of input_length (read as ceil(characters / 4) tokens with approxPromptTokens).
 */
export class TraceJsonlReader {
  private readonly builder: TraceWorkloadBuilder;
  private readonly approx: boolean;
  private approximated = false;
  private lineNo = 0;

  constructor(
    private readonly label: string,
    datasetPath: string | null,
    options: TraceJsonlOptions = {},
  ) {
    this.builder = new TraceWorkloadBuilder(label, datasetPath, options);
    this.approx = options.approxPromptTokens ?? false;
  }

  get full(): boolean {
    return this.builder.full;
  }

  addLineBytes(buf: Uint8Array, start: number, end: number): void {
    this.lineNo++;
    if (this.full) return;
    const line = decoder.decode(buf.subarray(start, end));
    if (line.trim() === "") return;
    const where = `${this.label} line ${this.lineNo}`;
    const fail = (reason: string): never => {
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
    const number = (key: string): number | undefined => {
      const v = rec[key];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== "number" || !Number.isFinite(v)) fail(`${key} must be a number (got ${describe(v)})`);
      return v as number;
    };
    const integer = (key: string): number | undefined => {
      const v = number(key);
      if (v !== undefined && !Number.isSafeInteger(v)) fail(`${key} must be an integer (got ${v})`);
      return v;
    };

    let inputLength = integer("input_length");
    const text = rec["text_input"];
    if (inputLength === undefined) {
      if (typeof text === "string") {
        if (!this.approx) fail(PROMPT_NEEDS_TOKENS.replace("prompt without input_ids", "text_input without input_length"));
        inputLength = Math.max(1, Math.ceil([...text].length / 4));
        this.approximated = true;
      } else if (rec["messages"] !== undefined || rec["payload"] !== undefined) {
        fail("rows with raw messages or payload need a tokenizer to count their tokens: give input_length");
      } else {
        fail("missing input_length");
      }
    }
    const outputLength = integer("output_length");
    if (outputLength === undefined) fail("missing output_length");
    const rawHashIds = rec["hash_ids"];
    let hashIds: number[] | undefined;
    if (rawHashIds !== undefined && rawHashIds !== null) {
      if (!Array.isArray(rawHashIds)) fail(`hash_ids must be an array of integers (got ${describe(rawHashIds)})`);
      (rawHashIds as unknown[]).forEach((h, i) => {
        if (typeof h !== "number" || !Number.isSafeInteger(h)) fail(`hash_ids[${i}] must be an integer (got ${describe(h)})`);
      });
      hashIds = rawHashIds as number[];
    }
    const sessionId = rec["session_id"];
    if (sessionId !== undefined && sessionId !== null && typeof sessionId !== "string" && typeof sessionId !== "number") {
      fail(`session_id must be a string or a number (got ${describe(sessionId)})`);
    }
    const delay = number("delay");
    const timestamp = number("timestamp");
    if (timestamp !== undefined && timestamp < 0) fail(`timestamp must be a number of ms >= 0 (got ${timestamp})`);
    this.builder.add({
      where,
      inputLength: inputLength!,
      outputLength: outputLength!,
      ...(hashIds ? { hashIds } : {}),
      ...(sessionId !== undefined && sessionId !== null ? { session: String(sessionId) } : {}),
      ...(delay !== undefined ? { delayMs: delay } : {}),
      ...(timestamp !== undefined ? { timestampMs: timestamp } : {}),
    });
  }

  finish(): Workload {
    return this.builder.finish(this.approximated);
  }
}

/** Reads a trace JSONL stream. */
export async function readTraceJsonl(
  chunks: AsyncIterable<Uint8Array>,
  label: string,
  datasetPath: string | null,
  options: TraceJsonlOptions = {},
): Promise<Workload> {
  return readLines(new TraceJsonlReader(label, datasetPath, options), label, chunks);
}
