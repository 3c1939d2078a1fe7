import type { InstanceLoad, Router, RouterContext, RouterEntry, RoutingTarget } from "./router.js";

/**
 * The instance with the lowest weighted load: `active` × (queued + active requests) + `kv_usage` × (used
 * KV blocks / total blocks). Ties go to the instance after the last one chosen, so equal instances are
 * filled in turn. TensorRT-LLM's `load_balancing` router counts active requests the same way.
 */
function leastLoadedRouter(name: string, ctx: RouterContext): Router {
  const wActive = ctx.weights.active ?? 0;
  const wKv = ctx.weights.kv_usage ?? 0;
  let last = -1;
  const cost = (l: InstanceLoad): number => wActive * (l.queued + l.active) + wKv * (l.kvTotalBlocks > 0 ? l.kvUsedBlocks / l.kvTotalBlocks : 0);
  return {
    name,
    route(_req, targets: readonly RoutingTarget[]) {
      const n = targets.length;
      let best = -1;
      let bestCost = Number.POSITIVE_INFINITY;
      for (let k = 1; k <= n; k++) {
        const i = (last + k) % n;
        const c = cost(targets[i]!.load());
        if (c < bestCost) {
          bestCost = c;
          best = i;
        }
      }
      last = best;
      return best;
    },
  };
}

export const leastLoaded: RouterEntry = {
  name: "least_loaded",
  aliases: ["load_balancing"],
  description: "the instance with the fewest requests in flight (weight active) and/or the lowest KV-cache usage (weight kv_usage)",
  weights: { active: 1, kv_usage: 0 },
  create: (ctx) => leastLoadedRouter("least_loaded", ctx),
};

export const leastKvUsage: RouterEntry = {
  name: "least_kv_usage",
  aliases: [],
  description: "the instance with the lowest KV-cache usage (least_loaded with weights active 0, kv_usage 1)",
  weights: { active: 0, kv_usage: 1 },
  create: (ctx) => leastLoadedRouter("least_kv_usage", ctx),
};
