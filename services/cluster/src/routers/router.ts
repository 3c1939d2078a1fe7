import type { SimRequest } from "@servesim/core";

/** What a router sees of one engine instance when it places a request. */
export interface InstanceLoad {
  /** Requests handed over but not yet scheduled (waiting in the instance's queue). */
  queued: number;
  /** Requests in the instance's active set (context or generation). */
  active: number;
  kvUsedBlocks: number;
  kvTotalBlocks: number;
}

export interface RoutingTarget {
  /** Index of the instance in its pool. */
  readonly index: number;
  load(): InstanceLoad;
}

/** Places arrivals on the instances of one pool. Routers may keep state (a rotation, a prefix index). */
export interface Router {
  readonly name: string;
  /** Returns a position in `targets` (never empty). */
  route(req: SimRequest, targets: readonly RoutingTarget[]): number;
}

export interface RouterContext {
  /** Weights by name (the entry's defaults filled in). */
  weights: Readonly<Record<string, number>>;
  /** The pool's tokens_per_block (prefix keys must use the engines' block size). */
  tokensPerBlock: number;
  /** The pool's instance count. */
  instances: number;
}

/** One routing policy of the registry. */
export interface RouterEntry {
  /** Canonical name (proto RouterConfig.type, the sim-config `router.type`). */
  readonly name: string;
  /** Other accepted names (TensorRT-LLM's router types in `tensorrt_llm/serve/router.py`). */
  readonly aliases: readonly string[];
  readonly description: string;
  /** Weight names this policy reads, with their defaults. */
  readonly weights: Readonly<Record<string, number>>;
  create(ctx: RouterContext): Router;
}
