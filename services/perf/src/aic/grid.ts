/** Small numeric helpers shared by the table interpolators. */

/** Index i of the last element ≤ x in a sorted array (−1 if x < a[0]). */
export function floorIndex(a: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = a.length - 1;
  if (a.length === 0 || x < a[0]!) return -1;
  if (x >= a[hi]!) return hi;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= x) lo = mid;
    else hi = mid;
  }
  return lo;
}

export function sortedUnique(values: Iterable<number>): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

/** Source labels, worst last (an aggregate reports its worst component). */
export type Source = "table" | "interp" | "util-extrapolated" | "roofline-fallback";
const RANK: Record<Source, number> = { table: 0, interp: 1, "util-extrapolated": 2, "roofline-fallback": 3 };
export function worstSource(a: Source, b: Source): Source {
  return RANK[b] > RANK[a] ? b : a;
}

/** Mutable result slot so interpolators report their source without allocating. */
export class SourceTracker {
  source: Source = "table";
  reset(): void {
    this.source = "table";
  }
  mark(s: Source): void {
    if (RANK[s] > RANK[this.source]) this.source = s;
  }
}
