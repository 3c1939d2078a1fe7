import { InvalidArgumentError } from "@servesim/core";
import { DEFAULT_ENGINE_PROFILE, engineProfile, type FrontEndSettings } from "@servesim/engine";
import type { FrontEndCost } from "@servesim/wire/scheduler";

const F = "spec.engine.front_end";

function usField(v: number | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!(typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 1e6)) {
    throw new InvalidArgumentError(`${F}.${name}`, `must be a number of microseconds in [0, 1000000] (got ${String(v)})`);
  }
  return v;
}

/**
 * trtllm-serve's front end for a job that asks for it (EngineConfig.front_end): the given costs over the
 * engine profile's defaults. `unsupported`: the run is not a single engine (attention DP, pipeline
 * parallelism, speculative decoding), whose loops do not model the front end.
 */
export function resolveFrontEnd(fe: FrontEndCost | undefined, unsupported: boolean): FrontEndSettings | undefined {
  if (fe === undefined) return undefined;
  if (unsupported) {
    throw new InvalidArgumentError(
      F,
      "the serving front end is simulated for single-engine runs only (no attention DP, pipeline parallelism or speculative decoding)",
    );
  }
  const d = engineProfile(DEFAULT_ENGINE_PROFILE).timing.serveFrontEnd;
  return {
    perRequestUs: usField(fe.perRequestUs, "per_request_us", d.perRequestUs),
    perPromptTokenUs: usField(fe.perPromptTokenUs, "per_prompt_token_us", d.perPromptTokenUs),
    perResponseUs: usField(fe.perResponseUs, "per_response_us", d.perResponseUs),
  };
}
