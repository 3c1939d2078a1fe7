import type { SourceTracker } from "../opSource.js";
import { floorIndex } from "./grid.js";
import type { MoeKey, MoeRow } from "./rows.js";

export type { MoeKey };

const keyOf = (k: MoeKey): string => `${k.dtype}|${k.hidden}|${k.inter}|${k.topK}|${k.experts}|${k.moeTp}|${k.moeEp}|${k.distribution}`;

/** MoE SOL latency (ms) at a token count, for utilization hold. */
export type MoeSol = (tokens: number) => number;

/**
 * MoE latencies per exact key, along num_tokens (performance-model.md §6.5): linear inside, utilization
 * held beyond the measured range.
 */
export class MoeTable {
  private readonly series = new Map<string, { tokens: Float64Array; lat: Float64Array }>();

  constructor(rows: readonly MoeRow[]) {
    const grouped = new Map<string, Map<number, number[]>>();
    for (const r of rows) {
      if (!(r.latency > 0) || r.numTokens <= 0) continue;
      const key = keyOf(r);
      let byTokens = grouped.get(key);
      if (!byTokens) grouped.set(key, (byTokens = new Map()));
      const l = byTokens.get(r.numTokens);
      if (l) l.push(r.latency);
      else byTokens.set(r.numTokens, [r.latency]);
    }
    for (const [key, byTokens] of grouped) {
      const tokens = [...byTokens.keys()].sort((a, b) => a - b);
      const lat = tokens.map((n) => {
        const l = byTokens.get(n)!;
        return l.reduce((a, b) => a + b, 0) / l.length;
      });
      this.series.set(key, { tokens: Float64Array.from(tokens), lat: Float64Array.from(lat) });
    }
  }

  /** A query function for one key, or undefined when the table lacks it. */
  view(key: MoeKey, sol: MoeSol): ((tokens: number, t: SourceTracker) => number) | undefined {
    const s = this.series.get(keyOf(key));
    if (!s) return undefined;
    return (x: number, t: SourceTracker): number => {
      const i = floorIndex(s.tokens, x);
      const last = s.tokens.length - 1;
      let lat: number;
      if (i >= 0 && s.tokens[i] === x) lat = s.lat[i]!;
      else if (i >= 0 && i < last) {
        t.mark("interp");
        const w = (x - s.tokens[i]!) / (s.tokens[i + 1]! - s.tokens[i]!);
        lat = (1 - w) * s.lat[i]! + w * s.lat[i + 1]!;
      } else {
        t.mark("util-extrapolated");
        const edge = i < 0 ? 0 : last;
        lat = sol(x) / (sol(s.tokens[edge]!) / s.lat[edge]!);
      }
      return Math.max(lat, sol(x));
    };
  }
}
