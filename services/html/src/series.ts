/** Turning a run's columns into chart series small enough to draw every point. */

export type Point = [number, number];

/**
 * An empirical CDF as points (value, fraction of values <= it), from values sorted ascending: every
 * value when there are at most `maxPoints`, else the values at `maxPoints` evenly spaced ranks (first
 * and last included), so the curve keeps its extremes.
 */
export function cdfPoints(sorted: ArrayLike<number>, maxPoints: number): Point[] {
  const n = sorted.length;
  if (n === 0) return [];
  const take = Math.min(n, Math.max(2, maxPoints));
  const out: Point[] = [];
  for (let k = 0; k < take; k++) {
    const i = take === n ? k : Math.round((k * (n - 1)) / (take - 1));
    out.push([sorted[i]!, (i + 1) / n]);
  }
  return out;
}

/**
 * A series of `n` points (x(i), y(i)) reduced to at most 2 × `buckets` points: consecutive points are
 * grouped into `buckets` equal runs and each run is drawn by its minimum and its maximum, in x order, so
 * peaks and dips survive. With at most 2 × `buckets` points every point is kept.
 */
export function minMaxDecimate(n: number, x: (i: number) => number, y: (i: number) => number, buckets: number): Point[] {
  if (n <= 2 * buckets) return Array.from({ length: n }, (_, i): Point => [x(i), y(i)]);
  const out: Point[] = [];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * n) / buckets);
    const hi = Math.floor(((b + 1) * n) / buckets);
    let iMin = lo;
    let iMax = lo;
    for (let i = lo + 1; i < hi; i++) {
      const v = y(i);
      if (v < y(iMin)) iMin = i;
      if (v > y(iMax)) iMax = i;
    }
    if (iMin === iMax) out.push([x(iMin), y(iMin)]);
    else if (iMin < iMax) out.push([x(iMin), y(iMin)], [x(iMax), y(iMax)]);
    else out.push([x(iMax), y(iMax)], [x(iMin), y(iMin)]);
  }
  return out;
}
