import type { EngineConfig } from "../engineConfig.js";
import { ceilDiv } from "../engineConfig.js";
import type { KvCacheManager } from "../kvCacheManager.js";
import { type RequestTable, ST_GENERATION, ST_TO_COMPLETE } from "../requestTable.js";
import { type CapacityPolicyDef, CapacityScheduler } from "./capacityPolicy.js";

/**
 * GUARANTEED_NO_EVICT (`GuaranteedNoEvictScheduler` in tensorrt_llm/_torch/pyexecutor/scheduler.py and
 * cpp/tensorrt_llm/batch_manager/capacityScheduler.cpp): requests already generating keep their slot
 * and reserve every block they will still need; then waiting requests are admitted in order while their
 * blocks to completion fit in what is left. The first that does not fit stops admission, so the queue
 * order is kept. Nothing is ever paused.
 *
 * STATIC_BATCH is the same pass except that new requests are admitted only when nothing is generating.
 */
export class NoEvictScheduler extends CapacityScheduler {
  private readonly pending: Int32Array;

  constructor(
    cfg: EngineConfig,
    t: RequestTable,
    kv: KvCacheManager,
    private readonly staticBatch: boolean,
    private readonly skipping: boolean,
  ) {
    super(cfg, t, kv);
    this.pending = new Int32Array(cfg.maxNumActive);
  }

  schedule(active: Int32Array, count: number): void {
    this.fittingCount = 0;
    this.pausedCount = 0;
    this.stopRequest = -1;
    const skipping = this.skipping && this.kv.hasTracked;
    if (skipping) this.kv.beginSkipPass(active, count);
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
    if (!this.staticBatch || n === 0) {
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
}

export const guaranteedNoEvict = {
  name: "guaranteed_no_evict",
  trtllmName: "GUARANTEED_NO_EVICT",
  description: "admit a request only when every KV block it will need is free; never pause (TensorRT-LLM's default)",
  reservation: "to_completion",
  skipsCachedPrefixes: true,
  decodeRunSafe: true,
  blocksToServe: (p: number, n: number, tpb: number) => ceilDiv(p + n, tpb),
  blocksToServeNote: "",
  create: (cfg: EngineConfig, t: RequestTable, kv: KvCacheManager) => new NoEvictScheduler(cfg, t, kv, false, true),
} as const satisfies CapacityPolicyDef;
