import { InvalidArgumentError } from "@servesim/core";
import { choiceList } from "../choices.js";
import type { EngineProfile } from "./engineProfile.js";
import { trtllmPyExecutor } from "./trtllmPyExecutor.js";

/** Serving-engine profiles, default first. Adding one: a file exporting an EngineProfile, plus its line here. */
export const ENGINE_PROFILES: readonly EngineProfile[] = [trtllmPyExecutor];

export const ENGINE_PROFILE_NAMES: readonly string[] = ENGINE_PROFILES.map((p) => p.name);

export const DEFAULT_ENGINE_PROFILE = ENGINE_PROFILES[0]!.name;

export function engineProfile(name: unknown, field = "options.profile"): EngineProfile {
  const def = ENGINE_PROFILES.find((p) => p.name === name);
  if (def === undefined) throw new InvalidArgumentError(field, `must be ${choiceList(ENGINE_PROFILE_NAMES)} (got ${String(name)})`);
  return def;
}
