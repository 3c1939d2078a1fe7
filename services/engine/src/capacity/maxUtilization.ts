import type { EngineConfig } from "../engineConfig.js";
import { ceilDiv } from "../engineConfig.js";
import type { KvCacheManager } from "../kvCacheManager.js";
import { type RequestTable, ST_CONTEXT, ST_GENERATION } from "../requestTable.js";
import { type CapacityPolicyDef, CapacityScheduler } from "./capacityPolicy.js";

/**
 * MAX_UTILIZATION (`MaxUtilizationScheduler` in cpp/tensorrt_llm/batch_manager/capacityScheduler.cpp;
 * tensorrt_llm/_torch/pyexecutor/scheduler.py wraps it): requests are taken in order while the blocks
 * they need for this one step fit; when one does not, the most recently admitted request that has
 * started is paused (its blocks freed, its progress recomputed later) and the same request is tried
 * again. When no started request is left to pause, admission stops.
 */
export class MaxUtilizationScheduler extends CapacityScheduler {
  schedule(active: Int32Array, count: number): void {
    this.fittingCount = 0;
    this.pausedCount = 0;
    this.stopRequest = -1;
    const skipping = this.kv.hasTracked;
    if (skipping) this.kv.beginSkipPass(active, count);
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
}

export const maxUtilization = {
  name: "max_utilization",
  trtllmName: "MAX_UTILIZATION",
  description: "schedule as many requests as this step's KV blocks allow; pause (recompute) the newest started ones when the pool runs out",
  reservation: "one_step",
  skipsCachedPrefixes: true,
  decodeRunSafe: true,
  // The last output token is never written to the cache.
  blocksToServe: (p: number, n: number, tpb: number) => ceilDiv(p + n - 1, tpb),
  blocksToServeNote: " - 1",
  create: (cfg: EngineConfig, t: RequestTable, kv: KvCacheManager) => new MaxUtilizationScheduler(cfg, t, kv),
} as const satisfies CapacityPolicyDef;
