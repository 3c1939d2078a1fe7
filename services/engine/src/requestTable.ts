import type { AcceptanceSampler } from "./speculative/acceptance.js";
import type { SimRequest } from "./types.js";

/**
 * Request states: TensorRT-LLM's `LlmRequestState` values where one exists
 * (cpp/include/tensorrt_llm/batch_manager/llmRequest.h; tensorrt_llm/_torch/pyexecutor/llm_request.py).
 */
export const ST_UNRELEASED = 0;
export const ST_QUEUED = 1;
/** DISAGG_GENERATION_INIT: a request whose prompt's KV arrives by transfer; it needs its blocks, then decodes. */
export const ST_DISAGG_INIT = 8;
export const ST_CONTEXT = 10;
export const ST_GENERATION = 13;
/** Overlap scheduler only: the batch in flight produces the request's last token; it is never scheduled again. */
export const ST_TO_COMPLETE = 14;
export const ST_COMPLETE = 20;
export const ST_FAILED = 30;

/**
 * Per-request state as struct-of-arrays, indexed by a global request index: for a Simulation, measured
 * requests first (dataset order), then warm-up requests; for an EngineLoop, submission order (the table
 * grows with add()). P is the current prompt length, N the tokens still allowed after it, g' the tokens
 * generated since the current prompt.
 */
export class RequestTable {
  size: number;
  readonly requests: SimRequest[];
  /** Current prompt length P (grows when a pause folds generated tokens in). */
  promptLen: Int32Array;
  /** Current maxNewTokens N (shrinks on a pause). */
  maxNew: Int32Array;
  /** Original output length: the request finishes after exactly this many tokens. */
  outputTokens: Int32Array;
  /** g': tokens appended after the current prompt. */
  genSincePrompt: Int32Array;
  /** Output tokens emitted so far (all prompts). */
  emitted: Int32Array;
  /** contextCurrentPosition. */
  pos: Int32Array;
  /** contextChunkSize for the iteration being built. */
  chunk: Int32Array;
  /** prepopulatedPromptLen of the current prefill. */
  pre: Int32Array;
  /** KV blocks held. */
  held: Int32Array;
  state: Uint8Array;
  /** 1 when the request takes part in prefix caching (reuse on and token ids or block keys given). */
  tracked: Uint8Array;
  /** Submit time, when known in advance (all at once, Poisson, trace). */
  submitMs: Float64Array;
  /**
   * Under a concurrency limit: the iteration at whose end the request was submitted (-1: at the start of
   * the run). Times are kept as iteration indices so they can be filled in once the predictor answers.
   */
  submitIter: Int32Array;
  /** Time spent in the serving front end before entering the engine (frontEnd.ts); the request starts that much before submitMs. */
  frontEndWaitMs: Float64Array;
  pausedCount: Int32Array;
  reusedTokens: Float64Array;
  readonly errors = new Map<number, string>();
  /**
   * Speculative decoding: a generation step emits its token plus the draft tokens the target accepts
   * (drawn per request and step); null without.
   */
  speculation: AcceptanceSampler | null = null;

  /** Iteration index of the first output token; later tokens follow one per iteration unless irregular. */
  firstIter: Int32Array;
  /** Output tokens produced before the request entered this engine (1 for a kvReady request, else 0). */
  tokenBase: Uint8Array;
  private irregularFlag: Uint8Array;
  /** Iteration of every token, for requests whose tokens did not come in consecutive iterations. */
  private readonly irregular = new Map<number, Int32Array>();

  constructor(requests: readonly SimRequest[], reuse: boolean, capacity = requests.length) {
    const n = Math.max(capacity, requests.length);
    this.size = 0;
    this.requests = [];
    this.promptLen = new Int32Array(n);
    this.maxNew = new Int32Array(n);
    this.outputTokens = new Int32Array(n);
    this.genSincePrompt = new Int32Array(n);
    this.emitted = new Int32Array(n);
    this.pos = new Int32Array(n);
    this.chunk = new Int32Array(n);
    this.pre = new Int32Array(n);
    this.held = new Int32Array(n);
    this.state = new Uint8Array(n);
    this.tracked = new Uint8Array(n);
    this.submitMs = new Float64Array(n);
    this.submitIter = new Int32Array(n).fill(-1);
    this.frontEndWaitMs = new Float64Array(n);
    this.pausedCount = new Int32Array(n);
    this.reusedTokens = new Float64Array(n);
    this.firstIter = new Int32Array(n);
    this.tokenBase = new Uint8Array(n);
    this.irregularFlag = new Uint8Array(n);
    for (const q of requests) this.add(q, reuse);
  }

  /** Appends a request (growing the columns when full); returns its index. */
  add(q: SimRequest, reuse: boolean): number {
    const r = this.size;
    if (r === this.promptLen.length) this.grow(Math.max(16, r * 2));
    this.requests.push(q);
    this.size = r + 1;
    this.promptLen[r] = q.inputLength;
    this.maxNew[r] = q.outputTokens;
    this.outputTokens[r] = q.outputTokens;
    if (reuse && (q.inputIds !== undefined || q.blocks !== undefined)) this.tracked[r] = 1;
    return r;
  }

  /** The columns' capacity. */
  get capacity(): number {
    return this.promptLen.length;
  }

  private grow(n: number): void {
    const g32 = (a: Int32Array, fill = 0): Int32Array => {
      const b = new Int32Array(n);
      if (fill !== 0) b.fill(fill, a.length);
      b.set(a);
      return b;
    };
    const g8 = (a: Uint8Array): Uint8Array => {
      const b = new Uint8Array(n);
      b.set(a);
      return b;
    };
    const g64 = (a: Float64Array): Float64Array => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.promptLen = g32(this.promptLen);
    this.maxNew = g32(this.maxNew);
    this.outputTokens = g32(this.outputTokens);
    this.genSincePrompt = g32(this.genSincePrompt);
    this.emitted = g32(this.emitted);
    this.pos = g32(this.pos);
    this.chunk = g32(this.chunk);
    this.pre = g32(this.pre);
    this.held = g32(this.held);
    this.state = g8(this.state);
    this.tracked = g8(this.tracked);
    this.submitMs = g64(this.submitMs);
    this.submitIter = g32(this.submitIter, -1);
    this.frontEndWaitMs = g64(this.frontEndWaitMs);
    this.pausedCount = g32(this.pausedCount);
    this.reusedTokens = g64(this.reusedTokens);
    this.firstIter = g32(this.firstIter);
    this.tokenBase = g8(this.tokenBase);
    this.irregularFlag = g8(this.irregularFlag);
  }

  /**
   * Appends the output of iteration `iter`: one token, or with speculative decoding at a generation step
   * one plus the accepted draft tokens (never beyond the output length). Returns true when the request
   * has produced all its tokens.
   */
  emit(r: number, iter: number): boolean {
    const s = this.speculation;
    // genSincePrompt is 0 when a prompt (or a paused request's folded prompt) has just completed.
    if (s !== null && this.genSincePrompt[r]! > 0) {
      const e = this.emitted[r]!;
      const n = Math.min(1 + s.accepted(r, e), this.outputTokens[r]! - e);
      for (let k = 1; k < n; k++) this.emitOne(r, iter);
    }
    return this.emitOne(r, iter);
  }

  private emitOne(r: number, iter: number): boolean {
    const e = this.emitted[r]!;
    if (e === 0) {
      this.firstIter[r] = iter;
    } else if (this.irregularFlag[r] === 1) {
      this.irregular.get(r)![e] = iter;
    } else if (iter !== this.firstIter[r]! + e) {
      const iters = new Int32Array(this.outputTokens[r]!);
      const f = this.firstIter[r]!;
      for (let k = 0; k < e; k++) iters[k] = f + k;
      iters[e] = iter;
      this.irregular.set(r, iters);
      this.irregularFlag[r] = 1;
    }
    this.genSincePrompt[r]!++;
    this.emitted[r] = e + 1;
    return e + 1 >= this.outputTokens[r]!;
  }

  /** Appends one token in each of the `steps` consecutive iterations starting at `iter` (a decode run). */
  emitRun(r: number, iter: number, steps: number): boolean {
    this.emit(r, iter);
    if (steps > 1) {
      const e = this.emitted[r]!;
      if (this.irregularFlag[r] === 1) {
        const iters = this.irregular.get(r)!;
        for (let i = 1; i < steps; i++) iters[e - 1 + i] = iter + i;
      }
      this.genSincePrompt[r]! += steps - 1;
      this.emitted[r] = e + steps - 1;
    }
    return this.emitted[r]! >= this.outputTokens[r]!;
  }

  /** Emission times of a finished request's tokens (a view on the iteration end times when regular). */
  tokenTimes(r: number, iterEnd: Float64Array): Float64Array {
    if (this.irregularFlag[r] === 1) {
      const iters = this.irregular.get(r)!;
      const times = new Float64Array(iters.length);
      for (let k = 0; k < iters.length; k++) times[k] = iterEnd[iters[k]!]!;
      return times;
    }
    const f = this.firstIter[r]!;
    return iterEnd.subarray(f, f + this.emitted[r]!);
  }

  /**
   * Emission times of the tokens this engine produced (tokenBase onwards) for a request that may still
   * be running: a fresh array.
   */
  localTokenTimes(r: number, iterEnd: Float64Array): Float64Array {
    const base = this.tokenBase[r]!;
    const e = this.emitted[r]!;
    if (this.irregularFlag[r] !== 1) {
      // One token per iteration from its first: a copy of consecutive iteration ends.
      const f = this.firstIter[r]!;
      return iterEnd.slice(f + base, f + Math.max(base, e));
    }
    const times = new Float64Array(Math.max(0, e - base));
    const iters = this.irregular.get(r)!;
    for (let k = base; k < e; k++) times[k - base] = iterEnd[iters[k]!]!;
    return times;
  }

  /** Forgets token times (a failed request keeps none). */
  dropTokenTimes(r: number): void {
    if (this.irregularFlag[r] === 1) {
      this.irregular.delete(r);
      this.irregularFlag[r] = 0;
    }
  }
}
