/**
 * Where an op's time came from (OpTime.source), best first. An aggregate entry (a sum over several
 * lookups) reports its worst component, so the order is a fidelity ranking: a measured table row beats an
 * interpolation, which beats an empirical formula or a speed-of-light estimate, which beat a utilization
 * held beyond the measured range; a roofline fallback (no table at all) is the worst.
 */
export const OP_SOURCES = ["constant", "table", "interp", "empirical", "sol", "util-extrapolated", "roofline-fallback"] as const;

export type OpSource = (typeof OP_SOURCES)[number];

const RANK: Readonly<Record<string, number>> = Object.fromEntries(OP_SOURCES.map((s, i) => [s, i]));

/** The rank of a source (0 = best); an unknown label ranks as the best, so it never hides a known one. */
export function sourceRank(s: string): number {
  return RANK[s] ?? 0;
}

/** The worse of two sources. */
export function worseSource<S extends string>(a: S, b: S): S {
  return sourceRank(b) > sourceRank(a) ? b : a;
}

/** Mutable result slot so table lookups report their source without allocating. */
export class SourceTracker {
  source: OpSource = "table";
  reset(): void {
    this.source = "table";
  }
  mark(s: OpSource): void {
    if (RANK[s]! > RANK[this.source]!) this.source = s;
  }
}
