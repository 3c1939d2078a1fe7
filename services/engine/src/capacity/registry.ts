import { InvalidArgumentError } from "@servesim/core";
import { choiceList } from "../choices.js";
import type { CapacityPolicyDef } from "./capacityPolicy.js";
import { guaranteedNoEvict } from "./guaranteedNoEvict.js";
import { maxUtilization } from "./maxUtilization.js";
import { staticBatch } from "./staticBatch.js";

/**
 * The capacity policies, default first. Adding one: a file exporting a CapacityPolicyDef, plus its line
 * here (and the proto enum value, which a test checks against this list).
 */
export const CAPACITY_POLICIES = [guaranteedNoEvict, maxUtilization, staticBatch] as const;

export type CapacityPolicy = (typeof CAPACITY_POLICIES)[number]["name"];

export const CAPACITY_POLICY_NAMES: readonly CapacityPolicy[] = CAPACITY_POLICIES.map((p) => p.name);

export const DEFAULT_CAPACITY_POLICY: CapacityPolicy = CAPACITY_POLICIES[0].name;

const byName = new Map<string, CapacityPolicyDef>(CAPACITY_POLICIES.map((p) => [p.name, p]));

/** The policy named `name`; InvalidArgumentError naming `field` for anything else. */
export function capacityPolicy(name: unknown, field = "options.capacityPolicy"): CapacityPolicyDef {
  const def = typeof name === "string" ? byName.get(name) : undefined;
  if (def === undefined) throw new InvalidArgumentError(field, `must be ${choiceList(CAPACITY_POLICY_NAMES)} (got ${String(name)})`);
  return def;
}

/** The policy whose TensorRT-LLM enum name is `trtllmName` (e.g. MAX_UTILIZATION), or undefined. */
export function capacityPolicyByTrtllmName(trtllmName: string): CapacityPolicyDef | undefined {
  return CAPACITY_POLICIES.find((p) => p.trtllmName === trtllmName);
}
