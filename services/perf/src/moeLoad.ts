import type { RankLoad } from "./sol.js";

/**
 * The most loaded EP rank under a power-law routing skew, as AIConfigurator's collector generates it
 * (collector/helper.py `_generate_power_law_distribution`): every expert draws a weight from a bounded
 * power law (x in [1, 0.8·X] when X·topK > E, else [0.01, 2]; density ∝ x^−alpha); the X·topK
 * token-expert pairs split in proportion, at most X per expert; experts sit on EP ranks in contiguous
 * blocks of E/ep, and the measured rank is the one with the most pairs. AIC's MoE tables time that rank.
 *
 * The draws here are deterministic (a fixed-seed generator), averaged over SAMPLES draws, so a roofline
 * time is reproducible. Balanced routing (or EPLB) gives X·topK/ep pairs on every rank.
 */
const SAMPLES = 16;

/** mulberry32: a small fixed-seed generator (uniform in [0, 1)). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** One draw of per-expert pair counts. */
function drawCounts(tokens: number, experts: number, topK: number, alpha: number, next: () => number, out: Float64Array): void {
  const [xmin, xmax] = tokens * topK > experts ? [1, Math.max(1.000001, tokens * 0.8)] : [0.01, 2];
  const a = 1 - alpha;
  const lo = xmin ** a;
  const hi = xmax ** a;
  let sum = 0;
  for (let e = 0; e < experts; e++) {
    const v = ((hi - lo) * next() + lo) ** (1 / a);
    out[e] = v;
    sum += v;
  }
  const target = tokens * topK;
  for (let e = 0; e < experts; e++) out[e] = Math.min(tokens, Math.round((out[e]! / sum) * target));
}

/** Pairs and active experts of the most loaded rank, averaged over the draws. */
export function powerLawRankLoad(tokens: number, experts: number, topK: number, ep: number, alpha: number): RankLoad {
  const perRank = experts / ep;
  const counts = new Float64Array(experts);
  let pairs = 0;
  let active = 0;
  for (let sample = 0; sample < SAMPLES; sample++) {
    drawCounts(tokens, experts, topK, alpha, rng(0x5eed + sample * 7919), counts);
    let bestPairs = -1;
    let bestActive = 0;
    for (let r = 0; r < ep; r++) {
      let p = 0;
      let a = 0;
      for (let e = r * perRank; e < (r + 1) * perRank; e++) {
        p += counts[e]!;
        if (counts[e]! > 0) a += 1;
      }
      if (p > bestPairs) {
        bestPairs = p;
        bestActive = a;
      }
    }
    pairs += bestPairs;
    active += bestActive;
  }
  // The rank never carries less than its even share, nor more than all pairs.
  const even = (tokens * topK) / ep;
  return { pairs: Math.min(tokens * topK, Math.max(even, pairs / SAMPLES)), activeExperts: Math.max(1, active / SAMPLES) };
}

/** Memoized rank loads of one MoE shape, by token count. */
export class RankLoadCache {
  private readonly cache = new Map<number, RankLoad>();

  constructor(
    private readonly experts: number,
    private readonly topK: number,
    private readonly ep: number,
    private readonly alpha: number,
  ) {}

  get(tokens: number): RankLoad {
    const key = Math.max(1, Math.round(tokens));
    let v = this.cache.get(key);
    if (!v) {
      v = powerLawRankLoad(key, this.experts, this.topK, this.ep, this.alpha);
      if (this.cache.size >= 1 << 16) this.cache.clear();
      this.cache.set(key, v);
    }
    return v;
  }
}
