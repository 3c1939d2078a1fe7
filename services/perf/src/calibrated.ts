import type { BatchPredictor, OpTime, SimBatch } from "@servesim/core";
import { InvalidArgumentError } from "@servesim/core";
import type { CalibratedModel } from "@servesim/wire/predictor";
import type { ComposeParams } from "./compose.js";
import { nnls, numericalRank } from "./nnls.js";

/** The six features of the calibrated model, in CalibratedModel field order. */
export const CALIBRATION_FEATURES = [
  "intercept_ms",
  "per_context_request_ms",
  "per_context_token_ms",
  "per_generation_request_ms",
  "per_generation_kv_token_ms",
  "per_context_attention_area_ms",
] as const;

export type CalibrationFeature = (typeof CALIBRATION_FEATURES)[number];

/** The CalibratedModel field of each feature. */
const MODEL_FIELD: Record<CalibrationFeature, keyof CalibratedModel> = {
  intercept_ms: "interceptMs",
  per_context_request_ms: "perContextRequestMs",
  per_context_token_ms: "perContextTokenMs",
  per_generation_request_ms: "perGenerationRequestMs",
  per_generation_kv_token_ms: "perGenerationKvTokenMs",
  per_context_attention_area_ms: "perContextAttentionAreaMs",
};

/** A model's coefficients by feature name, in CALIBRATION_FEATURES order. */
export function calibratedCoefficients(m: CalibratedModel): Array<[CalibrationFeature, number]> {
  return CALIBRATION_FEATURES.map((f) => [f, m[MODEL_FIELD[f]]]);
}

/** A model from a coefficient per feature (asked for in CALIBRATION_FEATURES order). */
export function calibratedModel(coefficient: (feature: CalibrationFeature, index: number) => number): CalibratedModel {
  const m = {} as CalibratedModel;
  for (const [i, f] of CALIBRATION_FEATURES.entries()) m[MODEL_FIELD[f]] = coefficient(f, i);
  return m;
}

/** Validates coefficients: finite, ≥ 0, and every non-empty batch gets a positive time. */
export function validateCalibratedModel(m: CalibratedModel | undefined, field = "config.calibrated"): CalibratedModel {
  if (!m) throw new InvalidArgumentError(field, "required for the calibrated predictor (coefficients, e.g. from `fitCalibration`)");
  for (const [name, v] of calibratedCoefficients(m)) {
    if (!Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`${field}.${name}`, `must be a finite number >= 0 (got ${v})`);
  }
  const ctxPositive = m.perContextRequestMs > 0 || m.perContextTokenMs > 0;
  const genPositive = m.perGenerationRequestMs > 0;
  if (!(m.interceptMs > 0 || (ctxPositive && genPositive))) {
    throw new InvalidArgumentError(
      field,
      "intercept_ms must be > 0 unless both a context and the per-generation-request coefficient are > 0 (batch times must be > 0)",
    );
  }
  return m;
}

/**
 * Linear batch-time model fitted to a real run: intercept + per context request + per context token +
 * per generation request + per generation KV token (Σ past KV of decode entries) + per million tokens² of
 * causal context attention area (Σ (2p + e)·e), then the scale factors and overheads.
 */
export class CalibratedPredictor implements BatchPredictor {
  readonly description: string;
  private readonly m: CalibratedModel;
  private readonly p: ComposeParams;

  constructor(model: CalibratedModel, params: ComposeParams) {
    this.m = validateCalibratedModel(model);
    this.p = params;
    this.description = `calibrated (intercept ${round(model.interceptMs)} ms, ${round(model.perContextTokenMs * 1000)} µs/ctx token, ${round(model.perGenerationRequestMs * 1000)} µs/gen request)`;
  }

  private parts(batch: SimBatch): { ctx: number; gen: number; area: number; kv: number } {
    let area = 0;
    for (let i = 0; i < batch.numContext; i++) {
      const e = batch.inputLength[i]!;
      area += (2 * batch.pastKvLength[i]! + e) * e;
    }
    let kv = 0;
    const end = batch.numContext + batch.numGeneration;
    for (let i = batch.numContext; i < end; i++) kv += batch.pastKvLength[i]!;
    return { ctx: batch.numContext, gen: batch.numGeneration, area, kv };
  }

  private overheadMs(nseq: number): number {
    return (this.p.stepOverheadUs + this.p.perRequestOverheadUs * nseq) / 1000;
  }

  predict(batch: SimBatch): number {
    const nseq = batch.numContext + batch.numGeneration;
    if (nseq === 0) throw new InvalidArgumentError("batch", "empty batch");
    const { ctx, gen, area, kv } = this.parts(batch);
    const m = this.m;
    const t =
      m.interceptMs +
      m.perContextRequestMs * ctx +
      m.perContextTokenMs * batch.numContextTokens +
      m.perGenerationRequestMs * gen +
      m.perGenerationKvTokenMs * kv +
      (m.perContextAttentionAreaMs * area) / 1e6;
    return t * (ctx > 0 ? this.p.prefillScale : this.p.decodeScale) + this.overheadMs(nseq);
  }

  predictDecodeRun(pastKv: ArrayLike<number>, count: number, steps: number): number[] {
    if (count <= 0) throw new InvalidArgumentError("decode_run.past_kv_length", "at least one request is required");
    let kv = 0;
    for (let i = 0; i < count; i++) kv += pastKv[i]!;
    const m = this.m;
    const out = new Array<number>(steps);
    for (let s = 0; s < steps; s++) {
      const t = m.interceptMs + m.perGenerationRequestMs * count + m.perGenerationKvTokenMs * (kv + s * count);
      out[s] = t * this.p.decodeScale + this.overheadMs(count);
    }
    return out;
  }

  breakdown(batch: SimBatch): OpTime[] {
    const nseq = batch.numContext + batch.numGeneration;
    if (nseq === 0) throw new InvalidArgumentError("batch", "empty batch");
    const { ctx, gen, area, kv } = this.parts(batch);
    const m = this.m;
    const out: OpTime[] = [
      { op: "intercept", source: "empirical", ms: m.interceptMs },
      { op: "context_requests", source: "empirical", ms: m.perContextRequestMs * ctx },
      { op: "context_tokens", source: "empirical", ms: m.perContextTokenMs * batch.numContextTokens },
      { op: "generation_requests", source: "empirical", ms: m.perGenerationRequestMs * gen },
      { op: "generation_kv_tokens", source: "empirical", ms: m.perGenerationKvTokenMs * kv },
      { op: "context_attention_area", source: "empirical", ms: (m.perContextAttentionAreaMs * area) / 1e6 },
    ];
    const kernels = out.reduce((s, o) => s + o.ms, 0);
    const scale = ctx > 0 ? this.p.prefillScale : this.p.decodeScale;
    if (scale !== 1) out.push({ op: ctx > 0 ? "prefill_scale_factor" : "decode_scale_factor", source: "empirical", ms: kernels * (scale - 1) });
    if (this.p.stepOverheadUs > 0) out.push({ op: "step_overhead", source: "empirical", ms: this.p.stepOverheadUs / 1000 });
    if (this.p.perRequestOverheadUs > 0) out.push({ op: "request_overhead", source: "empirical", ms: (this.p.perRequestOverheadUs * nseq) / 1000 });
    return out;
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

/** One iteration of a real run (trtllm-bench iteration log names). */
export interface CalibrationSample {
  numContextRequests: number;
  numCtxTokens: number;
  numGenRequests: number;
  /** Σ past KV over the decode entries; omitted → that coefficient is fitted as 0. */
  numGenKvTokens?: number;
  /** Σ (2p + e)·e over the context entries; omitted → (numCtxTokens)²/numContextRequests (equal fresh prompts). */
  ctxAttentionArea?: number;
  iterLatencyMS: number;
}

export interface CalibrationFit {
  model: CalibratedModel;
  /** Root-mean-square error (ms) over the samples. */
  rmseMs: number;
  /** Mean absolute percentage error (%). */
  mape: number;
  maxAbsErrorMs: number;
  samples: number;
}

/** The feature vector of a sample, in CALIBRATION_FEATURES order. */
function features(s: CalibrationSample, useKv: boolean): number[] {
  const area = s.ctxAttentionArea ?? (s.numContextRequests > 0 ? (s.numCtxTokens * s.numCtxTokens) / s.numContextRequests : 0);
  return [1, s.numContextRequests, s.numCtxTokens, s.numGenRequests, useKv ? (s.numGenKvTokens ?? 0) : 0, area / 1e6];
}

/**
 * Least-squares fit with non-negative coefficients (Lawson–Hanson NNLS on column-normalized features).
 * The KV-token coefficient is fitted only when every sample carries numGenKvTokens.
 */
export function fitCalibration(samples: readonly CalibrationSample[]): CalibrationFit {
  const usable = samples.filter((s) => s.numContextRequests + s.numGenRequests > 0 && Number.isFinite(s.iterLatencyMS) && s.iterLatencyMS > 0);
  if (usable.length < 2) throw new InvalidArgumentError("samples", `at least 2 non-empty iterations with a positive latency are needed (got ${usable.length})`);
  const useKv = usable.every((s) => s.numGenKvTokens !== undefined);
  const X = usable.map((s) => features(s, useKv));
  const y = usable.map((s) => s.iterLatencyMS);
  const cols = X[0]!.length;
  const norms = new Array<number>(cols).fill(0);
  for (const row of X) for (let j = 0; j < cols; j++) norms[j] = Math.max(norms[j]!, Math.abs(row[j]!));
  const scaled = X.map((row) => row.map((v, j) => (norms[j]! > 0 ? v / norms[j]! : 0)));
  if (numericalRank(scaled) < 2) {
    throw new InvalidArgumentError(
      "samples",
      `degenerate log: all ${usable.length} iterations have the same shape (requests, tokens, KV), so a fixed cost cannot be told from per-request or per-token costs; log a run with varied batches`,
    );
  }
  const beta = nnls(scaled, y).map((v, j) => (norms[j]! > 0 ? v / norms[j]! : 0));
  if (!beta.every(Number.isFinite)) throw new InvalidArgumentError("samples", "the fit did not converge to finite coefficients");
  const model = calibratedModel((_, j) => beta[j]!);
  try {
    validateCalibratedModel(model);
  } catch (e) {
    throw new InvalidArgumentError("samples", `degenerate log: the best fit would give some batches no time (${(e as InvalidArgumentError).reason})`);
  }
  let sq = 0;
  let ape = 0;
  let maxAbs = 0;
  X.forEach((row, i) => {
    const pred = row.reduce((s, v, j) => s + v * beta[j]!, 0);
    const err = pred - y[i]!;
    sq += err * err;
    ape += Math.abs(err) / y[i]!;
    maxAbs = Math.max(maxAbs, Math.abs(err));
  });
  return { model, rmseMs: Math.sqrt(sq / X.length), mape: (100 * ape) / X.length, maxAbsErrorMs: maxAbs, samples: X.length };
}
