import { InvalidArgumentError } from "@servesim/core";
import type { PredictorConfig } from "@servesim/wire/predictor";
import type { ComposeParams, CtxAttentionMode } from "../compose.js";
import { type Overheads, ZERO_OVERHEADS } from "../efficiency.js";

/** `v` (or the default) if finite and > 0, else INVALID_ARGUMENT on `field`. */
export const positive = (v: number | undefined, dflt: number, field: string): number => {
  const x = v ?? dflt;
  if (!Number.isFinite(x) || x <= 0) throw new InvalidArgumentError(field, `must be a finite number > 0 (got ${x})`);
  return x;
};

/** `v` (or the default) if finite and ≥ 0, else INVALID_ARGUMENT on `field`. */
export const nonNegative = (v: number | undefined, dflt: number, field: string): number => {
  const x = v ?? dflt;
  if (!Number.isFinite(x) || x < 0) throw new InvalidArgumentError(field, `must be a finite number >= 0 (got ${x})`);
  return x;
};

function ctxAttentionMode(s: string): CtxAttentionMode {
  const v = s.trim().toLowerCase();
  if (v === "" || v === "grouped") return "grouped";
  if (v === "per-request" || v === "per_request") return "per-request";
  throw new InvalidArgumentError("config.ctx_attention", `must be "grouped" or "per-request" (got "${s}")`);
}

/** Scale factors, overheads (config values over the given defaults) and the context-attention mode. */
export function composeParams(config: PredictorConfig, defaults: Overheads = ZERO_OVERHEADS): ComposeParams {
  return {
    prefillScale: positive(config.prefillScaleFactor, 1, "config.prefill_scale_factor"),
    decodeScale: positive(config.decodeScaleFactor, 1, "config.decode_scale_factor"),
    stepOverheadUs: nonNegative(config.stepOverheadUs, defaults.stepUs, "config.step_overhead_us"),
    perRequestOverheadUs: nonNegative(config.perRequestOverheadUs, defaults.perRequestUs, "config.per_request_overhead_us"),
    perLayerOverheadUs: nonNegative(config.perLayerOverheadUs, defaults.perLayerUs, "config.per_layer_overhead_us"),
    ctxAttention: ctxAttentionMode(config.ctxAttention),
  };
}

/** True when the configuration names both a model and a GPU (so a run can be resolved). */
export function namesModelAndGpu(config: PredictorConfig): boolean {
  const model = Boolean(config.model?.name?.trim() || config.model?.inline);
  const gpu = Boolean(config.gpu?.name?.trim() || config.gpu?.inline || config.deviceName.trim());
  return model && gpu;
}

/** Resolve options of a configuration: its database_path doubles as the systems directory for GPU names. */
export function systemsDirOf(config: PredictorConfig): { systemsDir?: string } {
  const dir = config.databasePath.trim();
  return dir ? { systemsDir: dir } : {};
}
