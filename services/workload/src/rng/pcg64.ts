/**
 * NumPy's `np.random.default_rng(seed)`: SeedSequence → PCG64 (XSL-RR 128/64), and
 * `Generator.integers(low, high, size)` for int64 via Lemire's bounded method on 32-bit draws when the
 * range fits in 32 bits. Bit-exact with NumPy ≥ 1.17.
 */
const MASK32 = 0xffffffff;
const MASK64 = (1n << 64n) - 1n;
const MASK128 = (1n << 128n) - 1n;
const PCG_MULT = 0x2360ed051fc65da44385df649fccf645n;

const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;
const POOL_SIZE = 4;

/** SeedSequence pool for a non-negative integer seed (no spawn key). */
function seedSequencePool(seed: bigint): Uint32Array {
  const entropy: number[] = [];
  if (seed === 0n) entropy.push(0);
  for (let n = seed; n > 0n; n >>= 32n) entropy.push(Number(n & 0xffffffffn));

  let hashConst = INIT_A;
  const hashmix = (value: number): number => {
    let v = (value ^ hashConst) >>> 0;
    hashConst = Math.imul(hashConst, MULT_A) >>> 0;
    v = Math.imul(v, hashConst) >>> 0;
    return (v ^ (v >>> 16)) >>> 0;
  };
  const mix = (x: number, y: number): number => {
    const r = (Math.imul(MIX_MULT_L, x) - Math.imul(MIX_MULT_R, y)) >>> 0;
    return (r ^ (r >>> 16)) >>> 0;
  };

  const pool = new Uint32Array(POOL_SIZE);
  for (let i = 0; i < POOL_SIZE; i++) pool[i] = hashmix(i < entropy.length ? entropy[i]! : 0);
  for (let src = 0; src < POOL_SIZE; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) {
      if (src !== dst) pool[dst] = mix(pool[dst]!, hashmix(pool[src]!));
    }
  }
  for (let src = POOL_SIZE; src < entropy.length; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) pool[dst] = mix(pool[dst]!, hashmix(entropy[src]!));
  }
  return pool;
}

/** `SeedSequence.generate_state(nWords64, np.uint64)`. */
function generateState64(pool: Uint32Array, nWords64: number): bigint[] {
  let hashConst = INIT_B;
  const words = new Uint32Array(nWords64 * 2);
  for (let i = 0; i < words.length; i++) {
    let v = (pool[i % POOL_SIZE]! ^ hashConst) >>> 0;
    hashConst = Math.imul(hashConst, MULT_B) >>> 0;
    v = Math.imul(v, hashConst) >>> 0;
    words[i] = (v ^ (v >>> 16)) >>> 0;
  }
  const out: bigint[] = [];
  for (let i = 0; i < nWords64; i++) out.push(BigInt(words[2 * i]!) | (BigInt(words[2 * i + 1]!) << 32n));
  return out;
}

/** `(a × b)` for 32-bit unsigned a, b, as [high 32 bits, low 32 bits], exactly. */
function mul32(a: number, b: number): [number, number] {
  const aHi = a >>> 16;
  const aLo = a & 0xffff;
  const bHi = b >>> 16;
  const bLo = b & 0xffff;
  const lolo = aLo * bLo;
  const cross = aHi * bLo + aLo * bHi; // < 2^33, exact
  const lo = lolo + (cross % 65536) * 65536;
  const hi = aHi * bHi + Math.floor(cross / 65536) + Math.floor(lo / 4294967296);
  return [hi >>> 0, lo >>> 0];
}

export class Pcg64 {
  private state: bigint;
  private readonly inc: bigint;
  private bufferedUint32: number | null = null;

  /** `np.random.default_rng(seed)` for a non-negative integer seed. */
  constructor(seed: number | bigint) {
    const s = BigInt(seed);
    if (s < 0n) throw new RangeError("seed must be non-negative");
    const [s0, s1, i0, i1] = generateState64(seedSequencePool(s), 4) as [bigint, bigint, bigint, bigint];
    const initState = (s0 << 64n) | s1;
    const initSeq = (i0 << 64n) | i1;
    this.inc = ((initSeq << 1n) | 1n) & MASK128;
    this.state = 0n;
    this.step();
    this.state = (this.state + initState) & MASK128;
    this.step();
  }

  private step(): void {
    this.state = (this.state * PCG_MULT + this.inc) & MASK128;
  }

  /** `pcg64_next64`. */
  nextUint64(): bigint {
    this.step();
    const hi = this.state >> 64n;
    const x = (hi ^ this.state) & MASK64;
    const rot = hi >> 58n;
    return ((x >> rot) | (x << ((64n - rot) & 63n))) & MASK64;
  }

  /** `pcg64_next32`: the low half of a 64-bit draw, then its high half. */
  nextUint32(): number {
    if (this.bufferedUint32 !== null) {
      const v = this.bufferedUint32;
      this.bufferedUint32 = null;
      return v;
    }
    const next = this.nextUint64();
    this.bufferedUint32 = Number(next >> 32n);
    return Number(next & 0xffffffffn);
  }

  /**
   * `Generator.integers(low, high, size)` (int64, high exclusive) for ranges below 2^32: Lemire's
   * bounded method with rejection, exactly as NumPy's `buffered_bounded_lemire_uint32`.
   */
  integers(low: number, high: number, size: number): Float64Array {
    const rng = high - 1 - low;
    if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high) || rng < 0 || rng > MASK32) {
      throw new RangeError(`integers: unsupported range [${low}, ${high})`);
    }
    const out = new Float64Array(size);
    if (rng === 0) return out.fill(low);
    if (rng === MASK32) {
      for (let i = 0; i < size; i++) out[i] = low + this.nextUint32();
      return out;
    }
    const rngExcl = rng + 1;
    const threshold = (MASK32 - rng) % rngExcl;
    for (let i = 0; i < size; i++) {
      let [hi, leftover] = mul32(this.nextUint32(), rngExcl);
      if (leftover < rngExcl) {
        while (leftover < threshold) [hi, leftover] = mul32(this.nextUint32(), rngExcl);
      }
      out[i] = low + hi;
    }
    return out;
  }
}
