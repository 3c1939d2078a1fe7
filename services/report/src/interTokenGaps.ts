import type { PercentileStats } from "@servesim/core";

/**
 * `percentileStats` of every inter-token gap (t[k] − t[k−1]) of every series, pooled in series order,
 * without materialising the gaps: bit-identical to `percentileStats(allGaps)`.
 *
 * The engine's token times are views on one shared buffer of iteration end times, so the gap between
 * buffer entries j−1 and j is the same value for every view spanning it. Per buffer, a difference array
 * counts how many views span each gap; the percentiles are then nearest ranks over the distinct gap
 * values weighted by their counts. Memory is O(buffer lengths + distinct gaps), not O(gaps). The average
 * still adds every gap in the pooled order (the last bit of a float sum depends on the order).
 */
export function interTokenGapStats(series: readonly ArrayLike<number>[]): PercentileStats {
  return interTokenGapDistribution(series, []).stats;
}

/** interTokenGapStats plus the gaps' nearest-rank percentiles at `percentiles` (each in (0, 100]), in one pass. */
export function interTokenGapDistribution(series: readonly ArrayLike<number>[], percentiles: readonly number[]): { stats: PercentileStats; at: number[] } {
  let count = 0;
  let sum = 0;
  const buffers = new Map<ArrayBufferLike, BufferUse>();
  for (const t of series) {
    const len = t.length;
    if (len < 2) continue;
    count += len - 1;
    let prev = t[0]!;
    for (let k = 1; k < len; k++) {
      const cur = t[k]!;
      sum += cur - prev;
      prev = cur;
    }
    if (t instanceof Float64Array) {
      const lo = t.byteOffset / 8;
      const use = buffers.get(t.buffer);
      if (use === undefined) buffers.set(t.buffer, { lo, hi: lo + len, views: 1 });
      else {
        if (lo < use.lo) use.lo = lo;
        if (lo + len > use.hi) use.hi = lo + len;
        use.views++;
      }
    }
  }
  if (count === 0) return { stats: { p50: 0, p90: 0, p95: 0, p99: 0, minimum: 0, maximum: 0, average: 0 }, at: percentiles.map(() => 0) };

  const weights = new GapWeights();
  const spans = new Map<ArrayBufferLike, Int32Array>();
  for (const [buffer, use] of buffers) if (use.views > 1) spans.set(buffer, new Int32Array(use.hi - use.lo + 1));
  for (const t of series) {
    const len = t.length;
    if (len < 2) continue;
    const diff = t instanceof Float64Array ? spans.get(t.buffer) : undefined;
    if (diff === undefined) {
      for (let k = 1; k < len; k++) weights.add(t[k]! - t[k - 1]!, 1);
      continue;
    }
    // Gap j (entries j−1, j) is spanned for j in [start + 1, start + len − 1].
    const start = (t as Float64Array).byteOffset / 8 - buffers.get((t as Float64Array).buffer)!.lo;
    diff[start + 1]!++;
    diff[start + len]!--;
  }
  for (const [buffer, diff] of spans) {
    const lo = buffers.get(buffer)!.lo;
    const b = new Float64Array(buffer, lo * 8, diff.length - 1);
    let spanning = 0;
    for (let j = 1; j < b.length; j++) {
      spanning += diff[j]!;
      if (spanning > 0) weights.add(b[j]! - b[j - 1]!, spanning);
    }
  }
  return weights.distribution(count, sum / count, percentiles);
}

interface BufferUse {
  /** First and one-past-last element index used by any view. */
  lo: number;
  hi: number;
  views: number;
}

/**
 * A multiset of doubles: distinct value → count (−0 kept apart from +0, as a Float64Array sort does).
 * An open-addressing table keyed by the values' bits: a cluster run adds hundreds of millions of gaps
 * (every request has its own token-time series), which a Map of boxed doubles makes the slowest step.
 */
class GapWeights {
  private keys = new Float64Array(1024);
  private counts = new Float64Array(1024);
  private used = new Uint8Array(1024);
  private size = 0;
  private negativeZeros = 0;
  private nans = 0;
  private readonly scratch = new Float64Array(1);
  private readonly bits = new Uint32Array(this.scratch.buffer);

  private slot(value: number, mask: number): number {
    this.scratch[0] = value;
    let h = Math.imul(this.bits[0]! ^ Math.imul(this.bits[1]!, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    let i = h & mask;
    while (this.used[i] === 1 && this.keys[i] !== value) i = (i + 1) & mask;
    return i;
  }

  add(value: number, n: number): void {
    if (value === 0 && 1 / value < 0) {
      this.negativeZeros += n;
      return;
    }
    if (Number.isNaN(value)) {
      this.nans += n;
      return;
    }
    const i = this.slot(value, this.keys.length - 1);
    if (this.used[i] === 1) {
      this.counts[i]! += n;
      return;
    }
    this.used[i] = 1;
    this.keys[i] = value;
    this.counts[i] = n;
    if (++this.size * 2 > this.keys.length) this.grow();
  }

  private grow(): void {
    const { keys, counts, used } = this;
    const cap = keys.length * 2;
    this.keys = new Float64Array(cap);
    this.counts = new Float64Array(cap);
    this.used = new Uint8Array(cap);
    for (let j = 0; j < keys.length; j++) {
      if (used[j] !== 1) continue;
      const i = this.slot(keys[j]!, cap - 1);
      this.used[i] = 1;
      this.keys[i] = keys[j]!;
      this.counts[i] = counts[j]!;
    }
  }

  private weightOf(v: number): number {
    if (v === 0 && 1 / v < 0) return this.negativeZeros;
    if (Number.isNaN(v)) return this.nans;
    return this.counts[this.slot(v, this.keys.length - 1)]!;
  }

  /**
   * Nearest-rank percentiles sorted[floor(total·p)] over the multiset, as `percentileStats` takes them,
   * plus those at `extra` (percent).
   */
  distribution(total: number, average: number, extra: readonly number[]): { stats: PercentileStats; at: number[] } {
    const distinct = new Float64Array(this.size + (this.negativeZeros > 0 ? 1 : 0) + (this.nans > 0 ? 1 : 0));
    let i = 0;
    for (let j = 0; j < this.keys.length; j++) if (this.used[j] === 1) distinct[i++] = this.keys[j]!;
    if (this.negativeZeros > 0) distinct[i++] = -0;
    if (this.nans > 0) distinct[i] = Number.NaN;
    distinct.sort();
    const weightOf = (v: number): number => this.weightOf(v);
    const wanted = [0.5, 0.9, 0.95, 0.99, ...extra.map((p) => p / 100)].map((p) => Math.min(total - 1, Math.floor(total * p)));
    const order = wanted.map((_, i) => i).sort((a, b) => wanted[a]! - wanted[b]!);
    const found = new Array<number>(wanted.length);
    let next = 0;
    let below = 0;
    for (let k = 0; k < distinct.length && next < order.length; k++) {
      below += weightOf(distinct[k]!);
      while (next < order.length && wanted[order[next]!]! < below) found[order[next++]!] = distinct[k]!;
    }
    return {
      stats: {
        p50: found[0]!,
        p90: found[1]!,
        p95: found[2]!,
        p99: found[3]!,
        minimum: distinct[0]!,
        maximum: distinct[distinct.length - 1]!,
        average,
      },
      at: found.slice(4),
    };
  }
}
