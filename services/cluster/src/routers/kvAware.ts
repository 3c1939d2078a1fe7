import { type PromptBlocks, promptBlocks, type SimRequest } from "@servesim/core";
import type { Router, RouterContext, RouterEntry, RoutingTarget } from "./router.js";

/** Prompt block keys of a request for the pool's block size (none when it carries no tokens or keys). */
function keysOf(req: SimRequest, tokensPerBlock: number): ArrayLike<number> {
  const b: PromptBlocks | undefined = req.blocks;
  if (b !== undefined && b.tokensPerBlock === tokensPerBlock) return b.keys;
  if (req.inputIds !== undefined) return promptBlocks(req.inputIds, tokensPerBlock).keys;
  return [];
}

/**
 * The blocks one instance is believed to hold, most recently used last, bounded by the instance's pool
 * size. Like Dynamo's KV router in its approximate mode, the index is built from the router's own
 * decisions (a routed prompt's blocks are cached where it runs) rather than from engine events.
 */
class PrefixIndex {
  private readonly blocks = new Map<number, true>();

  /** Leading blocks of `keys` present, each a prefix of the next. */
  overlap(keys: ArrayLike<number>): number {
    let n = 0;
    while (n < keys.length && this.blocks.has(keys[n]!)) n++;
    return n;
  }

  add(keys: ArrayLike<number>, capacity: number): void {
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      this.blocks.delete(k);
      this.blocks.set(k, true);
    }
    if (this.blocks.size > capacity) {
      let excess = this.blocks.size - capacity;
      for (const k of this.blocks.keys()) {
        if (excess-- <= 0) break;
        this.blocks.delete(k);
      }
    }
  }
}

/**
 * KV-aware prefix routing (Dynamo's KV router, llm-d's prefix-cache scorer): the instance with the lowest
 * cost `prefix` × (prompt blocks not cached there) + `kv_load` × (KV blocks in use) + `active` ×
 * (requests queued or running), so a long cached prefix wins unless that instance is much busier.
 * Ties go to the instance after the last one chosen.
 */
function kvAwareRouter(ctx: RouterContext): Router {
  const wPrefix = ctx.weights.prefix ?? 0;
  const wKv = ctx.weights.kv_load ?? 0;
  const wActive = ctx.weights.active ?? 0;
  const indexes: PrefixIndex[] = Array.from({ length: ctx.instances }, () => new PrefixIndex());
  let last = -1;
  return {
    name: "kv_aware",
    route(req: SimRequest, targets: readonly RoutingTarget[]) {
      const keys = keysOf(req, ctx.tokensPerBlock);
      const promptBlockCount = Math.ceil(req.inputLength / ctx.tokensPerBlock);
      const n = targets.length;
      let best = -1;
      let bestCost = Number.POSITIVE_INFINITY;
      for (let k = 1; k <= n; k++) {
        const i = (last + k) % n;
        const t = targets[i]!;
        const l = t.load();
        const fresh = promptBlockCount - indexes[t.index]!.overlap(keys);
        const c = wPrefix * fresh + wKv * l.kvUsedBlocks + wActive * (l.queued + l.active);
        if (c < bestCost) {
          bestCost = c;
          best = i;
        }
      }
      last = best;
      const chosen = targets[best]!;
      indexes[chosen.index]!.add(keys, Math.max(1, chosen.load().kvTotalBlocks));
      return best;
    },
  };
}

export const kvAware: RouterEntry = {
  name: "kv_aware",
  aliases: ["kv_cache_aware", "prefix"],
  description: "the longest cached prompt prefix, traded against load: cost = prefix × uncached prompt blocks + kv_load × KV blocks in use + active × requests",
  weights: { prefix: 1, kv_load: 1, active: 0 },
  create: kvAwareRouter,
};
