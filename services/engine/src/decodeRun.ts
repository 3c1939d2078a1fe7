import type { EngineConfig } from "./engineConfig.js";
import type { KvCacheManager } from "./kvCacheManager.js";
import { type RequestTable, ST_CONTEXT, ST_GENERATION } from "./requestTable.js";

/**
 * Finds decode runs: stretches of decode-only iterations whose batch cannot change, so that they can be
 * priced with one DecodeRun message and committed in O(requests + steps) instead of O(requests × steps).
 *
 * Iteration i of a run (0-based; iteration 0 is the batch nextBatch() just built) holds the same
 * generation requests in the same order, each at past KV length + i. The scheduling decisions of an
 * iteration depend on request states, token counts, the KV pool and (for arrivals in time) the clock.
 * Within a run:
 * - no request finishes before the run's last iteration (so nothing is freed and, under a concurrency
 *   limit, nothing is submitted);
 * - every generation request is in the batch and nothing was paused, so only token counts move;
 * - a policy that reserves to completion (GUARANTEED_NO_EVICT, STATIC_BATCH): each new block is taken from the request's own reservation, so
 *   the capacity scheduler's budget is constant and waiting contexts stay waiting. beneficialToSkip reads
 *   the prefix cache, but when no context was admitted and none has started, the first waiting context
 *   meets an empty "being computed" set, is never skipped, and stops the pass whatever the cache holds.
 *   Otherwise the run ends before a fresh block would evict a cached prefix;
 * - a policy that reserves one step ahead (MAX_UTILIZATION): no context is active and the pool holds
 *   every block the run takes (no pause);
 * - arrivals in time are the driver's concern: Simulation.commitDecodeRun stops at the first one.
 * The engine only asks when the capacity policy declares `decodeRunSafe`.
 */
export class DecodeRunPlanner {
  /** Generation requests per first-new-block offset (off = held·tpb − kvLen at iteration 0). */
  readonly offsetCount: Int32Array;
  /** Per request of the batch: its offset, for the final block count. */
  private readonly offsets: Int32Array;

  constructor(
    private readonly cfg: EngineConfig,
    private readonly t: RequestTable,
    private readonly kv: KvCacheManager,
  ) {
    this.offsetCount = new Int32Array(cfg.tokensPerBlock);
    this.offsets = new Int32Array(cfg.maxBatchSize);
  }

  /**
   * Iterations in the run that starts with the batch of `gen[0..nGen)` (a decode-only batch that the
   * capacity scheduler built without pausing anything), at most `maxSteps`; 1 when there is no run.
   * `fittingCount` is the capacity scheduler's admitted count; `evictedSinceSchedule` tells whether the
   * batch's own allocations evicted a cached prefix.
   */
  length(
    active: Int32Array,
    activeCount: number,
    fittingCount: number,
    gen: Int32Array,
    nGen: number,
    evictedSinceSchedule: boolean,
    maxSteps: number,
  ): number {
    const t = this.t;
    const state = t.state;
    let gens = 0;
    let contexts = 0;
    let started = 0;
    for (let i = 0; i < activeCount; i++) {
      const r = active[i]!;
      const st = state[r];
      if (st === ST_GENERATION) gens++;
      else if (st === ST_CONTEXT) {
        contexts++;
        if (t.held[r]! > 0) started++;
      }
    }
    if (gens !== nGen) return 1;
    const maxUtil = this.cfg.capacity.reservation === "one_step";
    if (maxUtil && contexts > 0) return 1;

    const tpb = this.cfg.tokensPerBlock;
    const counts = this.offsetCount;
    counts.fill(0);
    let k = maxSteps;
    const { outputTokens, emitted, promptLen, genSincePrompt, held } = t;
    for (let i = 0; i < nGen; i++) {
      const r = gen[i]!;
      const remaining = outputTokens[r]! - emitted[r]!;
      if (remaining < k) k = remaining;
      // The KV length this iteration allocated for; a new block is needed `off + 1` iterations later.
      const off = held[r]! * tpb - (promptLen[r]! + genSincePrompt[r]!);
      if (off < 0 || off >= tpb) return 1;
      counts[off]!++;
      this.offsets[i] = off;
    }
    if (k <= 1) return 1;

    if (maxUtil) {
      // Iteration j schedules everyone iff the blocks of iterations 1..j fit in today's free pool.
      const free = this.kv.pool.freeBlocks;
      let taken = 0;
      for (let j = 1; j < k; j++) {
        taken += counts[(j - 1) % tpb]!;
        if (taken > free) return j;
      }
    } else if ((started > 0 || fittingCount > nGen) && this.kv.hasTracked && this.cfg.capacity.skipsCachedPrefixes) {
      // beneficialToSkip reads the prefix cache: iteration j must see the same cache as iteration 0.
      if (evictedSinceSchedule) return 1;
      const spare = this.kv.pool.anonymousAtFront;
      let taken = 0;
      for (let j = 2; j < k; j++) {
        taken += counts[(j - 2) % tpb]!;
        if (taken > spare) return j;
      }
    }
    return k;
  }

  /** Blocks request i of the batch holds after `steps` iterations of the run (held at iteration 0 given). */
  heldAfter(i: number, held0: number, steps: number): number {
    const off = this.offsets[i]!;
    // New blocks at iterations j in [1, steps) with (j − 1) ≡ off (mod tpb).
    return steps - 2 >= off ? held0 + (((steps - 2 - off) / this.cfg.tokensPerBlock) | 0) + 1 : held0;
  }

  /** Blocks all requests of the run take at iteration j ≥ 1. */
  takesAt(j: number): number {
    return this.offsetCount[(j - 1) % this.cfg.tokensPerBlock]!;
  }
}
