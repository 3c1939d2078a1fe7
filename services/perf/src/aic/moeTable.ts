import type { SourceTracker } from "../opSource.js";
import { floorIndex } from "./grid.js";
import type { MoeKey, MoeRow } from "./rows.js";

export type { MoeKey };

const keyOf = (k: MoeKey): string => `${k.dtype}|${k.hidden}|${k.inter}|${k.topK}|${k.experts}|${k.moeTp}|${k.moeEp}|${k.distribution}`;

/** MoE SOL latency (ms) at a token count, for utilization hold. */
export type MoeSol = (tokens: number) => number;

/** The low-latency kernel's grid is used up to this many tokens (AIC's TensorRT-LLM MoE op). */
export const MIN_LATENCY_MAX_TOKENS = 128;
const MIN_LATENCY_SOURCE = "moe_torch_flow_min_latency";

interface Series {
  tokens: Float64Array;
  lat: Float64Array;
}

function buildSeries(rows: readonly MoeRow[], keep: (r: MoeRow) => boolean): Map<string, Series> {
  const grouped = new Map<string, Map<number, number[]>>();
  for (const r of rows) {
    if (!(r.latency > 0) || r.numTokens <= 0 || !keep(r)) continue;
    const key = keyOf(r);
    let byTokens = grouped.get(key);
    if (!byTokens) grouped.set(key, (byTokens = new Map()));
    const l = byTokens.get(r.numTokens);
    if (l) l.push(r.latency);
    else byTokens.set(r.numTokens, [r.latency]);
  }
  const out = new Map<string, Series>();
  for (const [key, byTokens] of grouped) {
    const tokens = [...byTokens.keys()].sort((a, b) => a - b);
    const lat = tokens.map((n) => {
      const l = byTokens.get(n)!;
      return l.reduce((a, b) => a + b, 0) / l.length;
    });
    out.set(key, { tokens: Float64Array.from(tokens), lat: Float64Array.from(lat) });
  }
  return out;
}

function along(s: Series, x: number, sol: MoeSol, t: SourceTracker): number {
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
}

/**
 * MoE latencies per exact key, along num_tokens (docs/performance-models.md, "Interpolation"): linear inside, utilization
 * held beyond the measured range. num_tokens is the token count entering the layer over all EP ranks; the
 * latency is the most loaded rank's. Duplicates of a key are averaged, except that TensorRT-LLM's
 * low-latency kernel (`moe_torch_flow_min_latency`) is a grid of its own, preferred up to 128 tokens.
 */
export class MoeTable {
  private readonly series: Map<string, Series>;
  private readonly lowLatency: Map<string, Series>;

  constructor(rows: readonly MoeRow[]) {
    this.series = buildSeries(rows, (r) => r.kernelSource !== MIN_LATENCY_SOURCE);
    this.lowLatency = buildSeries(rows, (r) => r.kernelSource === MIN_LATENCY_SOURCE);
  }

  /** The distributions measured for a shape (any dtype order), e.g. to fall back from a missing one. */
  distributions(key: Omit<MoeKey, "distribution">): string[] {
    const prefix = keyOf({ ...key, distribution: "" });
    return [...this.series.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  }

  /** A query function for one key, or undefined when the table lacks it. */
  view(key: MoeKey, sol: MoeSol): ((tokens: number, t: SourceTracker) => number) | undefined {
    const k = keyOf(key);
    const s = this.series.get(k);
    const low = this.lowLatency.get(k);
    if (!s && !low) return undefined;
    return (x: number, t: SourceTracker): number => {
      if (low && (x <= MIN_LATENCY_MAX_TOKENS || !s)) return along(low, x, sol, t);
      return along(s!, x, sol, t);
    };
  }
}
