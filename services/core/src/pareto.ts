/**
 * The Pareto frontier of points that maximise both coordinates: the points no other point beats in
 * both (one strictly), sorted by x ascending. Returns their indices; points with a non-finite
 * coordinate are never on it.
 */
export function paretoFrontier(points: readonly (readonly [number, number])[]): number[] {
  const finite = points.map((_, i) => i).filter((i) => Number.isFinite(points[i]![0]) && Number.isFinite(points[i]![1]));
  // Larger x first (ties: larger y first): a point is on the frontier when its y beats every y seen.
  finite.sort((a, b) => points[b]![0] - points[a]![0] || points[b]![1] - points[a]![1]);
  const out: number[] = [];
  let bestY = -Infinity;
  let bestX = Infinity;
  for (const i of finite) {
    const [x, y] = points[i]!;
    if (y > bestY || (y === bestY && x === bestX)) {
      out.push(i);
      if (y > bestY) {
        bestY = y;
        bestX = x;
      }
    }
  }
  return out.sort((a, b) => points[a]![0] - points[b]![0] || points[a]![1] - points[b]![1]);
}
