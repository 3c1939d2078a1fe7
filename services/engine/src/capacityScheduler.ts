import { ceilDiv, type EngineConfig, POLICY_MAX_UTILIZATION, POLICY_STATIC_BATCH } from "./engineConfig.js";
import type { KvCacheManager } from "./kvCacheManager.js";
import { type RequestTable, ST_CONTEXT, ST_GENERATION, ST_TO_COMPLETE } from "./requestTable.js";

/**
 * The capacity scheduler (trtllm-scheduling.md §5): picks the active requests that may run this
 * iteration (`fitting`, in policy order) and, under MAX_UTILIZATION, the ones to pause.
 */
export class CapacityScheduler {
  readonly fitting: Int32Array;
  fittingCount = 0;
  readonly paused: Int32Array;
  pausedCount = 0;
  /** The request at which admission stopped for lack of blocks (-1 if none), for the stall safety net. */
  stopRequest = -1;
  stopNeed = 0;
  stopAvailable = 0;
  private readonly pending: Int32Array;

  constructor(
    private readonly cfg: EngineConfig,
    private readonly t: RequestTable,
    private readonly kv: KvCacheManager,
  ) {
    this.fitting = new Int32Array(cfg.maxNumActive);
    this.paused = new Int32Array(cfg.maxNumActive);
    this.pending = new Int32Array(cfg.maxNumActive);
  }

  schedule(active: Int32Array, count: number): void {
    this.fittingCount = 0;
    this.pausedCount = 0;
    this.stopRequest = -1;
    const skipping = this.kv.hasTracked && this.cfg.policy !== POLICY_STATIC_BATCH;
    if (skipping) this.kv.beginSkipPass(active, count);
    if (this.cfg.policy === POLICY_MAX_UTILIZATION) this.maxUtilization(active, count, skipping);
    else this.noEvict(active, count, this.cfg.policy === POLICY_STATIC_BATCH, skipping);
  }

  /** remainingBlocksToCompletion (§6.3): blocks still to allocate to reach P + N tokens. */
  remainingBlocksToCompletion(r: number): number {
    const t = this.t;
    const { tokensPerBlock: tpb, maxSeqLen: w } = this.cfg;
    const P = t.promptLen[r]!;
    const ctxBlocks = (Math.min(P, w) / tpb) | 0;
    const totalBlocks = ceilDiv(Math.min(P + t.maxNew[r]!, w), tpb);
    const alloc = t.held[r]!;
    return alloc < ctxBlocks ? ctxBlocks - alloc + (totalBlocks - ctxBlocks) : totalBlocks - alloc;
  }

  /** neededBlocksOneStep (§6.3), one-step look-ahead (pp = 1). */
  neededBlocksOneStep(r: number): number {
    const t = this.t;
    const { tokensPerBlock: tpb, maxSeqLen: w } = this.cfg;
    const P = t.promptLen[r]!;
    const st = t.state[r];
    if (st === ST_CONTEXT && t.held[r] === 0) return ceilDiv(Math.min(P, w), tpb);
    if (st === ST_GENERATION) {
      const cur = P + t.genSincePrompt[r]! - 1;
      const next = cur + Math.min(1, t.maxNew[r]! - (cur - P));
      if (next > w) return 0;
      return ceilDiv(next, tpb) - ceilDiv(cur, tpb);
    }
    return 0;
  }

  /** GUARANTEED_NO_EVICT (§5.1) and STATIC_BATCH (§5.2). */
  private noEvict(active: Int32Array, count: number, staticBatch: boolean, skipping: boolean): void {
    const t = this.t;
    const maxReq = this.cfg.maxNumActive;
    const fitting = this.fitting;
    const pending = this.pending;
    let avail = this.kv.pool.freeBlocks;
    let n = 0;
    let pend = 0;
    // Pass 1, with remainingBlocksToCompletion inlined: a decoding request has P <= W and held >= floor(P/tpb).
    const { tokensPerBlock: tpb, maxSeqLen: w } = this.cfg;
    const state = t.state;
    const promptLen = t.promptLen;
    const maxNew = t.maxNew;
    const held = t.held;
    for (let i = 0; i < count; i++) {
      const r = active[i]!;
      if (n >= maxReq) break;
      const st = state[r];
      // GENERATION_TO_COMPLETE counts as in progress (isGenerationInProgressState): it keeps its slot and reservation.
      if (st === ST_GENERATION || st === ST_TO_COMPLETE) {
        fitting[n++] = r;
        const total = promptLen[r]! + maxNew[r]!;
        avail -= (((Math.min(total, w) + tpb - 1) / tpb) | 0) - held[r]!;
      } else {
        pending[pend++] = r;
      }
    }
    if (!staticBatch || n === 0) {
      for (let i = 0; i < pend; i++) {
        const r = pending[i]!;
        if (skipping && this.kv.beneficialToSkip(r)) continue;
        if (n >= maxReq) break;
        const need = this.remainingBlocksToCompletion(r);
        if (need <= avail) {
          fitting[n++] = r;
          avail -= need;
        } else {
          this.stop(r, need, avail);
          break;
        }
      }
    }
    this.fittingCount = n;
  }

  /** MAX_UTILIZATION (§5.3): one-step block needs; pause the most recently admitted started request. */
  private maxUtilization(active: Int32Array, count: number, skipping: boolean): void {
    const maxReq = this.cfg.maxNumActive;
    const fitting = this.fitting;
    let schedFree = this.kv.pool.freeBlocks;
    let numScheduled = 0;
    let n = 0;
    let it = 0;
    let end = count;
    this.kv.pool.beginSchedulingPass();
    while (it < end) {
      const r = active[it]!;
      if (skipping && this.kv.beneficialToSkip(r)) {
        it++;
        continue;
      }
      const need = this.neededBlocksOneStep(r);
      if (n < maxReq && numScheduled + need <= schedFree) {
        fitting[n++] = r;
        numScheduled += need;
        it++;
        continue;
      }
      let j = end - 1;
      while (j >= it && !this.started(active[j]!)) j--;
      if (j < it) {
        this.stop(r, need, schedFree - numScheduled);
        break;
      }
      const victim = active[j]!;
      schedFree += this.kv.schedulingFreedBlocks(victim);
      this.paused[this.pausedCount++] = victim;
      end = j;
    }
    this.fittingCount = n;
  }

  /** GENERATION_TO_COMPLETE (overlap) is never a victim [servesim]: its last token is already being computed. */
  private started(r: number): boolean {
    const st = this.t.state[r];
    return st === ST_GENERATION || (st === ST_CONTEXT && this.t.held[r]! > 0);
  }

  private stop(r: number, need: number, avail: number): void {
    this.stopRequest = r;
    this.stopNeed = need;
    this.stopAvailable = avail;
  }
}
