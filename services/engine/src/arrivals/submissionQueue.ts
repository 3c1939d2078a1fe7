/**
 * Submissions a reactive arrival process has made for later times, earliest first (equal times in the
 * order they were made): a binary min-heap over parallel typed arrays, no allocation per entry.
 */
export class SubmissionQueue {
  private times: Float64Array;
  private seqs: Float64Array;
  private reqs: Int32Array;
  private size = 0;
  private seq = 0;

  constructor(capacity: number) {
    const c = Math.max(16, capacity);
    this.times = new Float64Array(c);
    this.seqs = new Float64Array(c);
    this.reqs = new Int32Array(c);
  }

  get length(): number {
    return this.size;
  }

  /** Time of the earliest submission; Infinity when empty. */
  peekTime(): number {
    return this.size > 0 ? this.times[0]! : Infinity;
  }

  push(r: number, tMs: number): void {
    if (this.size === this.times.length) this.grow();
    let i = this.size++;
    const s = this.seq++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.times[p]! < tMs || (this.times[p] === tMs && this.seqs[p]! < s)) break;
      this.move(p, i);
      i = p;
    }
    this.times[i] = tMs;
    this.seqs[i] = s;
    this.reqs[i] = r;
  }

  /** Removes the earliest submission and returns its request. */
  pop(): number {
    const top = this.reqs[0]!;
    const last = --this.size;
    if (last > 0) {
      const t = this.times[last]!;
      const s = this.seqs[last]!;
      const r = this.reqs[last]!;
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= last) break;
        if (c + 1 < last && this.less(c + 1, c)) c++;
        if (this.times[c]! > t || (this.times[c] === t && this.seqs[c]! > s)) break;
        this.move(c, i);
        i = c;
      }
      this.times[i] = t;
      this.seqs[i] = s;
      this.reqs[i] = r;
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    return this.times[a]! < this.times[b]! || (this.times[a] === this.times[b] && this.seqs[a]! < this.seqs[b]!);
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from]!;
    this.seqs[to] = this.seqs[from]!;
    this.reqs[to] = this.reqs[from]!;
  }

  private grow(): void {
    const c = this.times.length * 2;
    const t = new Float64Array(c);
    t.set(this.times);
    this.times = t;
    const s = new Float64Array(c);
    s.set(this.seqs);
    this.seqs = s;
    const r = new Int32Array(c);
    r.set(this.reqs);
    this.reqs = r;
  }
}
