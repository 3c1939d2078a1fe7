import { type PercentileStats, type Slo, type SloMetric, statisticLabel } from "@servesim/core";

/** One objective's outcome over a run. */
export interface SloOutcome {
  slo: Slo;
  /** Completed requests within the threshold. */
  met: number;
  /** met / all measured requests (failed ones included). */
  attainment: number;
  /** The run-level statistic (slo.statistic) of the metric; null when the objective has none. */
  value: number | null;
  /** value <= threshold; null when the objective has no statistic. */
  statisticMet: boolean | null;
}

/** Goodput (vLLM's `request_goodput`): the requests that meet every objective, per second and per GPU. */
export interface GoodputMetrics {
  slos: Slo[];
  goodRequests: number;
  /** Measured requests, the failed ones included (they never meet an objective). */
  totalRequests: number;
  /** goodRequests / totalRequests. */
  fraction: number;
  /** Good requests per second of the run (its total latency, as request throughput). */
  requestGoodputReqS: number;
  /** Output tokens of the good requests per second. */
  outputGoodputTokS: number;
  requestGoodputPerGpuReqS: number;
  outputGoodputPerGpuTokS: number;
  objectives: SloOutcome[];
  /** Every run-level statistic is within its threshold (true when no objective has one). */
  sloMet: boolean;
}

/** The per-request columns goodput is judged on (completed requests, dataset order). */
export interface RequestColumns {
  ttft: Float64Array;
  tpot: Float64Array;
  e2el: Float64Array;
  /** Each request's largest inter-token gap (needed only for an itl objective). */
  maxGap?: Float64Array;
  outputLength: ArrayLike<number>;
}

/** Looks a run-level statistic up: a percentile of the metric (pooled gaps for itl) or its mean. */
export type StatisticLookup = (metric: SloMetric, statistic: number | "mean") => number;

/** Each completed request's largest gap between consecutive tokens (0 with fewer than two tokens). */
export function maxInterTokenGaps(series: readonly ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(series.length);
  for (let i = 0; i < series.length; i++) {
    const t = series[i]!;
    let max = 0;
    for (let k = 1; k < t.length; k++) {
      const gap = t[k]! - t[k - 1]!;
      if (gap > max) max = gap;
    }
    out[i] = max;
  }
  return out;
}

/**
 * Goodput of a run over its completed requests' columns (before they are sorted): a request is good
 * when every objective's metric is within its threshold (itl: its largest gap). Failed requests count
 * in the total, never as good.
 */
export function computeGoodput(
  slos: readonly Slo[],
  cols: RequestColumns,
  run: { totalRequests: number; durationMs: number; worldSize: number },
  statistic: StatisticLookup,
): GoodputMetrics {
  const n = cols.ttft.length;
  const column = (m: SloMetric): Float64Array => {
    if (m === "itl") {
      if (!cols.maxGap) throw new Error("an itl objective needs the requests' largest inter-token gaps");
      return cols.maxGap;
    }
    return m === "ttft" ? cols.ttft : m === "tpot" ? cols.tpot : cols.e2el;
  };
  const met = new Array<number>(slos.length).fill(0);
  let good = 0;
  let goodTokens = 0;
  for (let i = 0; i < n; i++) {
    let all = true;
    for (let s = 0; s < slos.length; s++) {
      if (column(slos[s]!.metric)[i]! <= slos[s]!.thresholdMs) met[s]!++;
      else all = false;
    }
    if (all) {
      good++;
      goodTokens += cols.outputLength[i]!;
    }
  }
  const total = run.totalRequests;
  const perSecond = (count: number): number => (run.durationMs > 0 ? count / (run.durationMs / 1000) : 0);
  const objectives = slos.map((slo, s): SloOutcome => {
    const value = slo.statistic === undefined ? null : n > 0 ? statistic(slo.metric, slo.statistic) : null;
    return {
      slo,
      met: met[s]!,
      attainment: total > 0 ? met[s]! / total : 0,
      value,
      statisticMet: slo.statistic === undefined ? null : value !== null && value <= slo.thresholdMs,
    };
  });
  const requestGoodputReqS = perSecond(good);
  const outputGoodputTokS = perSecond(goodTokens);
  return {
    slos: [...slos],
    goodRequests: good,
    totalRequests: total,
    fraction: total > 0 ? good / total : 0,
    requestGoodputReqS,
    outputGoodputTokS,
    requestGoodputPerGpuReqS: requestGoodputReqS / run.worldSize,
    outputGoodputPerGpuTokS: outputGoodputTokS / run.worldSize,
    objectives,
    sloMet: objectives.every((o) => o.statisticMet !== false),
  };
}

/** The latency percentiles a report shows beside trtllm-bench's (nearest rank, like trtllm-bench's). */
export interface LatencyPercentiles {
  /** Sorted, in (0, 100]. */
  percentiles: number[];
  /** Values aligned with `percentiles`. */
  ttft: number[];
  tpot: number[];
  itl: number[];
  e2el: number[];
}

/** A PercentileStats's mean or one of the extra percentiles. */
export function lookupStatistic(stats: Record<SloMetric, PercentileStats>, at: Record<SloMetric, Map<number, number>>): StatisticLookup {
  return (metric, statistic) => {
    if (statistic === "mean") return stats[metric].average;
    const v = at[metric].get(statistic);
    if (v === undefined) throw new Error(`${metric} ${statisticLabel(statistic)} was not computed`);
    return v;
  };
}
