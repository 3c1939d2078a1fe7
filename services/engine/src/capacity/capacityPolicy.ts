import type { EngineConfig } from "../engineConfig.js";
import { ceilDiv } from "../engineConfig.js";
import type { KvCacheManager } from "../kvCacheManager.js";
import { type RequestTable, ST_CONTEXT, ST_DISAGG_INIT, ST_GENERATION } from "../requestTable.js";

/**
 * A capacity-scheduler policy (TensorRT-LLM `CapacitySchedulerPolicy`): which active requests may run
 * this iteration given the KV cache, and which to pause. One file per policy, registered in
 * capacity/registry.ts; the proto enum, the CLI and LLM-API choices and the Python client are checked
 * against the registry by a test.
 */
export interface CapacityPolicyDef {
  /** snake_case name used by EngineOptions, the CLI and the Python client (e.g. "max_utilization"). */
  readonly name: string;
  /** TensorRT-LLM's enum name (`capacity_scheduler_policy` in the LLM API YAML; the proto enum's suffix). */
  readonly trtllmName: string;
  readonly description: string;
  /**
   * How the policy reserves KV blocks: "to_completion" admits a request only when every block it will
   * ever need is free (nothing is ever paused); "one_step" looks one iteration ahead and pauses
   * (recomputes) requests when the pool runs out.
   */
  readonly reservation: "to_completion" | "one_step";
  /** Context requests whose first uncached block another request is computing are skipped (beneficialToSkip). */
  readonly skipsCachedPrefixes: boolean;
  /**
   * The decode-run fast path (DecodeRunPlanner) is valid for this policy: a stretch of decode-only
   * iterations with no arrival keeps the same batch. Declare it only after checking the planner's
   * conditions against the policy's schedule; a policy that does not declare it is priced iteration by
   * iteration (same results, slower).
   */
  readonly decodeRunSafe: boolean;
  /** KV blocks a request of `promptLen` + `outputTokens` tokens needs to ever complete (the unservable check). */
  blocksToServe(promptLen: number, outputTokens: number, tokensPerBlock: number): number;
  /** Why blocksToServe counts what it counts, for the unservable message (e.g. " - 1"). */
  readonly blocksToServeNote: string;
  create(cfg: EngineConfig, table: RequestTable, kv: KvCacheManager): CapacityScheduler;
}

/**
 * The per-engine scheduler a policy creates: `schedule` fills `fitting` (in policy order) and `paused`,
 * and reports where admission stopped for the stall safety net.
 */
export abstract class CapacityScheduler {
  readonly fitting: Int32Array;
  fittingCount = 0;
  readonly paused: Int32Array;
  pausedCount = 0;
  /** The request at which admission stopped for lack of blocks (-1 if none), for the stall safety net. */
  stopRequest = -1;
  stopNeed = 0;
  stopAvailable = 0;

  constructor(
    protected readonly cfg: EngineConfig,
    protected readonly t: RequestTable,
    protected readonly kv: KvCacheManager,
  ) {
    this.fitting = new Int32Array(cfg.maxNumActive);
    this.paused = new Int32Array(cfg.maxNumActive);
  }

  /** Picks this iteration's requests among `active[0..count)` (in activation order). */
  abstract schedule(active: Int32Array, count: number): void;

  /**
   * remainingBlocksToCompletion (`KVCacheManager::getRemainingBlocksToCompletion`): blocks still to
   * allocate for the request to reach P + N tokens (within the attention window).
   */
  remainingBlocksToCompletion(r: number): number {
    const t = this.t;
    const { tokensPerBlock: tpb, maxSeqLen: w } = this.cfg;
    const P = t.promptLen[r]!;
    const ctxBlocks = (Math.min(P, w) / tpb) | 0;
    const totalBlocks = ceilDiv(Math.min(P + t.maxNew[r]!, w), tpb);
    const alloc = t.held[r]!;
    return alloc < ctxBlocks ? ctxBlocks - alloc + (totalBlocks - ctxBlocks) : totalBlocks - alloc;
  }

  /** neededBlocksOneStep (`KVCacheManager::getNeededBlocksOneStep`), one-step look-ahead (pp = 1). */
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
    // A request whose KV arrives by transfer: its prompt's blocks and its first decode step's.
    if (st === ST_DISAGG_INIT) return ceilDiv(Math.min(P + 1, w), tpb);
    return 0;
  }

  protected stop(r: number, need: number, avail: number): void {
    this.stopRequest = r;
    this.stopNeed = need;
    this.stopAvailable = avail;
  }
}
