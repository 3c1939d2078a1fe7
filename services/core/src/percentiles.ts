/** trtllm-bench's `PercentileStats.from_iterable` (tensorrt_llm/bench/dataclasses/statistics.py). */
export interface PercentileStats {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  minimum: number;
  maximum: number;
  average: number;
}

/** Keys in trtllm-bench's field order. */
export const PERCENTILE_KEYS = ["p50", "p90", "p95", "p99", "minimum", "maximum", "average"] as const;

/**
 * Nearest-rank percentiles `sorted[floor(n·p)]` (no interpolation), min, max and mean (summed in the
 * given order, like Python's `sum`). An empty input gives all zeros (trtllm-bench would raise; servesim
 * uses it for runs where no request completed).
 */
export function percentileStats(values: ArrayLike<number>): PercentileStats {
  return percentileStatsInPlace(Float64Array.from(values));
}

/** percentileStats of an array the caller gives up: it is left sorted. */
export function percentileStatsInPlace(values: Float64Array): PercentileStats {
  const n = values.length;
  if (n === 0) return { p50: 0, p90: 0, p95: 0, p99: 0, minimum: 0, maximum: 0, average: 0 };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const sorted = values.sort();
  const at = (p: number): number => sorted[Math.floor(n * p)]!;
  return {
    p50: at(0.5),
    p90: at(0.9),
    p95: at(0.95),
    p99: at(0.99),
    minimum: sorted[0]!,
    maximum: sorted[n - 1]!,
    average: sum / n,
  };
}
