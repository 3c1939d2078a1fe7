import { InvalidArgumentError } from "./errors.js";

/** The per-request latency metrics a service-level objective can bound. */
export const SLO_METRICS = ["ttft", "tpot", "itl", "e2el"] as const;
export type SloMetric = (typeof SLO_METRICS)[number];

/** How each metric is also spelled (vLLM, AIPerf and trtllm-bench names). */
const METRIC_ALIASES: Record<string, SloMetric> = {
  ttft: "ttft",
  time_to_first_token: "ttft",
  tpot: "tpot",
  time_per_output_token: "tpot",
  itl: "itl",
  inter_token_latency: "itl",
  e2el: "e2el",
  e2e: "e2el",
  request_latency: "e2el",
  latency: "e2el",
};

/**
 * A service-level objective: a request meets it when its metric is at most `thresholdMs` (vLLM's
 * `--goodput KEY:VALUE`). `statistic` optionally bounds the run too: that percentile (or the mean) of
 * the metric over the completed requests must be within the threshold.
 */
export interface Slo {
  metric: SloMetric;
  thresholdMs: number;
  /** A percentile in (0, 100], or "mean"; undefined: per-request only. */
  statistic?: number | "mean";
}

/** At most this many objectives per run, and this many reported percentiles. */
export const MAX_SLOS = 8;
export const MAX_PERCENTILES = 16;

/** trtllm-bench's percentiles, reported when none are asked for. */
export const DEFAULT_PERCENTILES: readonly number[] = [50, 90, 95, 99];

/** "p90", "p99.9", "mean". */
export function statisticLabel(statistic: number | "mean"): string {
  return statistic === "mean" ? "mean" : `p${statistic}`;
}

/** "ttft <= 300 ms", "tpot p90 <= 25 ms". */
export function describeSlo(slo: Slo): string {
  const stat = slo.statistic === undefined ? "" : ` ${statisticLabel(slo.statistic)}`;
  return `${slo.metric}${stat} <= ${slo.thresholdMs} ms`;
}

/** The text form parseSlo reads back: "ttft:300", "tpot@p90:25", "e2el@mean:8000". */
export function formatSlo(slo: Slo): string {
  const stat = slo.statistic === undefined ? "" : `@${statisticLabel(slo.statistic)}`;
  return `${slo.metric}${stat}:${slo.thresholdMs}`;
}

function checkPercentile(p: number, field: string): number {
  if (!Number.isFinite(p) || p <= 0 || p > 100) throw new InvalidArgumentError(field, `a percentile must be in (0, 100] (got ${p})`);
  return p;
}

/**
 * One objective from its text form `METRIC[@STATISTIC]:MILLISECONDS`: `ttft:300`, `tpot:25`,
 * `e2el:8000`, `itl:50` (vLLM's --goodput terms), optionally with a run-level statistic: `ttft@p90:300`,
 * `tpot@p99.9:40`, `e2el@mean:6000`. `field` names the source in errors.
 */
export function parseSlo(text: string, field = "goodput"): Slo {
  const term = text.trim();
  const m = /^([A-Za-z_0-9]+)(?:@([A-Za-z0-9.]+))?:([^:]+)$/.exec(term);
  const shown = JSON.stringify(term.length > 40 ? `${term.slice(0, 40)}…` : term);
  if (!m) throw new InvalidArgumentError(field, `${shown} is not METRIC:MILLISECONDS (e.g. ttft:300, tpot@p90:25)`);
  const metric = METRIC_ALIASES[m[1]!.toLowerCase()];
  if (metric === undefined) throw new InvalidArgumentError(field, `${shown}: unknown metric ${JSON.stringify(m[1])} (one of ${SLO_METRICS.join(", ")})`);
  const thresholdMs = Number(m[3]!.trim().replace(/ms$/i, ""));
  if (m[3]!.trim() === "" || !Number.isFinite(thresholdMs) || thresholdMs <= 0) {
    throw new InvalidArgumentError(field, `${shown}: the threshold must be a number of milliseconds > 0`);
  }
  const slo: Slo = { metric, thresholdMs };
  if (m[2] !== undefined) {
    const stat = m[2].toLowerCase();
    if (stat === "mean" || stat === "avg" || stat === "average") slo.statistic = "mean";
    else {
      const pm = /^p(\d+(?:\.\d+)?)$/.exec(stat);
      if (!pm) throw new InvalidArgumentError(field, `${shown}: the statistic must be pNN (e.g. p90, p99.9) or mean`);
      slo.statistic = checkPercentile(Number(pm[1]), field);
    }
  }
  return slo;
}

/**
 * Objectives from terms (each may hold several, separated by spaces or commas, as vLLM's
 * `--goodput ttft:300 tpot:25`). A metric given twice with the same statistic is an error.
 */
export function parseSlos(terms: readonly string[], field = "goodput"): Slo[] {
  const out: Slo[] = [];
  for (const t of terms.flatMap((x) => x.split(/[\s,]+/)).filter((x) => x !== "")) out.push(parseSlo(t, field));
  return checkSlos(out, field);
}

/** Validates objectives built elsewhere (a wire message, a YAML file); returns them unchanged. */
export function checkSlos(slos: readonly Slo[], field = "goodput"): Slo[] {
  if (slos.length > MAX_SLOS) throw new InvalidArgumentError(field, `at most ${MAX_SLOS} objectives (got ${slos.length})`);
  const seen = new Set<string>();
  slos.forEach((s, i) => {
    const at = `${field}[${i}]`;
    if (!SLO_METRICS.includes(s.metric)) throw new InvalidArgumentError(`${at}.metric`, `must be one of ${SLO_METRICS.join(", ")}`);
    if (!Number.isFinite(s.thresholdMs) || s.thresholdMs <= 0) {
      throw new InvalidArgumentError(`${at}.threshold_ms`, `must be a number of milliseconds > 0 (got ${s.thresholdMs})`);
    }
    if (typeof s.statistic === "number") checkPercentile(s.statistic, `${at}.percentile`);
    const key = `${s.metric}@${s.statistic ?? ""}`;
    if (seen.has(key)) throw new InvalidArgumentError(at, `${describeSlo(s)} repeats an objective on the same metric`);
    seen.add(key);
  });
  return [...slos];
}

/**
 * Percentiles from "50,90,99,99.9" (or a list of such strings): each in (0, 100], at most 16, returned
 * sorted and without duplicates. "p99" is accepted for 99.
 */
export function parsePercentiles(terms: readonly string[] | string, field = "percentiles"): number[] {
  const parts = (typeof terms === "string" ? [terms] : terms).flatMap((x) => x.split(/[\s,]+/)).filter((x) => x !== "");
  const values = parts.map((p) => {
    const v = Number(p.replace(/^p/i, ""));
    if (p.replace(/^p/i, "") === "" || Number.isNaN(v)) throw new InvalidArgumentError(field, `${JSON.stringify(p)} is not a number`);
    return v;
  });
  return checkPercentiles(values, field);
}

/** Validates a percentile list; returns it sorted, without duplicates. */
export function checkPercentiles(values: readonly number[], field = "percentiles"): number[] {
  for (const v of values) checkPercentile(v, field);
  const out = [...new Set(values)].sort((a, b) => a - b);
  if (out.length > MAX_PERCENTILES) throw new InvalidArgumentError(field, `at most ${MAX_PERCENTILES} percentiles (got ${out.length})`);
  return out;
}

/** Nearest-rank percentile of sorted values, as trtllm-bench takes them: sorted[floor(n·(p/100))] (the maximum at 100).
 * p/100 is the same double as trtllm-bench's literal (90/100 === 0.9), so its percentiles come out identical. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  return sorted[Math.min(n - 1, Math.floor(n * (p / 100)))]!;
}
