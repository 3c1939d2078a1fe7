import { InvalidArgumentError } from "@servesim/core";
import { choiceList } from "../choices.js";
import { nonOverlap } from "./nonOverlap.js";
import { overlap } from "./overlap.js";
import type { TimingDef } from "./timingStrategy.js";

/** Timing strategies. Adding one: a file exporting a TimingDef, plus its line here. */
export const TIMING_STRATEGIES: readonly TimingDef[] = [nonOverlap, overlap];

export const TIMING_STRATEGY_NAMES: readonly string[] = TIMING_STRATEGIES.map((s) => s.name);

export function timingStrategy(name: unknown, field = "options.timing"): TimingDef {
  const def = TIMING_STRATEGIES.find((s) => s.name === name);
  if (def === undefined) throw new InvalidArgumentError(field, `must be ${choiceList(TIMING_STRATEGY_NAMES)} (got ${String(name)})`);
  return def;
}
