import type { RequestTable } from "./requestTable.js";

/**
 * TensorRT-LLM's context batch waiting (`batch_wait_timeout_iters`, `batch_wait_max_tokens_ratio` in the
 * LLM API; `PyExecutor._waiting_requests`, tensorrt_llm/_torch/pyexecutor/py_executor.py). When an
 * iteration would run new context requests next to generation requests, the executor holds the contexts
 * back (the iteration runs the generation requests alone) until either the iteration's tokens — every
 * scheduled context request's full token count plus one per generation request — reach
 * `maxTokensRatio × max_num_tokens`, or it has held them `timeoutIters` iterations in a row. The point is
 * to run prefills in fuller batches; the price is up to `timeoutIters` decode iterations of TTFT for a
 * request that arrives alone. Iterations without generation requests never wait (nothing else would
 * make progress), so a cold start is not delayed. As in TensorRT-LLM, either knob at 0 releases every
 * time (a held count ≥ 0 iterations, or ≥ 0 tokens), so waiting happens only with both > 0.
 */
export interface BatchWaitSettings {
  /** `batch_wait_timeout_iters`: consecutive iterations contexts may be held. */
  timeoutIters: number;
  /** `batch_wait_max_tokens_ratio`: the token fill, as a fraction of max_num_tokens, that releases them. */
  maxTokensRatio: number;
}

export class BatchWaiting {
  /** `batch_wait_iters_count`: iterations the current contexts have been held. */
  private held = 0;
  private readonly threshold: number;

  constructor(
    private readonly settings: BatchWaitSettings,
    maxNumTokens: number,
  ) {
    this.threshold = settings.maxTokensRatio * maxNumTokens;
  }

  /** TensorRT-LLM's `enable_batch_waiting` (either knob > 0). */
  static enabled(s: BatchWaitSettings | undefined): s is BatchWaitSettings {
    return s !== undefined && (s.timeoutIters > 0 || s.maxTokensRatio > 0);
  }

  /** True while contexts are being held (the next iteration may still hold them: no decode-run fast path). */
  get holding(): boolean {
    return this.held > 0;
  }

  /**
   * Whether the iteration runs its `numContext` scheduled contexts (`context[0..numContext)`) next to
   * generation requests holding `generationTokens` tokens of the budget (1 + draft tokens each). Call only
   * when both are > 0.
   */
  release(t: RequestTable, context: Int32Array, numContext: number, generationTokens: number): boolean {
    let tokens = generationTokens;
    for (let i = 0; i < numContext; i++) {
      const r = context[i]!;
      tokens += t.promptLen[r]! + t.genSincePrompt[r]!;
    }
    if (this.held >= this.settings.timeoutIters || tokens >= this.threshold) {
      this.held = 0;
      return true;
    }
    this.held++;
    return false;
  }
}
