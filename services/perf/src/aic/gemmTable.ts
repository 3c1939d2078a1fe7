import type { GpuSpec } from "../catalog/gpus.js";
import type { Precision } from "../dtypes.js";
import type { SourceTracker } from "../opSource.js";
import { gemmSolMs } from "../sol.js";
import { floorIndex, sortedUnique } from "./grid.js";
import type { GemmRow } from "./rows.js";

/** m-axis of one (n, k) pair: sorted m and latencies. */
interface MSeries {
  m: Float64Array;
  lat: Float64Array;
}

interface DtypeGrid {
  ns: number[];
  ks: number[];
  pairs: Map<number, MSeries>;
}

const pairKey = (n: number, k: number): number => n * 4_194_304 + k;

/** AIC table dtype of a weight precision. */
export function gemmTableDtype(p: Precision): string | undefined {
  switch (p) {
    case "bf16":
    case "fp16":
      return "bfloat16";
    case "fp8":
      return "fp8";
    case "fp8_block":
      return "fp8_block";
    case "nvfp4":
      return "nvfp4";
    case "int4":
      return "int4_wo";
    default:
      return undefined;
  }
}

/**
 * GEMM latencies indexed by dtype → (n, k) → m. Interpolation (as aiconfigurator/sdk/perf_database.py does; docs/performance-models.md): utilization
 * (SOL/latency) at the 8 bracketing grid points, linear in m and in log2 n, log2 k, clamped to the hull
 * (so off-grid dims hold the boundary utilization); latency = SOL(query)/util, never below SOL.
 */
export class GemmTable {
  private readonly grids = new Map<string, DtypeGrid>();

  constructor(rows: readonly GemmRow[]) {
    const byDtype = new Map<string, Map<number, Array<[number, number]>>>();
    for (const r of rows) {
      if (r.m <= 0 || !(r.latency > 0)) continue; // m = 0 rows are degenerate
      let pairs = byDtype.get(r.dtype);
      if (!pairs) byDtype.set(r.dtype, (pairs = new Map()));
      const key = pairKey(r.n, r.k);
      let list = pairs.get(key);
      if (!list) pairs.set(key, (list = []));
      list.push([r.m, r.latency]);
    }
    for (const [dtype, pairs] of byDtype) {
      const ns: number[] = [];
      const ks: number[] = [];
      const series = new Map<number, MSeries>();
      for (const [key, list] of pairs) {
        ns.push(Math.floor(key / 4_194_304));
        ks.push(key % 4_194_304);
        list.sort((a, b) => a[0] - b[0]);
        series.set(key, { m: Float64Array.from(list, (p) => p[0]), lat: Float64Array.from(list, (p) => p[1]) });
      }
      this.grids.set(dtype, { ns: sortedUnique(ns), ks: sortedUnique(ks), pairs: series });
    }
  }

  has(dtype: string): boolean {
    return this.grids.has(dtype);
  }

  /** Utilization of one (n, k) pair at m (linear in m between measured points, held beyond them). */
  private utilAt(s: MSeries, gpu: GpuSpec, m: number, n: number, k: number, p: Precision, t: SourceTracker): number {
    const i = floorIndex(s.m, m);
    const last = s.m.length - 1;
    const util = (j: number): number => gemmSolMs(gpu, s.m[j]!, n, k, p) / s.lat[j]!;
    if (i < 0) {
      t.mark("util-extrapolated");
      return util(0);
    }
    if (s.m[i] === m) return util(i);
    if (i >= last) {
      t.mark("util-extrapolated");
      return util(last);
    }
    t.mark("interp");
    const w = (m - s.m[i]!) / (s.m[i + 1]! - s.m[i]!);
    return (1 - w) * util(i) + w * util(i + 1);
  }

  /** Latency (ms) of one GEMM call, or undefined when the dtype has no table. */
  query(dtype: string, gpu: GpuSpec, p: Precision, m: number, n: number, k: number, t: SourceTracker): number | undefined {
    const g = this.grids.get(dtype);
    if (!g) return undefined;
    const exact = g.pairs.get(pairKey(n, k));
    if (exact) {
      const i = floorIndex(exact.m, m);
      if (i >= 0 && exact.m[i] === m) return Math.max(exact.lat[i]!, gemmSolMs(gpu, m, n, k, p));
    }
    const [n0, n1, wn] = bracketLog2(g.ns, n, t);
    const [k0, k1, wk] = bracketLog2(g.ks, k, t);
    let util = 0;
    let weight = 0;
    const corners: Array<[number, number, number]> = [
      [n0, k0, (1 - wn) * (1 - wk)],
      [n1, k0, wn * (1 - wk)],
      [n0, k1, (1 - wn) * wk],
      [n1, k1, wn * wk],
    ];
    for (const [cn, ck, w] of corners) {
      if (w === 0) continue;
      const s = g.pairs.get(pairKey(cn, ck));
      if (!s) continue; // a hole in the (n, k) grid: renormalize over the other corners
      util += w * this.utilAt(s, gpu, m, cn, ck, p, t);
      weight += w;
    }
    if (weight === 0) return undefined;
    if (t.source === "table") t.mark("interp");
    return gemmSolMs(gpu, m, n, k, p) / Math.min(1, util / weight);
  }
}

/** Bracketing grid values of x and the weight of the upper one, linear in log2; clamped to the hull. */
function bracketLog2(grid: readonly number[], x: number, t: SourceTracker): [number, number, number] {
  const i = floorIndex(grid, x);
  if (i < 0) {
    t.mark("util-extrapolated");
    return [grid[0]!, grid[0]!, 0];
  }
  const lo = grid[i]!;
  if (lo === x) return [lo, lo, 0];
  if (i === grid.length - 1) {
    t.mark("util-extrapolated");
    return [lo, lo, 0];
  }
  const hi = grid[i + 1]!;
  return [lo, hi, (Math.log2(x) - Math.log2(lo)) / (Math.log2(hi) - Math.log2(lo))];
}
