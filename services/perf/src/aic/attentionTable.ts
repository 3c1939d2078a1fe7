import type { SourceTracker } from "../opSource.js";
import { floorIndex, sortedUnique } from "./grid.js";
import type { AttentionRow } from "./rows.js";

/** Latencies of one batch size along the sequence axis (isl for context, s = 1 + step for generation). */
interface SeqRow {
  b: number;
  x: Float64Array;
  lat: Float64Array;
}

/** All batch rows of one head count. */
interface HeadSlice {
  bs: Float64Array;
  rows: SeqRow[];
}

/** One categorical family (dtypes, window, head_dim, KV-head count or MHA) across head counts. */
interface Family {
  heads: number[];
  slices: Map<number, HeadSlice>;
}

/** SOL latency (ms) of one query point: batch, sequence coordinate, heads. */
export type AttentionSol = (b: number, x: number, heads: number) => number;

export type AttentionKind = "context" | "generation";

const familyKey = (attnDtype: string, kvDtype: string, window: number, d: number, kvFamily: number): string =>
  `${attnDtype}|${kvDtype}|${window}|${d}|${kvFamily}`;

/**
 * Context or generation attention latencies. MHA rows (kv == heads) form their own family (AIC's kv = 0
 * re-keying) so it can be interpolated across heads.
 */
export class AttentionTable {
  readonly kind: AttentionKind;
  private readonly families = new Map<string, Family>();

  constructor(rows: readonly AttentionRow[], kind: AttentionKind) {
    this.kind = kind;
    const grouped = new Map<string, Map<number, Map<number, Array<[number, number]>>>>();
    for (const r of rows) {
      if (!(r.latency > 0) || r.batch <= 0) continue;
      const kvFamily = r.kvHeads === r.heads ? 0 : r.kvHeads;
      const key = familyKey(r.attnDtype, r.kvDtype, r.window, r.headDim, kvFamily);
      let byHeads = grouped.get(key);
      if (!byHeads) grouped.set(key, (byHeads = new Map()));
      let byBatch = byHeads.get(r.heads);
      if (!byBatch) byHeads.set(r.heads, (byBatch = new Map()));
      let list = byBatch.get(r.batch);
      if (!list) byBatch.set(r.batch, (list = []));
      list.push([kind === "context" ? r.isl : r.isl + r.step, r.latency]);
    }
    for (const [key, byHeads] of grouped) {
      const slices = new Map<number, HeadSlice>();
      for (const [heads, byBatch] of byHeads) {
        const bs = sortedUnique(byBatch.keys());
        const rows = bs.map((b) => {
          const list = byBatch.get(b)!.sort((p, q) => p[0] - q[0]);
          return { b, x: Float64Array.from(list, (p) => p[0]), lat: Float64Array.from(list, (p) => p[1]) };
        });
        slices.set(heads, { bs: Float64Array.from(bs), rows });
      }
      this.families.set(key, { heads: sortedUnique(slices.keys()), slices });
    }
  }

  /**
   * A query view for one configuration; undefined when the table has no family for it.
   * `kvHeads === heads` selects the MHA family.
   */
  view(attnDtype: string, kvDtype: string, window: number, d: number, heads: number, kvHeads: number, sol: AttentionSol): AttentionView | undefined {
    const fam = this.families.get(familyKey(attnDtype, kvDtype, window, d, kvHeads === heads ? 0 : kvHeads));
    return fam ? new AttentionView(fam, sol, this.kind === "context") : undefined;
  }
}

/**
 * Interpolation over one family (docs/performance-models.md, "Interpolation"): along the sequence axis √latency
 * (context) or latency (generation) linearly, latency linearly along batch and heads; ragged corners and
 * out-of-range queries hold the utilization (SOL/latency) of the nearest measured point; never below SOL.
 */
export class AttentionView {
  private readonly fam: Family;
  private readonly sol: AttentionSol;
  private readonly sqrtAlongSeq: boolean;

  constructor(fam: Family, sol: AttentionSol, sqrtAlongSeq: boolean) {
    this.fam = fam;
    this.sol = sol;
    this.sqrtAlongSeq = sqrtAlongSeq;
  }

  query(b: number, x: number, heads: number, t: SourceTracker): number {
    const hs = this.fam.heads;
    const i = floorIndex(hs, heads);
    let lat: number;
    if (i >= 0 && hs[i] === heads) {
      lat = this.slice(hs[i]!, b, x, t);
    } else if (i < 0 || i === hs.length - 1) {
      const edge = hs[Math.max(i, 0)]!;
      t.mark("util-extrapolated");
      lat = this.sol(b, x, heads) / (this.sol(b, x, edge) / this.slice(edge, b, x, t));
    } else {
      const h0 = hs[i]!;
      const h1 = hs[i + 1]!;
      const w = (heads - h0) / (h1 - h0);
      t.mark("interp");
      lat = (1 - w) * this.slice(h0, b, x, t) + w * this.slice(h1, b, x, t);
    }
    return Math.max(lat, this.sol(b, x, heads));
  }

  private slice(heads: number, b: number, x: number, t: SourceTracker): number {
    const s = this.fam.slices.get(heads)!;
    const j = floorIndex(s.bs, b);
    if (j >= 0 && s.bs[j] === b) return this.row(s, j, x, heads, t);
    if (j < 0 || j === s.bs.length - 1) {
      const edge = Math.max(j, 0);
      t.mark("util-extrapolated");
      const util = this.sol(s.bs[edge]!, x, heads) / this.row(s, edge, x, heads, t);
      return this.sol(b, x, heads) / util;
    }
    const b0 = s.bs[j]!;
    const b1 = s.bs[j + 1]!;
    const w = (b - b0) / (b1 - b0);
    t.mark("interp");
    return (1 - w) * this.row(s, j, x, heads, t) + w * this.row(s, j + 1, x, heads, t);
  }

  private row(s: HeadSlice, j: number, x: number, heads: number, t: SourceTracker): number {
    const r = s.rows[j]!;
    const xs = r.x;
    const last = xs.length - 1;
    const i = floorIndex(xs, x);
    if (i >= 0 && xs[i] === x) return r.lat[i]!;
    if (i >= 0 && i < last) {
      t.mark("interp");
      const w = (x - xs[i]!) / (xs[i + 1]! - xs[i]!);
      if (this.sqrtAlongSeq) {
        const y = (1 - w) * Math.sqrt(r.lat[i]!) + w * Math.sqrt(r.lat[i + 1]!);
        return y * y;
      }
      return (1 - w) * r.lat[i]! + w * r.lat[i + 1]!;
    }
    t.mark("util-extrapolated");
    if (i === last) {
      // Ragged corner: borrow the utilization of the nearest smaller batch that measured this length.
      for (let k = j - 1; k >= 0; k--) {
        const other = s.rows[k]!;
        if (other.x[other.x.length - 1]! >= x) {
          const util = this.sol(other.b, x, heads) / this.row(s, k, x, heads, t);
          return this.sol(r.b, x, heads) / util;
        }
      }
    }
    const edge = i < 0 ? 0 : last;
    const util = this.sol(r.b, xs[edge]!, heads) / r.lat[edge]!;
    return this.sol(r.b, x, heads) / util;
  }
}
