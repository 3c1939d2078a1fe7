import type { SourceTracker } from "../opSource.js";
import { floorIndex, sortedUnique } from "./grid.js";
import type { MlaBmmRow } from "./rows.js";

interface Curve {
  tokens: Float64Array;
  lat: Float64Array;
}

/** SOL latency (ms) of one BMM at a token count and head count (utilization hold). */
export type BmmSol = (tokens: number, heads: number) => number;

/**
 * Absorbed-MLA decode BMM latencies by (op, dtype, heads) along num_tokens: linear in tokens and in heads
 * between measured points; beyond the measured range the nearest point's utilization is held.
 */
export class MlaBmmTable {
  private readonly curves = new Map<string, Map<number, Curve>>();

  constructor(rows: readonly MlaBmmRow[]) {
    const grouped = new Map<string, Map<number, Map<number, number[]>>>();
    for (const r of rows) {
      if (!(r.latency > 0) || r.numTokens <= 0 || r.heads <= 0) continue;
      const key = `${r.op}|${r.dtype}`;
      let byHeads = grouped.get(key);
      if (!byHeads) grouped.set(key, (byHeads = new Map()));
      let byTokens = byHeads.get(r.heads);
      if (!byTokens) byHeads.set(r.heads, (byTokens = new Map()));
      const l = byTokens.get(r.numTokens);
      if (l) l.push(r.latency);
      else byTokens.set(r.numTokens, [r.latency]);
    }
    for (const [key, byHeads] of grouped) {
      const curves = new Map<number, Curve>();
      for (const [heads, byTokens] of byHeads) {
        const tokens = sortedUnique(byTokens.keys());
        const lat = tokens.map((n) => {
          const l = byTokens.get(n)!;
          return l.reduce((a, b) => a + b, 0) / l.length;
        });
        curves.set(heads, { tokens: Float64Array.from(tokens), lat: Float64Array.from(lat) });
      }
      this.curves.set(key, curves);
    }
  }

  has(op: MlaBmmRow["op"], dtype: string): boolean {
    return this.curves.has(`${op}|${dtype}`);
  }

  private along(c: Curve, tokens: number, heads: number, sol: BmmSol, t: SourceTracker): number {
    const i = floorIndex(c.tokens, tokens);
    const last = c.tokens.length - 1;
    if (i >= 0 && c.tokens[i] === tokens) return c.lat[i]!;
    if (i >= 0 && i < last) {
      t.mark("interp");
      const w = (tokens - c.tokens[i]!) / (c.tokens[i + 1]! - c.tokens[i]!);
      return (1 - w) * c.lat[i]! + w * c.lat[i + 1]!;
    }
    t.mark("util-extrapolated");
    const edge = i < 0 ? 0 : last;
    return sol(tokens, heads) / (sol(c.tokens[edge]!, heads) / c.lat[edge]!);
  }

  /** Latency (ms) of one BMM call, or undefined without a curve for (op, dtype). */
  query(op: MlaBmmRow["op"], dtype: string, tokens: number, heads: number, sol: BmmSol, t: SourceTracker): number | undefined {
    const curves = this.curves.get(`${op}|${dtype}`);
    if (!curves) return undefined;
    const hs = sortedUnique(curves.keys());
    const j = floorIndex(hs, heads);
    let lat: number;
    if (j >= 0 && hs[j] === heads) lat = this.along(curves.get(heads)!, tokens, heads, sol, t);
    else if (j < 0 || j === hs.length - 1) {
      const edge = hs[Math.max(j, 0)]!;
      t.mark("util-extrapolated");
      lat = sol(tokens, heads) / (sol(tokens, edge) / this.along(curves.get(edge)!, tokens, edge, sol, t));
    } else {
      const h0 = hs[j]!;
      const h1 = hs[j + 1]!;
      const w = (heads - h0) / (h1 - h0);
      t.mark("interp");
      lat = (1 - w) * this.along(curves.get(h0)!, tokens, h0, sol, t) + w * this.along(curves.get(h1)!, tokens, h1, sol, t);
    }
    return Math.max(lat, sol(tokens, heads));
  }
}
