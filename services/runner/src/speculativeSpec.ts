import { InvalidArgumentError } from "@servesim/core";
import { acceptanceRates, meanAcceptedOf, type SpeculativeOptions } from "@servesim/engine";
import type { ModelSpec } from "@servesim/perf";
import { type SpeculativeConfig, SpeculativeDecoding } from "@servesim/wire/scheduler";

const F = "spec.engine.speculative";

/** speculative_config resolved: what the engine runs and what the report says. */
export interface ResolvedSpeculative {
  options: SpeculativeOptions;
  /** Expected accepted drafts per step (from the rates). */
  meanAccepted: number;
  /** Eagle3's draft model as given ("" for MTP). */
  draftModel: string;
}

/**
 * Validates JobSpec.engine.speculative: a decoding type, 1..16 drafts per step and exactly one acceptance
 * model (mean accepted drafts, or per-position rates). MTP needs a model whose checkpoint ships MTP layers
 * (num_nextn_predict_layers); TensorRT-LLM runs more drafts than layers by reusing the last one.
 */
export function resolveSpeculative(s: SpeculativeConfig | undefined, model: ModelSpec | undefined, engineSeed: number): ResolvedSpeculative | null {
  if (s === undefined || s === null) return null;
  let kind: SpeculativeOptions["kind"];
  switch (s.decodingType) {
    case SpeculativeDecoding.SPECULATIVE_DECODING_UNSPECIFIED:
      if (s.maxDraftLen || s.meanAcceptedDraftTokens !== undefined || (s.acceptanceRates?.length ?? 0) > 0) {
        throw new InvalidArgumentError(`${F}.decoding_type`, "is required with draft settings (MTP or EAGLE3)");
      }
      return null;
    case SpeculativeDecoding.SPECULATIVE_DECODING_MTP:
      kind = "mtp";
      break;
    case SpeculativeDecoding.SPECULATIVE_DECODING_EAGLE3:
      kind = "eagle3";
      break;
    default:
      throw new InvalidArgumentError(`${F}.decoding_type`, `unknown decoding type ${String(s.decodingType)} (MTP or EAGLE3)`);
  }
  if (kind === "mtp" && model !== undefined && model.mtpLayers === 0) {
    throw new InvalidArgumentError(
      `${F}.decoding_type`,
      `MTP drafts with the checkpoint's MTP layers and ${model.name} has none (num_nextn_predict_layers); use EAGLE3 with a draft model`,
    );
  }
  const seed = s.seed ?? engineSeed;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new InvalidArgumentError(`${F}.seed`, `must be an integer in [0, 2^53) (got ${seed})`);
  const rates = acceptanceRates(
    {
      maxDraftLen: s.maxDraftLen,
      ...(s.meanAcceptedDraftTokens !== undefined ? { meanAccepted: s.meanAcceptedDraftTokens } : {}),
      ...(s.acceptanceRates && s.acceptanceRates.length > 0 ? { rates: s.acceptanceRates } : {}),
      seed,
    },
    F,
  );
  if (typeof s.draftModel !== "string" || s.draftModel.length > 4096)
    throw new InvalidArgumentError(`${F}.draft_model`, "must be a string of at most 4096 characters");
  return {
    options: { kind, maxDraftLen: s.maxDraftLen, acceptanceRates: rates, seed },
    meanAccepted: meanAcceptedOf(rates),
    draftModel: kind === "eagle3" ? s.draftModel : "",
  };
}
