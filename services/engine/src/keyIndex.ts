const EMPTY = -1;

/**
 * The prefix cache's key → node index: an open-addressing hash table (linear probing, backward-shift
 * deletion) over typed arrays. Keys are the engine's 53-bit block keys held as doubles; a JS Map keyed
 * by such numbers boxes and hashes each one and was the hot spot of runs with block reuse.
 */
export class KeyIndex {
  private keys: Float64Array;
  private values: Int32Array;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.keys = new Float64Array(cap);
    this.values = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  /** The value stored under `key`, or -1. */
  get(key: number): number {
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    for (let i = this.home(key); ; i = (i + 1) & mask) {
      const v = values[i]!;
      if (v === EMPTY || keys[i] === key) return v;
    }
  }

  /** Stores `value` (≥ 0) under `key`, replacing any previous value. */
  set(key: number, value: number): void {
    if ((this.count + 1) * 2 > this.values.length) this.grow();
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    for (let i = this.home(key); ; i = (i + 1) & mask) {
      if (values[i] === EMPTY) {
        keys[i] = key;
        values[i] = value;
        this.count++;
        return;
      }
      if (keys[i] === key) {
        values[i] = value;
        return;
      }
    }
  }

  /** Removes `key` if present. */
  delete(key: number): void {
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    let i = this.home(key);
    for (;;) {
      if (values[i] === EMPTY) return;
      if (keys[i] === key) break;
      i = (i + 1) & mask;
    }
    // Backward shift: move later entries of the probe chain into the hole unless their home lies
    // cyclically in (hole, position].
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (values[j] === EMPTY) break;
      const k = this.home(keys[j]!);
      if (i <= j ? i < k && k <= j : i < k || k <= j) continue;
      keys[i] = keys[j]!;
      values[i] = values[j]!;
      i = j;
    }
    values[i] = EMPTY;
    this.count--;
  }

  private home(key: number): number {
    // Keys are already well-mixed hashes; fold the high bits in for safety.
    const lo = key >>> 0;
    const hi = (key / 4294967296) | 0;
    return (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const cap = oldValues.length * 2;
    this.keys = new Float64Array(cap);
    this.values = new Int32Array(cap).fill(EMPTY);
    this.mask = cap - 1;
    this.count = 0;
    for (let i = 0; i < oldValues.length; i++) if (oldValues[i] !== EMPTY) this.set(oldKeys[i]!, oldValues[i]!);
  }
}
