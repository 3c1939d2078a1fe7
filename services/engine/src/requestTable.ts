import type { SimRequest } from "./types.js";

/** Request states (TensorRT-LLM LlmRequestState values where one exists; trtllm-scheduling.md §3). */
export const ST_UNRELEASED = 0;
export const ST_QUEUED = 1;
export const ST_CONTEXT = 10;
export const ST_GENERATION = 13;
/** Overlap scheduler only: the batch in flight produces the request's last token; it is never scheduled again. */
export const ST_TO_COMPLETE = 14;
export const ST_COMPLETE = 20;
export const ST_FAILED = 30;

/**
 * Per-request state as struct-of-arrays, indexed by a global request index: measured requests first
 * (dataset order), then warm-up requests. Symbols follow trtllm-scheduling.md §1.
 */
export class RequestTable {
  readonly size: number;
  readonly requests: readonly SimRequest[];
  /** Current prompt length P (grows when a pause folds generated tokens in). */
  readonly promptLen: Int32Array;
  /** Current maxNewTokens N (shrinks on a pause). */
  readonly maxNew: Int32Array;
  /** Original output length: the request finishes after exactly this many tokens. */
  readonly outputTokens: Int32Array;
  /** g': tokens appended after the current prompt. */
  readonly genSincePrompt: Int32Array;
  /** Output tokens emitted so far (all prompts). */
  readonly emitted: Int32Array;
  /** contextCurrentPosition. */
  readonly pos: Int32Array;
  /** contextChunkSize for the iteration being built. */
  readonly chunk: Int32Array;
  /** prepopulatedPromptLen of the current prefill. */
  readonly pre: Int32Array;
  /** KV blocks held. */
  readonly held: Int32Array;
  readonly state: Uint8Array;
  /** 1 when the request takes part in prefix caching (reuse on and token ids or block keys given). */
  readonly tracked: Uint8Array;
  /** Submit time, when known in advance (all at once, Poisson, trace). */
  readonly submitMs: Float64Array;
  /**
   * Under a concurrency limit: the iteration at whose end the request was submitted (-1: at the start of
   * the run). Times are kept as iteration indices so they can be filled in once the predictor answers.
   */
  readonly submitIter: Int32Array;
  readonly pausedCount: Int32Array;
  readonly reusedTokens: Float64Array;
  readonly errors = new Map<number, string>();

  /** Iteration index of the first output token; later tokens follow one per iteration unless irregular. */
  readonly firstIter: Int32Array;
  private readonly irregularFlag: Uint8Array;
  /** Iteration of every token, for requests whose tokens did not come in consecutive iterations. */
  private readonly irregular = new Map<number, Int32Array>();

  constructor(requests: readonly SimRequest[], reuse: boolean) {
    const n = requests.length;
    this.size = n;
    this.requests = requests;
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
    this.pausedCount = new Int32Array(n);
    this.reusedTokens = new Float64Array(n);
    this.firstIter = new Int32Array(n);
    this.irregularFlag = new Uint8Array(n);
    for (let r = 0; r < n; r++) {
      const q = requests[r]!;
      this.promptLen[r] = q.inputLength;
      this.maxNew[r] = q.outputTokens;
      this.outputTokens[r] = q.outputTokens;
      if (reuse && (q.inputIds !== undefined || q.blocks !== undefined)) this.tracked[r] = 1;
    }
  }

  /** Appends one output token at iteration `iter`. Returns true when the request has produced all its tokens. */
  emit(r: number, iter: number): boolean {
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

  /** Forgets token times (a failed request keeps none). */
  dropTokenTimes(r: number): void {
    if (this.irregularFlag[r] === 1) {
      this.irregular.delete(r);
      this.irregularFlag[r] = 0;
    }
  }
}
