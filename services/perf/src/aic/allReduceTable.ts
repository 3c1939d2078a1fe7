import type { GpuSpec } from "../catalog/gpus.js";
import type { SourceTracker } from "../opSource.js";
import { allReduceSolMs } from "../sol.js";
import { floorIndex } from "./grid.js";
import type { AllReduceRow } from "./rows.js";

/** How far above both neighbours a measurement must be to count as a spike. */
export const OUTLIER_TOLERANCE = 0.25;

interface Curve {
  log2Size: Float64Array;
  size: Float64Array;
  lat: Float64Array;
}

/**
 * Custom all-reduce latencies per GPU count (docs/performance-models.md, "Interpolation"): duplicates averaged; a spike (an
 * interior point more than 25 % above both neighbours) is replaced by its 5-point running median, other
 * points keep their measured value (so grid points reproduce the table, and the steep large-message end is
 * not flattened); then a running max (monotone non-decreasing); linear in log2(size) inside; above the
 * largest size linear in size from the last two points with a non-negative slope; below the smallest, held.
 * A GPU count without data borrows the utilization of the nearest measured count (TP > 8: TP 8).
 */
export class AllReduceTable {
  private readonly curves = new Map<number, Curve>();
  private readonly gpuCounts: number[];

  constructor(rows: readonly AllReduceRow[]) {
    const grouped = new Map<number, Map<number, number[]>>();
    for (const r of rows) {
      if (!(r.latency > 0) || r.messageSize <= 0) continue;
      let bySize = grouped.get(r.numGpus);
      if (!bySize) grouped.set(r.numGpus, (bySize = new Map()));
      const list = bySize.get(r.messageSize);
      if (list) list.push(r.latency);
      else bySize.set(r.messageSize, [r.latency]);
    }
    for (const [n, bySize] of grouped) {
      const sizes = [...bySize.keys()].sort((a, b) => a - b);
      const mean = sizes.map((s) => {
        const l = bySize.get(s)!;
        return l.reduce((a, b) => a + b, 0) / l.length;
      });
      const smoothed = mean.map((v, i) => {
        if (i === 0 || i === mean.length - 1) return v;
        if (v <= (1 + OUTLIER_TOLERANCE) * Math.max(mean[i - 1]!, mean[i + 1]!)) return v;
        const win = mean.slice(Math.max(0, i - 2), Math.min(mean.length, i + 3)).sort((a, b) => a - b);
        return win.length % 2 === 1 ? win[(win.length - 1) / 2]! : (win[win.length / 2 - 1]! + win[win.length / 2]!) / 2;
      });
      for (let i = 1; i < smoothed.length; i++) smoothed[i] = Math.max(smoothed[i]!, smoothed[i - 1]!);
      this.curves.set(n, { log2Size: Float64Array.from(sizes, Math.log2), size: Float64Array.from(sizes), lat: Float64Array.from(smoothed) });
    }
    this.gpuCounts = [...this.curves.keys()].sort((a, b) => a - b);
  }

  /** Smoothed curve value at a size (ms). */
  private curveAt(c: Curve, size: number, t: SourceTracker): number {
    const x = Math.log2(size);
    const i = floorIndex(c.log2Size, x);
    const last = c.size.length - 1;
    if (i >= 0 && c.log2Size[i] === x) return c.lat[i]!;
    if (i < 0) {
      t.mark("util-extrapolated");
      return c.lat[0]!;
    }
    if (i === last) {
      t.mark("util-extrapolated");
      if (last === 0) return c.lat[0]!;
      const slope = Math.max(0, (c.lat[last]! - c.lat[last - 1]!) / (c.size[last]! - c.size[last - 1]!));
      return c.lat[last]! + slope * (size - c.size[last]!);
    }
    t.mark("interp");
    const w = (x - c.log2Size[i]!) / (c.log2Size[i + 1]! - c.log2Size[i]!);
    return (1 - w) * c.lat[i]! + w * c.lat[i + 1]!;
  }

  /** Latency (ms) of one all-reduce of `elements` bf16 values over `gpus` GPUs; undefined without data. */
  query(gpu: GpuSpec, gpus: number, elements: number, t: SourceTracker): number | undefined {
    const exact = this.curves.get(gpus);
    if (exact) return this.curveAt(exact, elements, t);
    if (this.gpuCounts.length === 0) return undefined;
    // Nearest measured count, preferring the larger one.
    let pick = this.gpuCounts[this.gpuCounts.length - 1]!;
    for (const n of this.gpuCounts) {
      if (n >= gpus) {
        pick = n;
        break;
      }
    }
    t.mark("util-extrapolated");
    const measured = this.curveAt(this.curves.get(pick)!, elements, t);
    const util = allReduceSolMs(gpu, elements, pick) / measured;
    return allReduceSolMs(gpu, elements, gpus) / util;
  }
}
