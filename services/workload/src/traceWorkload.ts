import { BlockKeyBuilder, InvalidArgumentError, KeySlabs, type SimRequest } from "@servesim/core";
import { contextMessage, type Dataset } from "./dataset.js";
import { computeDatasetMetadata } from "./metadata.js";
import { hashBlockSeed, outputSeed, uniqueSeed, virtualToken } from "./virtualTokens.js";

/** Tokens per hash_ids block when a trace does not say (AIPerf's --isl-block-size default; Mooncake's traces). */
export const DEFAULT_TRACE_BLOCK_SIZE = 512;

/**
 * Multi-turn sessions (AIPerf's and vLLM's multi-turn conversations): every request is one turn. A turn's
 * prompt is the whole conversation so far — each earlier turn's input and output — followed by its own new
 * input, so a turn can reuse the KV-cache blocks of the one before it. Turns of a session are sent one at
 * a time: a turn is submitted `delayMs` (the user's think time) after the previous turn's last token.
 */
export interface Sessions {
  /** Number of sessions. */
  count: number;
  /** Per request: its session (0-based, in order of first appearance in the file). */
  sessionOf: Int32Array;
  /** Per request: its turn within the session (0 = the first). */
  turnOf: Int32Array;
  /** Per request: think time (ms) between the previous turn's last token and this turn; 0 for a first turn. */
  delayMs: Float64Array;
  /** Per request: the turn's new input tokens (its input length minus the history it carries). */
  newTokens: Int32Array;
}

/** A dataset, plus what traces add: arrival times and multi-turn sessions. */
export interface Workload extends Dataset {
  /**
   * Per request: arrival time in ms since the trace's first timestamp (fixed-schedule replay), NaN where
   * a line has none; undefined when no line has one.
   */
  timestampsMs?: Float64Array;
  /** Set when the dataset has multi-turn sessions. */
  sessions?: Sessions;
}

/** One request as a trace row describes it. */
export interface TraceRow {
  /** Where the row is, for errors: "<file> line 7". */
  where: string;
  /** New input tokens (for a session turn: beyond the history). */
  inputLength: number;
  outputLength: number;
  /** AIPerf / Mooncake prefix blocks of the new input: equal ids are equal content. */
  hashIds?: readonly number[];
  /** The session this row is a turn of (rows in file order); undefined: a single-turn request. */
  session?: string;
  /** Think time before this turn (ms). */
  delayMs?: number;
  /** Arrival time (ms on any fixed origin: the workload's times are relative to the earliest). */
  timestampMs?: number;
}

export interface TraceWorkloadOptions {
  /** Keep only the first N requests; 0 or undefined = all. */
  numRequests?: number;
  maxRequests?: number;
  maxTotalTokens?: number;
  /** Prefix-cache block size to hash prompts for (the engine's tokens_per_block); 0: no keys. */
  tokensPerBlock?: number;
  /** Tokens per hash_ids block (default 512). */
  blockSize?: number;
  /** The model's context (max_position_embeddings): a longer prompt (history included) is an error. */
  maxInputLength?: number;
}

/** Longest prompt a turn may reach (with its history): the engine's lengths are 32-bit. */
const MAX_PROMPT_TOKENS = 1 << 30;

interface SessionState {
  index: number;
  turns: number;
  /** Tokens of the conversation so far (inputs and outputs of earlier turns). */
  history: number;
  /** Output of the previous turn, pushed into the keys when the next turn comes. */
  pendingOutput: number;
  pendingOutputSeed: number;
  keys: BlockKeyBuilder | undefined;
}

const limitOf = (v: number | undefined): number => (v === undefined || v === 0 ? Infinity : v);

/**
 * Turns trace rows into requests: lengths, arrival times, sessions, and the prompts' block keys computed
 * from stand-in tokens (virtualTokens.ts), so shared hash_ids and a session's history are reused exactly
 * as real tokens would be. Task ids are the rows' ordinals.
 */
export class TraceWorkloadBuilder {
  private readonly requests: SimRequest[] = [];
  private readonly isl: number[] = [];
  private readonly osl: number[] = [];
  private readonly timestamps: number[] = [];
  private anyTimestamp = false;
  private readonly sessionIds = new Map<string, SessionState>();
  private readonly sessionOf: number[] = [];
  private readonly turnOf: number[] = [];
  private readonly delays: number[] = [];
  private readonly newTokens: number[] = [];
  private totalTokens = 0;
  private readonly tpb: number;
  private readonly blockSize: number;
  private readonly limit: number;
  private readonly maxRequests: number;
  private readonly maxTotalTokens: number;
  private readonly maxInput: number;
  private readonly single: BlockKeyBuilder | undefined;
  private readonly slabs = new KeySlabs();
  readonly warnings: string[] = [];

  constructor(
    private readonly label: string,
    private readonly datasetPath: string | null,
    options: TraceWorkloadOptions = {},
  ) {
    this.tpb = options.tokensPerBlock ?? 0;
    this.blockSize = options.blockSize || DEFAULT_TRACE_BLOCK_SIZE;
    if (!Number.isInteger(this.blockSize) || this.blockSize < 1) throw new InvalidArgumentError("blockSize", `must be an integer >= 1 (got ${this.blockSize})`);
    this.limit = limitOf(options.numRequests);
    this.maxRequests = options.maxRequests ?? Infinity;
    this.maxTotalTokens = options.maxTotalTokens ?? Infinity;
    this.maxInput = options.maxInputLength || Infinity;
    this.single = this.tpb > 0 ? new BlockKeyBuilder(this.tpb) : undefined;
  }

  get full(): boolean {
    return this.requests.length >= this.limit;
  }

  get size(): number {
    return this.requests.length;
  }

  add(row: TraceRow): void {
    if (this.full) return;
    const fail = (reason: string): never => {
      throw new InvalidArgumentError(row.where, reason);
    };
    const { inputLength, outputLength } = row;
    if (!Number.isSafeInteger(inputLength) || inputLength < 1) fail(`input length must be an integer >= 1 (got ${inputLength})`);
    if (!Number.isSafeInteger(outputLength) || outputLength < 1) fail(`output length must be an integer >= 1 (got ${outputLength})`);
    const hashIds = row.hashIds ?? [];
    const bs = this.blockSize;
    if (hashIds.length * bs > inputLength && inputLength - (hashIds.length - 1) * bs <= 0) {
      fail(`hash_ids has ${hashIds.length} blocks of ${bs} tokens, more than input_length ${inputLength} can hold (at most ${Math.ceil(inputLength / bs)})`);
    }
    if (row.delayMs !== undefined && !(Number.isFinite(row.delayMs) && row.delayMs >= 0)) fail(`delay must be a number of ms >= 0 (got ${row.delayMs})`);
    if (row.timestampMs !== undefined && !Number.isFinite(row.timestampMs)) fail(`timestamp must be a finite number of ms (got ${row.timestampMs})`);

    const ordinal = this.requests.length;
    if (ordinal + 1 > this.maxRequests) fail(`dataset has more than ${this.maxRequests} requests (size limit)`);

    let session: SessionState | undefined;
    let history = 0;
    if (row.session !== undefined) {
      session = this.sessionIds.get(row.session);
      if (session === undefined) {
        session = {
          index: this.sessionIds.size,
          turns: 0,
          history: 0,
          pendingOutput: 0,
          pendingOutputSeed: 0,
          keys: this.tpb > 0 ? new BlockKeyBuilder(this.tpb) : undefined,
        };
        this.sessionIds.set(row.session, session);
      }
      history = session.history;
    }
    const promptLength = history + inputLength;
    if (promptLength > this.maxInput) {
      fail(
        history > 0
          ? `${contextMessage(promptLength, this.maxInput)}: the turn carries ${history} tokens of history`
          : contextMessage(promptLength, this.maxInput),
      );
    }
    if (promptLength > MAX_PROMPT_TOKENS) fail(`the turn's prompt (history ${history} + input ${inputLength} tokens) exceeds ${MAX_PROMPT_TOKENS} tokens`);
    this.totalTokens += promptLength + outputLength;
    if (this.totalTokens > this.maxTotalTokens) fail(`dataset exceeds ${this.maxTotalTokens} total tokens (input + output; size limit)`);

    const req: SimRequest = { taskId: ordinal, inputLength: promptLength, outputTokens: outputLength };
    const keys = session ? session.keys : this.single;
    if (keys) {
      if (session && session.pendingOutput > 0) pushContent(keys, session.pendingOutputSeed, session.pendingOutput);
      const hashed = Math.min(hashIds.length * bs, inputLength);
      for (let b = 0; b < hashIds.length; b++) {
        const h = hashIds[b]!;
        if (!Number.isSafeInteger(h)) fail(`hash_ids[${b}] must be an integer (got ${String(h)})`);
        pushContent(keys, hashBlockSeed(h), Math.min(bs, hashed - b * bs));
      }
      if (inputLength > hashed) pushContent(keys, uniqueSeed(ordinal), inputLength - hashed);
      req.blocks = session ? keys.snapshot() : keys.finish(this.slabs);
    } else {
      for (let b = 0; b < hashIds.length; b++) if (!Number.isSafeInteger(hashIds[b])) fail(`hash_ids[${b}] must be an integer (got ${String(hashIds[b])})`);
    }
    if (session) {
      this.sessionOf.push(session.index);
      this.turnOf.push(session.turns);
      this.delays.push(session.turns === 0 ? 0 : (row.delayMs ?? 0));
      this.newTokens.push(inputLength);
      session.turns++;
      session.history = promptLength + outputLength;
      session.pendingOutput = outputLength;
      session.pendingOutputSeed = outputSeed(ordinal);
    } else {
      this.sessionOf.push(-1);
      this.turnOf.push(0);
      this.delays.push(0);
      this.newTokens.push(inputLength);
    }
    if (row.timestampMs !== undefined) this.anyTimestamp = true;
    this.timestamps.push(row.timestampMs ?? Number.NaN);
    this.requests.push(req);
    this.isl.push(promptLength);
    this.osl.push(outputLength);
  }

  finish(approxPromptTokens = false): Workload {
    if (this.requests.length === 0) throw new InvalidArgumentError(this.label, "dataset is empty (no requests)");
    const out: Workload = {
      requests: this.requests,
      metadata: computeDatasetMetadata(this.isl, this.osl, this.datasetPath),
      warnings: this.warnings,
      approxPromptTokens,
    };
    if (this.anyTimestamp) {
      // Relative to the trace's first arrival (a trace may use absolute epoch times).
      let first = Infinity;
      for (const t of this.timestamps) if (t < first) first = t;
      out.timestampsMs = Float64Array.from(this.timestamps, (t) => t - first);
    }
    if (this.sessionIds.size > 0) {
      // Rows without a session are sessions of one turn each.
      let count = this.sessionIds.size;
      for (let i = 0; i < this.sessionOf.length; i++) if (this.sessionOf[i]! < 0) this.sessionOf[i] = count++;
      out.sessions = {
        count,
        sessionOf: Int32Array.from(this.sessionOf),
        turnOf: Int32Array.from(this.turnOf),
        delayMs: Float64Array.from(this.delays),
        newTokens: Int32Array.from(this.newTokens),
      };
    }
    return out;
  }
}

/** Pushes `count` stand-in tokens of the content `seed` stands for. */
function pushContent(keys: BlockKeyBuilder, seed: number, count: number): void {
  for (let j = 0; j < count; j++) keys.push(virtualToken(seed, j));
}
