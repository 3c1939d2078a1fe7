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
