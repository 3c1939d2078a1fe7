import { correctlyRoundedLog } from "./correctlyRoundedLog.js";
import { correctlyRoundedPow } from "./correctlyRoundedPow.js";
import { MT19937 } from "./mt19937.js";

/**
 * NumPy's legacy global generator (`np.random.seed(seed)` with `np.random.normal`, `np.random.gamma`,
 * `np.random.exponential`): MT19937 seeded with `init_genrand`, the samplers of NumPy's
 * `numpy/random/src/legacy/legacy-distributions.c` step for step — Gaussians from the Marsaglia polar
 * method that caches the second value of each pair, gammas from Marsaglia–Tsang (shape > 1) and
 * Johnk-style rejection (shape < 1).
 *
 * The uniform stream is bit-exact. The samplers call C's `log` and `pow`: we use correctly rounded
 * versions, which agree with glibc's (what NumPy calls on Linux) except where glibc itself misrounds
 * (about 0.04% of logs, then a value differs by 1 ulp, or, at a rejection test's exact boundary, a draw
 * is accepted where NumPy rejects it).
 */
export class NumpyLegacyRandom {
  private readonly mt: MT19937;
  private cachedGauss: number | null = null;

  constructor(seed: number) {
    this.mt = MT19937.fromSeed(seed);
  }

  /** `legacy_gauss`: one standard-normal value. */
  gauss(): number {
    if (this.cachedGauss !== null) {
      const g = this.cachedGauss;
      this.cachedGauss = null;
      return g;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2.0 * this.mt.nextDouble() - 1.0;
      x2 = 2.0 * this.mt.nextDouble() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 === 0.0);
    const f = Math.sqrt((-2.0 * correctlyRoundedLog(r2)) / r2);
    this.cachedGauss = f * x1;
    return f * x2;
  }

  /** `legacy_double`: a uniform double in [0, 1). */
  double(): number {
    return this.mt.nextDouble();
  }

  /** `legacy_standard_exponential`: -log(1 - U). */
  standardExponential(): number {
    return -correctlyRoundedLog(1.0 - this.mt.nextDouble());
  }

  /** `legacy_standard_gamma(shape)` for shape >= 0. */
  standardGamma(shape: number): number {
    if (shape === 1.0) return this.standardExponential();
    if (shape === 0.0) return 0.0;
    if (shape < 1.0) {
      for (;;) {
        const U = this.mt.nextDouble();
        const V = this.standardExponential();
        if (U <= 1.0 - shape) {
          const X = correctlyRoundedPow(U, 1 / shape);
          if (X <= V) return X;
        } else {
          const Y = -correctlyRoundedLog((1 - U) / shape);
          const X = correctlyRoundedPow(1.0 - shape + shape * Y, 1 / shape);
          if (X <= V + Y) return X;
        }
      }
    }
    const b = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * b);
    for (;;) {
      let X: number;
      let V: number;
      do {
        X = this.gauss();
        V = 1.0 + c * X;
      } while (V <= 0.0);
      V = V * V * V;
      const U = this.mt.nextDouble();
      if (U < 1.0 - 0.0331 * (X * X) * (X * X)) return b * V;
      if (correctlyRoundedLog(U) < 0.5 * X * X + b * (1 - V + correctlyRoundedLog(V))) return b * V;
    }
  }

  /** `np.random.gamma(shape, scale)` (one draw): scale · standard_gamma(shape). */
  gamma(shape: number, scale: number): number {
    return scale * this.standardGamma(shape);
  }

  /** `np.random.normal(loc, scale, size)`. */
  normal(loc: number, scale: number, size: number): Float64Array {
    const out = new Float64Array(size);
    for (let i = 0; i < size; i++) out[i] = loc + scale * this.gauss();
    return out;
  }
}
