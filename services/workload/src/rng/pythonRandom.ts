import { MT19937 } from "./mt19937.js";

/**
 * CPython's `random.Random` (3.x) for the calls the dataset generator makes: `seed(int)`,
 * `sample(range(n), k)` and `choices(range(n), k=k)`. Bit-exact with CPython 3.9+.
 */
export class PythonRandom {
  private readonly mt: MT19937;

  constructor(seed: number) {
    const key: number[] = [];
    let n = Math.abs(seed);
    if (!Number.isSafeInteger(n)) throw new RangeError("seed must be a safe integer");
    do {
      key.push(n % 4294967296);
      n = Math.floor(n / 4294967296);
    } while (n > 0);
    this.mt = MT19937.fromKey(key);
  }

  /** `random.random()`. */
  random(): number {
    return this.mt.nextDouble();
  }

  /** `getrandbits(k)` for 0 ≤ k ≤ 32. */
  private getrandbits(k: number): number {
    return k === 0 ? 0 : this.mt.nextUint32() >>> (32 - k);
  }

  /** `_randbelow_with_getrandbits(n)`: uniform in [0, n) for 1 ≤ n < 2^32. */
  randbelow(n: number): number {
    const k = 32 - Math.clz32(n);
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }

  /** `random.sample(range(n), k)` (0 ≤ k ≤ n < 2^32): k distinct values, in selection order. */
  sampleRange(n: number, k: number, out: Uint32Array = new Uint32Array(k)): Uint32Array {
    if (k < 0 || k > n) throw new RangeError("Sample larger than population or is negative");
    let setsize = 21;
    if (k > 5) setsize += 4 ** Math.ceil(Math.log(k * 3) / Math.log(4));
    if (n <= setsize) {
      const pool = new Uint32Array(n);
      for (let i = 0; i < n; i++) pool[i] = i;
      for (let i = 0; i < k; i++) {
        const j = this.randbelow(n - i);
        out[i] = pool[j]!;
        pool[j] = pool[n - i - 1]!;
      }
    } else {
      const selected = new Set<number>();
      for (let i = 0; i < k; i++) {
        let j = this.randbelow(n);
        while (selected.has(j)) j = this.randbelow(n);
        selected.add(j);
        out[i] = j;
      }
    }
    return out;
  }

  /** `random.choices(range(n), k=k)`: k values with repeats. */
  choicesRange(n: number, k: number, out: Uint32Array = new Uint32Array(k)): Uint32Array {
    for (let i = 0; i < k; i++) out[i] = Math.floor(this.random() * n);
    return out;
  }
}
