/**
 * TensorRT-LLM's attention-DP context balancing (`attention_dp_config: {enable_balance, timeout_iters,
 * batching_wait_iters}` in the LLM API; `PyExecutor._balance_adp_requests`, called from `_schedule` in
 * tensorrt_llm/_torch/pyexecutor/py_executor.py). Every rank schedules its batch, then the ranks
 * all-gather how many context and generation requests each scheduled, and every rank takes the same
 * decision on the same numbers: run the scheduled context requests this iteration, or hold them (the
 * iteration runs the generation requests alone; the held contexts stay active and are scheduled again).
 *
 * - When every rank has a context request and a free slot (generation requests < max_batch_size): if
 *   every rank also has generation requests, contexts are held for `batching_wait_iters` iterations in a
 *   row and run on the next one (so prefills arrive together, in fuller batches); otherwise they run.
 * - Otherwise (some rank has no context request, or is full) contexts are held until `timeout_iters`
 *   such iterations have passed in a row, or run at once when some rank has no generation request
 *   (nothing else would make progress there). This counter also advances in iterations with no context
 *   request anywhere, as TensorRT-LLM's does.
 *
 * A rank without active requests runs TensorRT-LLM's attention-DP dummy generation request
 * (`_pad_attention_dp_dummy_request`), so it counts as one generation request and no context request.
 */
export interface AdpBalanceSettings {
  /** `timeout_iters` (TensorRT-LLM's default 50). */
  timeoutIters: number;
  /** `batching_wait_iters` (TensorRT-LLM's default 10). */
  batchingWaitIters: number;
}

/** TensorRT-LLM's defaults (`AttentionDpConfig` in tensorrt_llm/llmapi/llm_args.py). */
export const ADP_BALANCE_DEFAULTS: Readonly<AdpBalanceSettings> = Object.freeze({ timeoutIters: 50, batchingWaitIters: 10 });

/** What one rank scheduled for the iteration, before balancing. */
export interface RankCounts {
  context: number;
  generation: number;
}

/** The dummy request an idle rank runs. */
export const IDLE_RANK: Readonly<RankCounts> = Object.freeze({ context: 0, generation: 1 });

export class AdpBalance {
  /** `adp_ctx_waiting_iters_count`. */
  private waiting = 0;
  /** `adp_ctx_batching_wait_iters_count`. */
  private batching = 0;

  constructor(
    private readonly settings: AdpBalanceSettings,
    private readonly maxBatchSize: number,
  ) {}

  /** Whether this iteration runs the context requests the ranks scheduled (`counts`: one entry per rank). */
  admit(counts: readonly RankCounts[]): boolean {
    let freeSlots = true;
    let allContext = true;
    let allGeneration = true;
    for (const c of counts) {
      if (c.generation >= this.maxBatchSize) freeSlots = false;
      if (c.context === 0) allContext = false;
      if (c.generation === 0) allGeneration = false;
    }
    if (freeSlots && allContext) {
      this.waiting = 0;
      if (allGeneration) {
        if (this.batching < this.settings.batchingWaitIters) {
          this.batching++;
          return false;
        }
        this.batching = 0;
      }
      return true;
    }
    this.waiting++;
    if (this.waiting >= this.settings.timeoutIters || !allGeneration) {
      this.waiting = 0;
      return true;
    }
    return false;
  }

  /**
   * `steps` more iterations in which no rank has a context request and every rank a generation request
   * (the rest of a decode run): the waiting counter advances once per iteration, wrapping at the timeout.
   */
  decodeSteps(steps: number): void {
    if (steps <= 0) return;
    const t = this.settings.timeoutIters;
    this.waiting = t <= 0 ? 0 : (this.waiting + steps) % t;
  }

  /** The counters, for tests and reports: `[waiting, batching]`. */
  get counters(): [number, number] {
    return [this.waiting, this.batching];
  }
}

/** A rank on a caller's clock that can say what it would schedule and hold its contexts (SingleEngineLoop). */
export interface BalancingRank {
  nextEventTime(): number;
  scheduledCounts(tMs: number): RankCounts;
  holdContexts(): void;
}

/**
 * Balancing before the ranks schedule at `tMs`: every due rank's counts (a rank with nothing to run counts
 * as the dummy request), the common decision, and the hold on every due rank when contexts wait.
 */
export function balanceRanksAt(ranks: readonly BalancingRank[], tMs: number, balance: AdpBalance): void {
  const counts: RankCounts[] = [];
  let any = false;
  for (const r of ranks) {
    const c = r.nextEventTime() <= tMs ? r.scheduledCounts(tMs) : IDLE_RANK;
    any ||= c.context + c.generation > 0 && c !== IDLE_RANK;
    counts.push(c.context + c.generation === 0 ? IDLE_RANK : c);
  }
  if (!any || balance.admit(counts)) return;
  for (const r of ranks) if (r.nextEventTime() <= tMs) r.holdContexts();
}
