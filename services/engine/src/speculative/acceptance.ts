import { InvalidArgumentError } from "@servesim/core";

/** The user's acceptance model of speculative decoding (MTP, Eagle3). */
export interface AcceptanceSpec {
  /** Draft tokens proposed per generation step (MTP num_nextn_predict_layers, Eagle3 max_draft_len). */
  maxDraftLen: number;
  /** Mean accepted draft tokens per step, in [0, maxDraftLen]; or */
  meanAccepted?: number;
  /** P(draft i accepted | drafts 1..i-1 accepted), one per position. */
  rates?: readonly number[];
  /** Seed of the draws. */
  seed: number;
}

/** Largest draft length accepted (TensorRT-LLM's MTP and Eagle3 run a handful of drafts; 16 is generous). */
export const MAX_DRAFT_LEN = 16;

/** Expected accepted drafts per step of per-position conditional rates: Σ_i Π_{j≤i} rates[j]. */
export function meanAcceptedOf(rates: readonly number[]): number {
  let p = 1;
  let sum = 0;
  for (const r of rates) {
    p *= r;
    sum += p;
  }
  return sum;
}

/**
 * Per-position conditional rates from a mean: one rate a for every position (the draft chain keeps
 * the same chance of agreeing with the target at each depth), solved so that Σ_{i=1..D} a^i = mean.
 */
export function ratesFromMean(maxDraftLen: number, mean: number): number[] {
  if (mean <= 0) return new Array<number>(maxDraftLen).fill(0);
  if (mean >= maxDraftLen) return new Array<number>(maxDraftLen).fill(1);
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 200; i++) {
    const a = (lo + hi) / 2;
    if (meanAcceptedOf(new Array<number>(maxDraftLen).fill(a)) < mean) lo = a;
    else hi = a;
  }
  return new Array<number>(maxDraftLen).fill((lo + hi) / 2);
}

/** Validates a spec (fields named under `field`) and returns its per-position rates. */
export function acceptanceRates(spec: AcceptanceSpec, field: string): number[] {
  const d = spec.maxDraftLen;
  if (!Number.isInteger(d) || d < 1 || d > MAX_DRAFT_LEN) {
    throw new InvalidArgumentError(`${field}.max_draft_len`, `must be an integer in [1, ${MAX_DRAFT_LEN}] (got ${d})`);
  }
  const hasRates = spec.rates !== undefined && spec.rates.length > 0;
  if (hasRates && spec.meanAccepted !== undefined) {
    throw new InvalidArgumentError(`${field}.acceptance_rates`, "give either acceptance_rates or mean_accepted_draft_tokens, not both");
  }
  if (hasRates) {
    const rates = spec.rates!;
    if (rates.length !== d) throw new InvalidArgumentError(`${field}.acceptance_rates`, `needs one rate per draft position (${d}; got ${rates.length})`);
    rates.forEach((r, i) => {
      if (typeof r !== "number" || !(r >= 0 && r <= 1)) throw new InvalidArgumentError(`${field}.acceptance_rates[${i}]`, `must be in [0, 1] (got ${r})`);
    });
    return [...rates];
  }
  const m = spec.meanAccepted;
  if (m === undefined) {
    throw new InvalidArgumentError(
      `${field}.mean_accepted_draft_tokens`,
      "speculative decoding needs an acceptance model: mean_accepted_draft_tokens or acceptance_rates",
    );
  }
  if (typeof m !== "number" || !(m >= 0 && m <= d)) {
    throw new InvalidArgumentError(`${field}.mean_accepted_draft_tokens`, `must be in [0, max_draft_len = ${d}] (got ${m})`);
  }
  return ratesFromMean(d, m);
}

/** 32-bit finalizer (murmur3 fmix32). */
function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Accepted drafts of one request's step, drawn from a hash of (seed, request, step, position): the draw
 * of a step does not depend on which other requests share its batch, so a run replays exactly whatever
 * the batching and the engine path (attention-DP ranks, decode runs).
 */
export class AcceptanceSampler {
  readonly maxDraftLen: number;
  readonly rates: Float64Array;
  /** Expected accepted drafts per step. */
  readonly meanAccepted: number;
  /** rate × 2^32 per position: a draw below it accepts. */
  private readonly thresholds: Float64Array;
  private readonly seedLo: number;
  private readonly seedHi: number;

  constructor(spec: AcceptanceSpec, field = "speculative") {
    const rates = acceptanceRates(spec, field);
    this.maxDraftLen = spec.maxDraftLen;
    this.rates = Float64Array.from(rates);
    this.meanAccepted = meanAcceptedOf(rates);
    this.thresholds = Float64Array.from(rates, (r) => r * 4294967296);
    this.seedLo = spec.seed >>> 0;
    this.seedHi = Math.floor(spec.seed / 4294967296) >>> 0;
  }

  /** Draft tokens the target accepts at `step` (0-based generation step) of request `request`. */
  accepted(request: number, step: number): number {
    let h = fmix(this.seedLo ^ fmix(this.seedHi + 0x9e3779b9));
    h = fmix(h ^ Math.imul(request + 1, 0x27d4eb2d));
    h = fmix(h ^ Math.imul(step + 1, 0x165667b1));
    const t = this.thresholds;
    for (let i = 0; i < t.length; i++) {
      const u = fmix(h ^ Math.imul(i + 1, 0x9e3779b1));
      if (u >= t[i]!) return i;
      h = u;
    }
    return t.length;
  }
}
