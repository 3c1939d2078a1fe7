import type { EngineConfig } from "../engineConfig.js";
import type { KvCacheManager } from "../kvCacheManager.js";
import { type RequestTable, ST_CONTEXT, ST_FAILED } from "../requestTable.js";

/** What the failure policy needs from the engine it belongs to. */
export interface FailureHost {
  /** Request `r` ended (finished or failed) at the end of iteration `iter` (-1: the start). */
  requestEnded(r: number, iter: number): void;
  /** The iteration at whose end a request failing now ends. */
  nowIteration(): number;
}

/**
 * Where requests fail instead of running forever, and what a pause does (TensorRT-LLM rejects such
 * requests in the executor's request validation, `tensorrt_llm/_torch/pyexecutor/py_executor.py`
 * `_validate_request` and the capacity scheduler; servesim fails them with a message that names the
 * limit):
 * - on release, a request that can never run: prompt over max_num_tokens without chunking, prompt +
 *   output over max_seq_len, more KV blocks than the pool has (per the capacity policy's reservation);
 * - on a pause (MAX_UTILIZATION), a request whose folded prompt can no longer be prefilled;
 * - the stall safety net: nothing scheduled and nothing paused while requests are active.
 */
export class FailurePolicy {
  /** Failed requests counted so far (those with index < countBelow). */
  failed = 0;
  numPaused = 0;
  pausedSinceRecord = 0;

  constructor(
    private readonly cfg: EngineConfig,
    private readonly t: RequestTable,
    private readonly kv: KvCacheManager,
    private readonly host: FailureHost,
    /** Only requests below this index count in `failed` (Simulation: the measured ones). */
    private readonly countBelow: number,
  ) {}

  /** Why request `r` can never run, or null. */
  unservableReason(r: number): string | null {
    const cfg = this.cfg;
    const t = this.t;
    const q = t.requests[r]!;
    const p = q.inputLength;
    const n = q.outputTokens;
    // A kvReady request's prompt is not prefilled here (unless a pause folds it later).
    const prefills = t.tokenBase[r] === 0;
    if (prefills && cfg.chunking === null && p > cfg.maxNumTokens) {
      return `The sum of prompt length (${p}), query length (0) should not exceed max_num_tokens (${cfg.maxNumTokens})`;
    }
    if (prefills && cfg.chunking !== null && p > cfg.maxNumTokens && cfg.maxNumTokens < cfg.chunkUnit) {
      return (
        `prompt length (${p}) exceeds max_num_tokens (${cfg.maxNumTokens}), which is smaller than the context ` +
        `chunk unit (${cfg.chunkUnit} tokens): the prompt can never be chunked`
      );
    }
    if (p + n > cfg.maxSeqLen) {
      return `prompt length (${p}) + output tokens (${n}) = ${p + n} exceeds max_seq_len (${cfg.maxSeqLen})`;
    }
    const policy = cfg.capacity;
    const need = policy.blocksToServe(p, n, cfg.tokensPerBlock);
    if (need > cfg.numBlocks) {
      return (
        `needs ${need} KV blocks (${p} prompt + ${n} output tokens${policy.blocksToServeNote} at ` +
        `${cfg.tokensPerBlock} tokens per block) but the whole KV cache has ${cfg.numBlocks} blocks`
      );
    }
    return null;
  }

  /**
   * A pause = recompute (MAX_UTILIZATION): the request frees its KV and later prefills its prompt plus
   * the tokens generated so far as one longer prompt. Returns true if the request failed (folded prompt
   * too long).
   */
  pause(r: number): boolean {
    const t = this.t;
    this.kv.release(r);
    const p = t.promptLen[r]!;
    const folded = Math.min(this.cfg.maxSeqLen, p + t.genSincePrompt[r]!);
    t.maxNew[r]! -= folded - p;
    t.promptLen[r] = folded;
    t.genSincePrompt[r] = 0;
    t.state[r] = ST_CONTEXT;
    t.pos[r] = 0;
    t.pre[r] = 0;
    t.chunk[r] = 0;
    t.pausedCount[r]!++;
    this.numPaused++;
    this.pausedSinceRecord++;
    if (this.cfg.chunking === null && folded > this.cfg.maxNumTokens) {
      this.fail(
        r,
        `paused after ${t.emitted[r]} tokens; its folded prompt (${folded} tokens) exceeds max_num_tokens ` +
          `(${this.cfg.maxNumTokens}) and chunked context is disabled, so it can never be re-prefilled`,
      );
      return true;
    }
    return false;
  }

  /**
   * The stall safety net: nothing was scheduled and nothing paused while requests are active. Fails the
   * request at which admission stopped (or the first context request) so the others can go on.
   */
  breakDeadlock(stopRequest: number, stopNeed: number, stopAvailable: number, fitting: Int32Array, fittingCount: number, firstActive: number): void {
    let r = stopRequest;
    let reason: string;
    if (r >= 0) {
      reason = `deadlock: the scheduler can make no progress; this request needs ${stopNeed} more KV blocks ` + `and only ${stopAvailable} are available`;
    } else {
      r = firstActive;
      for (let i = 0; i < fittingCount; i++) {
        if (this.t.state[fitting[i]!] === ST_CONTEXT) {
          r = fitting[i]!;
          break;
        }
      }
      reason = "deadlock: the scheduler can make no progress with this request at the head of the queue";
    }
    this.fail(r, reason);
  }

  fail(r: number, reason: string): void {
    const t = this.t;
    this.kv.release(r);
    this.kv.forget(r);
    t.state[r] = ST_FAILED;
    t.errors.set(r, reason);
    t.dropTokenTimes(r);
    if (r < this.countBelow) this.failed++;
    // Failures happen while a batch is built: now is the end of the last committed iteration, or with a
    // batch in flight (overlap) the end of the one before it.
    this.host.requestEnded(r, this.host.nowIteration());
  }
}
