import { InvalidArgumentError } from "@servesim/core";
import { kvAware } from "./kvAware.js";
import { leastKvUsage, leastLoaded } from "./leastLoaded.js";
import { roundRobin } from "./roundRobin.js";
import type { Router, RouterEntry } from "./router.js";

/** The routing policies. Adding one: a file exporting a RouterEntry and a line here. */
export const ROUTERS: readonly RouterEntry[] = [roundRobin, leastLoaded, leastKvUsage, kvAware];

/** A router entry by name or alias (case-insensitive); undefined when unknown. */
export function routerByName(name: string): RouterEntry | undefined {
  const n = name.trim().toLowerCase();
  return ROUTERS.find((r) => r.name === n || r.aliases.includes(n));
}

/** "round_robin, least_loaded (load_balancing), ..." for errors and help. */
export function routerNameList(): string {
  return ROUTERS.map((r) => (r.aliases.length > 0 ? `${r.name} (${r.aliases.join(", ")})` : r.name)).join(", ");
}

/** A validated router configuration: the entry and every weight it reads. */
export interface RouterChoice {
  entry: RouterEntry;
  weights: Record<string, number>;
}

/**
 * Checks a router type and weights (field names the proto path for errors): unknown types and weights,
 * and weights that are negative or not finite, are INVALID_ARGUMENT.
 */
export function resolveRouter(type: string, weights: Readonly<Record<string, number>>, field: string): RouterChoice {
  const entry = type.trim() === "" ? roundRobin : routerByName(type);
  if (entry === undefined) throw new InvalidArgumentError(`${field}.type`, `must be one of ${routerNameList()} (got ${JSON.stringify(type.slice(0, 64))})`);
  const out: Record<string, number> = { ...entry.weights };
  for (const [k, v] of Object.entries(weights)) {
    if (!(k in entry.weights)) {
      const known = Object.keys(entry.weights);
      throw new InvalidArgumentError(
        `${field}.weights`,
        `${JSON.stringify(k.slice(0, 64))} is not a weight of router ${entry.name} (${known.length > 0 ? known.join(", ") : "it has none"})`,
      );
    }
    if (!Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`${field}.weights.${k}`, `must be a finite number >= 0 (got ${v})`);
    out[k] = v;
  }
  return { entry, weights: out };
}

export function createRouter(choice: RouterChoice, tokensPerBlock: number, instances: number): Router {
  return choice.entry.create({ weights: choice.weights, tokensPerBlock, instances });
}
