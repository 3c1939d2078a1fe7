import { type SpeculativeConfig, SpeculativeDecoding } from "../gen/ts/servesim/v1/scheduler.js";

/** TensorRT-LLM's speculative_config keys servesim reads, plus its own acceptance model. */
export const SPECULATIVE_CONFIG_KEYS = [
  "decoding_type",
  "num_nextn_predict_layers",
  "max_draft_len",
  "speculative_model_dir",
  "speculative_model",
  "eagle3_one_model",
  "mean_accepted_draft_tokens",
  "acceptance_rates",
  "acceptance_seed",
] as const;

const DECODING: Record<string, SpeculativeDecoding> = {
  MTP: SpeculativeDecoding.SPECULATIVE_DECODING_MTP,
  EAGLE3: SpeculativeDecoding.SPECULATIVE_DECODING_EAGLE3,
  EAGLE: SpeculativeDecoding.SPECULATIVE_DECODING_EAGLE3,
};

/** The key accessors of a YAML mapping (the CLI's options file and the wire's topology YAML both have them). */
export interface YamlKeyReader {
  readonly data: Record<string, unknown>;
  number(key: string, check: (v: number) => boolean, expected: string): number | undefined;
  integer(key: string, min: number): number | undefined;
  string(key: string): string | undefined;
}

/**
 * speculative_config (`tensorrt_llm/llmapi/llm_args.py`): decoding_type (MTP, Eagle3),
 * num_nextn_predict_layers / max_draft_len and speculative_model_dir, plus the acceptance model the
 * simulation assumes (servesim's keys: mean_accepted_draft_tokens or acceptance_rates, acceptance_seed).
 * `fail(key, reason)` builds the error naming the file, line and key.
 */
export function readSpeculativeConfig(s: YamlKeyReader, fail: (key: string, reason: string) => Error): SpeculativeConfig {
  const name = s.string("decoding_type");
  if (name === undefined) throw fail("decoding_type", "is required (MTP or Eagle3)");
  const kind = DECODING[name.trim().toUpperCase()];
  if (kind === undefined) throw fail("decoding_type", `must be ${Object.keys(DECODING).join(" or ")} (got ${JSON.stringify(name.slice(0, 64))})`);
  const mtp = kind === SpeculativeDecoding.SPECULATIVE_DECODING_MTP;
  const draftKey = mtp ? "num_nextn_predict_layers" : "max_draft_len";
  const len = s.integer(draftKey, 1) ?? (mtp ? s.integer("max_draft_len", 1) : undefined);
  if (len === undefined) throw fail(draftKey, "is required (draft tokens per step)");
  const out: SpeculativeConfig = { decodingType: kind, maxDraftLen: len, draftModel: "", acceptanceRates: [] };
  const model = s.string("speculative_model_dir") ?? s.string("speculative_model");
  if (model !== undefined) out.draftModel = model;
  const mean = s.number("mean_accepted_draft_tokens", (v) => Number.isFinite(v) && v >= 0, "a number >= 0");
  if (mean !== undefined) out.meanAcceptedDraftTokens = mean;
  const rates = s.data["acceptance_rates"];
  if (rates !== undefined && rates !== null) {
    if (!Array.isArray(rates) || rates.length > 64 || !rates.every((v) => typeof v === "number" && v >= 0 && v <= 1)) {
      throw fail("acceptance_rates", "must be a list of numbers in [0, 1], one per draft position");
    }
    out.acceptanceRates = rates as number[];
  }
  const seed = s.integer("acceptance_seed", 0);
  if (seed !== undefined) out.seed = seed;
  return out;
}
