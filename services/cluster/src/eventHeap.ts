/** A binary min-heap of (time, sequence) keyed events; equal times pop in insertion order. */
export class EventHeap<T> {
  private times: number[] = [];
  private seqs: number[] = [];
  private items: T[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  peekTime(): number {
    return this.items.length > 0 ? this.times[0]! : Number.POSITIVE_INFINITY;
  }

  push(time: number, item: T): void {
    const t = this.times;
    const s = this.seqs;
    const it = this.items;
    let i = it.length;
    t.push(time);
    s.push(this.seq++);
    it.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (t[p]! < t[i]! || (t[p] === t[i] && s[p]! < s[i]!)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): T {
    const it = this.items;
    const top = it[0]!;
    const last = it.length - 1;
    this.swap(0, last);
    this.times.pop();
    this.seqs.pop();
    it.pop();
    const t = this.times;
    const s = this.seqs;
    let i = 0;
    const n = it.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let m = l;
      if (r < n && (t[r]! < t[l]! || (t[r] === t[l] && s[r]! < s[l]!))) m = r;
      if (t[i]! < t[m]! || (t[i] === t[m] && s[i]! < s[m]!)) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }

  private swap(a: number, b: number): void {
    const t = this.times;
    const s = this.seqs;
    const it = this.items;
    [t[a], t[b]] = [t[b]!, t[a]!];
    [s[a], s[b]] = [s[b]!, s[a]!];
    [it[a], it[b]] = [it[b]!, it[a]!];
  }
}
