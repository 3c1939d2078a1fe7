/**
 * `servesim search`: which configuration to deploy for given objectives and a GPU budget. Every
 * searched topology of the registry contributes candidates (aggregated: TP × batch size × token budget,
 * each instance serving as many requests as its batch size; disaggregated: prefill and decode pools
 * filling the budget, serving as many requests as the decode slots); each candidate is one sweep point,
 * simulated on the shared workload. Candidates are ranked by goodput per GPU (requests meeting every
 * objective per second per GPU), those meeting the run-level objectives first; the frontier is that of
 * output tokens/s per GPU against tokens/s per user.
 */
import { paretoFrontier, type Slo } from "@servesim/core";
import { JobSpec } from "@servesim/wire/scheduler";
import type { SettingValue } from "./dimensions.js";
import type { SweepRow } from "./row.js";
import { expandPoints, type SweepPlan } from "./space.js";
import { type SearchChoices, TOPOLOGIES } from "./topologies.js";

export const DEFAULT_TP = [1, 2, 4, 8];
export const DEFAULT_BATCH_SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
export const DEFAULT_MAX_NUM_TOKENS = [8192];

export interface SearchSpec {
  name: string;
  /** Model, GPU, predictor, dtypes, workload, report options and fixed engine settings of every candidate. */
  base: JobSpec;
  /** Settings every candidate shares (model, gpu, quantization, enable_chunked_context, ...). */
  fixed: Record<string, SettingValue>;
  choices: SearchChoices;
  slos: Slo[];
  percentiles: number[];
}

/** The candidates as a sweep plan (one point per candidate, in topology order). */
export function searchPlan(s: SearchSpec): SweepPlan {
  if (!Number.isInteger(s.choices.gpuBudget) || s.choices.gpuBudget < 1) throw new RangeError("the GPU budget must be an integer >= 1");
  const groups = TOPOLOGIES.flatMap((t) => t.searchSpace(s.choices));
  const points = expandPoints(s.base, s.fixed, groups);
  const short: Record<string, string> = {
    topology: "",
    tp: "tp",
    max_batch_size: "mbs",
    max_num_tokens: "mnt",
    prefill_workers: "P",
    prefill_tp: "ptp",
    decode_workers: "D",
    decode_tp: "dtp",
    decode_max_batch_size: "dmbs",
    concurrency: "c",
  };
  const varied = Object.keys(short).filter((k) => new Set(points.map((p) => p.settings[k])).size > 1);
  for (const p of points)
    p.label =
      varied
        .filter((k) => p.settings[k] !== undefined)
        .map((k) => (k === "topology" ? (p.settings[k] === "disaggregated" ? "disagg" : "agg") : `${short[k]}${p.settings[k]}`))
        .join(" ") || p.label;
  return { name: s.name, base: JobSpec.fromPartial(s.base), points, varied, slos: s.slos, percentiles: s.percentiles };
}

export interface RankedSearch {
  /** Succeeded candidates, best first. */
  ranked: SweepRow[];
  /** Ids of the candidates on the frontier (among those meeting the run-level objectives). */
  frontier: Set<string>;
  /** The best candidate that meets every run-level objective, if any. */
  winner?: SweepRow;
}

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : Number.NaN);

/**
 * Best first: meeting the run-level objectives first, then goodput per GPU (output tokens/s per GPU
 * without objectives), then output tokens/s per GPU, then the index.
 */
export function rankCandidates(rows: readonly SweepRow[], withObjectives: boolean): RankedSearch {
  const ok = rows.filter((r) => r.status === "ok");
  const meets = (r: SweepRow): boolean => !withObjectives || r.metrics["slo_met"] === true;
  const score = (r: SweepRow): number => num(r.metrics[withObjectives ? "request_goodput_per_gpu" : "output_tok_s_per_gpu"]);
  const ranked = [...ok].sort(
    (a, b) =>
      Number(meets(b)) - Number(meets(a)) ||
      score(b) - score(a) ||
      num(b.metrics["output_tok_s_per_gpu"]) - num(a.metrics["output_tok_s_per_gpu"]) ||
      a.index - b.index,
  );
  const eligible = ok.filter(meets);
  const frontier = new Set(
    paretoFrontier(eligible.map((r) => [num(r.metrics["output_tok_s_per_user"]), num(r.metrics["output_tok_s_per_gpu"])] as const)).map((i) => eligible[i]!.id),
  );
  const winner = ranked.find(meets);
  return { ranked, frontier, ...(winner ? { winner } : {}) };
}
