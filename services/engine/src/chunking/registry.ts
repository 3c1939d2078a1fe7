import { InvalidArgumentError } from "@servesim/core";
import { choiceList } from "../choices.js";
import type { ChunkingPolicyDef } from "./chunkingPolicy.js";
import { equalProgress } from "./equalProgress.js";
import { firstComeFirstServed } from "./firstComeFirstServed.js";

/** Context-chunking policies, default first. Adding one: a file exporting a ChunkingPolicyDef, plus its line here. */
export const CHUNKING_POLICIES = [firstComeFirstServed, equalProgress] as const;

export type ChunkingPolicy = (typeof CHUNKING_POLICIES)[number]["name"];

export const CHUNKING_POLICY_NAMES: readonly ChunkingPolicy[] = CHUNKING_POLICIES.map((p) => p.name);

/** The policy named `name` (null: chunked context disabled); InvalidArgumentError naming `field` for anything else. */
export function chunkingPolicy(name: unknown, field = "options.chunking"): ChunkingPolicyDef | null {
  if (name === null) return null;
  const def = CHUNKING_POLICIES.find((p) => p.name === name);
  if (def === undefined) throw new InvalidArgumentError(field, `must be ${choiceList(["null", ...CHUNKING_POLICY_NAMES])} (got ${String(name)})`);
  return def;
}

/** The policy whose TensorRT-LLM enum name is `trtllmName` (e.g. EQUAL_PROGRESS), or undefined. */
export function chunkingPolicyByTrtllmName(trtllmName: string): ChunkingPolicyDef | undefined {
  return CHUNKING_POLICIES.find((p) => p.trtllmName === trtllmName);
}
