import { correctlyRoundedLog } from "./correctlyRoundedLog.js";
import { MT19937 } from "./mt19937.js";

/**
 * NumPy's legacy global generator (`np.random.seed(seed)` + `np.random.normal`): MT19937 seeded with
 * `init_genrand`, Gaussians from the Marsaglia polar method that caches the second value of each pair.
 *
 * The uniform stream is bit-exact. The polar step needs log(r²): we use a correctly rounded log, which
 * agrees with glibc's `log` (what NumPy calls on Linux) except where glibc itself misrounds (about
 * 0.04% of draws, then the Gaussian differs by 1 ulp — far too little to move a ceil()ed length).
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

  /** `np.random.normal(loc, scale, size)`. */
  normal(loc: number, scale: number, size: number): Float64Array {
    const out = new Float64Array(size);
    for (let i = 0; i < size; i++) out[i] = loc + scale * this.gauss();
    return out;
  }
}
