import { readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Tokenizer as TokenizerType } from "@huggingface/tokenizers";
import { InvalidArgumentError, NumpyLegacyRandom } from "@servesim/core";
import type { JSONParser as JSONParserType } from "@streamparser/json";
import { DEFAULT_SEED, datasetLine } from "./generator.js";
import { LineSplitter } from "./lineSplitter.js";

/** Text to token ids. */
export interface TextTokenizer {
  /** With special tokens (BOS...) as Hugging Face's `tokenizer.encode(text)` adds them, or without. */
  encode(text: string, addSpecialTokens: boolean): number[];
}

/**
 * A Hugging Face tokenizer read from a local `tokenizer.json` (a file, or a directory holding it and
 * optionally `tokenizer_config.json`) with a maintained tokenizer library; nothing is downloaded.
 */
export function loadTokenizer(path: string): TextTokenizer {
  const field = "tokenizer";
  let file = path;
  let config: Record<string, unknown> = {};
  try {
    if (statSync(path).isDirectory()) {
      file = join(path, "tokenizer.json");
      try {
        config = JSON.parse(readFileSync(join(path, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT")
          throw new InvalidArgumentError(field, `${join(path, "tokenizer_config.json")}: ${(e as Error).message}`);
      }
    }
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw e;
    throw new InvalidArgumentError(field, `${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InvalidArgumentError(
      field,
      `${file}: ${code === "ENOENT" ? "no such file (a tokenizer.json is needed)" : `not a tokenizer.json (${(e as Error).message})`}`,
    );
  }
  let tok: TokenizerType;
  try {
    // Loaded on first use: only converting a ShareGPT file needs a tokenizer (start-up time is part of every run).
    const { Tokenizer } = createRequire(import.meta.url)("@huggingface/tokenizers") as { Tokenizer: typeof TokenizerType };
    tok = new Tokenizer(json as never, config as never);
  } catch (e) {
    throw new InvalidArgumentError(field, `${file}: cannot build the tokenizer (${(e as Error).message})`);
  }
  return { encode: (text, addSpecialTokens) => tok.encode(text, { add_special_tokens: addSpecialTokens }).ids };
}

export interface ShareGptOptions {
  tokenizer: TextTokenizer;
  /** Keep the first N conversations that pass the filters; 0 or undefined = all. */
  numRequests?: number;
  /** Every output this many tokens (instead of the reply's token count). */
  outputLen?: number;
  /** Outputs drawn as max(1, ceil(normal(mean, stdev))), seeded like trtllm-bench's --output-len-dist. */
  outputLenDist?: { mean: number; stdev: number };
  /** Skip prompts longer than this (they do not count toward numRequests), as trtllm-bench does. */
  maxInputLen?: number;
  seed?: number;
  /**
   * Multi-turn: every human turn with its reply becomes one session turn, written as AIPerf trace lines
   * (`session_id`, `input_length` = the turn's new tokens, `output_length`, `delay`), instead of the first
   * exchange as a trtllm-bench line.
   */
  multiTurn?: boolean;
  /** Multi-turn: think time written as each later turn's delay (ms). */
  thinkTimeMs?: number;
}

/** What a conversion kept and skipped. */
export interface ShareGptStats {
  conversations: number;
  kept: number;
  /** Fewer than one human message followed by a reply. */
  tooShort: number;
  /** Prompt longer than maxInputLen. */
  tooLong: number;
}

interface Message {
  from: string;
  value: string;
}

const HUMAN = new Set(["human", "user"]);
const MODEL = new Set(["gpt", "assistant", "chatgpt", "bing", "bard", "model"]);

/**
 * Converts a ShareGPT-style file — a JSON array of `{"id", "conversations": [{"from": "human"|"gpt",
 * "value"}, ...]}`, or the same objects one per line — into servesim dataset lines, streaming (the file
 * may be larger than a string can hold). Single-turn (trtllm-bench / vLLM): the first human message is
 * the prompt, the reply's token count the output length. Errors name the conversation.
 */
export class ShareGptConverter {
  readonly stats: ShareGptStats = { conversations: 0, kept: 0, tooShort: 0, tooLong: 0 };
  private readonly lengths: NumpyLegacyRandom | undefined;
  private readonly limit: number;

  constructor(private readonly options: ShareGptOptions) {
    const d = options.outputLenDist;
    if (options.outputLen !== undefined && d !== undefined) throw new InvalidArgumentError("outputLen", "give outputLen or outputLenDist, not both");
    if (options.outputLen !== undefined && !(Number.isInteger(options.outputLen) && options.outputLen >= 1)) {
      throw new InvalidArgumentError("outputLen", `must be an integer >= 1 (got ${options.outputLen})`);
    }
    if (d !== undefined && !(Number.isFinite(d.mean) && d.mean >= 1 && Number.isFinite(d.stdev) && d.stdev >= 0)) {
      throw new InvalidArgumentError("outputLenDist", `needs a mean >= 1 and a stdev >= 0 (got ${d.mean}, ${d.stdev})`);
    }
    this.lengths = d ? new NumpyLegacyRandom(options.seed ?? DEFAULT_SEED) : undefined;
    this.limit = options.numRequests || Infinity;
  }

  get full(): boolean {
    return this.stats.kept >= this.limit;
  }

  /** Dataset lines for one conversation (none when it is skipped). */
  convert(entry: unknown, where: string): string[] {
    this.stats.conversations++;
    const messages = this.messages(entry, where);
    const o = this.options;
    const tok = o.tokenizer;
    if (!o.multiTurn) {
      const [first, reply] = messages;
      if (first === undefined || reply === undefined || !HUMAN.has(first.from) || !MODEL.has(reply.from)) {
        this.stats.tooShort++;
        return [];
      }
      const ids = tok.encode(first.value, true);
      if (ids.length === 0 || (o.maxInputLen !== undefined && ids.length > o.maxInputLen)) {
        this.stats.tooLong++;
        return [];
      }
      const output = this.outputLength(() => tok.encode(reply.value, true).length);
      return [datasetLine(this.stats.kept++, ids, output)];
    }
    const lines: string[] = [];
    const session = this.sessionId(entry);
    for (let i = 0; i + 1 < messages.length; i++) {
      const human = messages[i]!;
      const reply = messages[i + 1]!;
      if (!HUMAN.has(human.from) || !MODEL.has(reply.from)) continue;
      const turn = lines.length;
      // The first turn starts the conversation (BOS); later turns continue it.
      const input = tok.encode(human.value, turn === 0).length;
      if (input === 0) continue;
      const output = this.outputLength(() => tok.encode(reply.value, false).length);
      const row: Record<string, unknown> = { session_id: session, input_length: input, output_length: output };
      if (turn > 0) row["delay"] = o.thinkTimeMs ?? 0;
      lines.push(JSON.stringify(row));
      i++;
    }
    if (lines.length === 0) {
      this.stats.tooShort++;
      return [];
    }
    this.stats.kept++;
    return lines;
  }

  private outputLength(count: () => number): number {
    const o = this.options;
    if (o.outputLen !== undefined) return o.outputLen;
    if (this.lengths && o.outputLenDist) return Math.max(1, Math.ceil(o.outputLenDist.mean + o.outputLenDist.stdev * this.lengths.gauss()));
    return Math.max(1, count());
  }

  private sessionId(entry: unknown): string {
    const id = (entry as Record<string, unknown>)["id"];
    return typeof id === "string" || typeof id === "number" ? String(id) : `conversation-${this.stats.conversations - 1}`;
  }

  private messages(entry: unknown, where: string): Message[] {
    const fail = (reason: string): never => {
      throw new InvalidArgumentError(where, reason);
    };
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) fail("expected a conversation object");
    const conv = (entry as Record<string, unknown>)["conversations"] ?? (entry as Record<string, unknown>)["conversation"];
    if (!Array.isArray(conv)) fail('expected "conversations": a list of {"from", "value"} messages');
    return (conv as unknown[]).map((m, i) => {
      if (m === null || typeof m !== "object") fail(`conversations[${i}] must be an object`);
      const r = m as Record<string, unknown>;
      const from = r["from"] ?? r["role"];
      const value = r["value"] ?? r["content"];
      if (typeof from !== "string") fail(`conversations[${i}].from must be a string`);
      if (typeof value !== "string") fail(`conversations[${i}].value must be a string`);
      return { from: (from as string).toLowerCase(), value: value as string };
    });
  }
}

/**
 * Streams a ShareGPT file (JSON array or JSONL) through a converter, yielding dataset lines as soon as
 * each conversation is read; reading stops once the converter is full.
 */
export async function* convertShareGpt(chunks: AsyncIterable<Uint8Array>, converter: ShareGptConverter, label: string): AsyncGenerator<string> {
  const pending: string[] = [];
  let mode: "array" | "lines" | undefined;
  let index = 0;
  const { JSONParser } = (await import("@streamparser/json")) as { JSONParser: typeof JSONParserType };
  const parser = new JSONParser({ paths: ["$.*"], keepStack: false });
  // The parser routes exceptions of its callbacks to onError: keep the first, throw it after write().
  let failure: unknown;
  parser.onValue = ({ value }) => {
    if (failure !== undefined) return;
    try {
      if (!converter.full) pending.push(...converter.convert(value, `${label} conversation ${index}`));
    } catch (e) {
      failure = e;
    }
    index++;
  };
  parser.onError = (e) => {
    failure ??= new InvalidArgumentError(`${label} conversation ${index}`, `invalid JSON: ${e.message}`);
  };
  const lines = new LineSplitter(label, (buf, start, end, lineNo) => {
    const text = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString("utf8");
    if (text.trim() === "" || converter.full) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new InvalidArgumentError(`${label} line ${lineNo}`, `invalid JSON: ${(e as Error).message}`);
    }
    pending.push(...converter.convert(value, `${label} line ${lineNo}`));
  });
  for await (const piece of chunks) {
    let chunk = piece;
    if (mode === undefined) {
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3); // a UTF-8 BOM
      const first = chunk.find((c) => c !== 32 && c !== 9 && c !== 10 && c !== 13);
      if (first === undefined) continue;
      mode = first === 91 ? "array" : "lines";
    }
    if (mode === "array") parser.write(chunk);
    else lines.push(chunk);
    if (failure !== undefined) throw failure;
    yield* pending.splice(0);
    if (converter.full) return;
  }
  if (mode === "array" && !parser.isEnded) parser.end();
  if (failure !== undefined) throw failure;
  if (mode === "lines") lines.end();
  yield* pending.splice(0);
}
