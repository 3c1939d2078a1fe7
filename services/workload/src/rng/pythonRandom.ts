import { MT19937 } from "@servesim/core";

/** Above this population `sample` keeps a Set rather than an n-bit bitset (2 MiB at this size). */
const MAX_MARKED_POPULATION = 1 << 24;

/**
 * CPython's `random.Random` (3.x) for the calls the dataset generator makes: `seed(int)`,
 * `sample(range(n), k)` and `choices(range(n), k=k)`. Bit-exact with CPython 3.9+.
 */
export class PythonRandom {
  private readonly mt: MT19937;
  /** The bitset of `sampleMarked`, all zero between calls. */
  private taken: Int32Array | null = null;

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
    } else if (n <= MAX_MARKED_POPULATION) {
      this.sampleMarked(n, k, out);
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

  /**
   * CPython's set-based branch of `sample` with the set as a bitset over [0, n): same draws, same result,
   * nothing allocated per call. The words set here are zeroed again before returning.
   */
  private sampleMarked(n: number, k: number, out: Uint32Array): void {
    let taken = this.taken;
    if (taken === null || taken.length * 32 < n) taken = this.taken = new Int32Array(Math.ceil(n / 32));
    const mt = this.mt;
    const shift = Math.clz32(n); // getrandbits(bit_length(n)) = genrand_uint32 >>> (32 − bit_length(n))
    for (let i = 0; i < k; i++) {
      let j: number;
      do j = mt.nextUint32() >>> shift;
      while (j >= n || (taken[j >>> 5]! & (1 << (j & 31))) !== 0);
      taken[j >>> 5]! |= 1 << (j & 31);
      out[i] = j;
    }
    for (let i = 0; i < k; i++) taken[out[i]! >>> 5] = 0;
  }

  /** `random.choices(range(n), k=k)`: k values with repeats. */
  choicesRange(n: number, k: number, out: Uint32Array = new Uint32Array(k)): Uint32Array {
    for (let i = 0; i < k; i++) out[i] = Math.floor(this.random() * n);
    return out;
  }
}
