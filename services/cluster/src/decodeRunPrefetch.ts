import type { BatchPredictor, SimBatch } from "@servesim/core";

const noop = (): void => undefined;

/**
 * Pipelining for an asynchronous predictor (a predictor-service stream): when an engine runs a decode-only
 * batch, the times of its next steps — the same requests, every KV length one longer per step — are
 * asked for at once with predictDecodeRun, and the following iterations take their time from that run
 * while their batches continue it. A batch that does not (a request joined or left) starts a new run.
 * Runs start at 4 steps and double while they are used to the end, up to `maxRun`. predictDecodeRun
 * returns exactly what predict() would for each step, so the results are those of pricing every batch.
 */
export class DecodeRunPrefetch {
  private base = new Int32Array(0);
  private count = 0;
  private steps = 0;
  private next = 0;
  private pending: Promise<ArrayLike<number>> | null = null;
  private times: ArrayLike<number> | null = null;
  private runLength = 4;

  constructor(
    private readonly predictor: BatchPredictor & Required<Pick<BatchPredictor, "predictDecodeRun">>,
    private readonly maxRun = 256,
  ) {}

  /** A predictor whose decode runs are worth prefetching: asynchronous and pipelined. */
  static applies(p: BatchPredictor): p is BatchPredictor & Required<Pick<BatchPredictor, "predictDecodeRun">> {
    return typeof p.predictDecodeRun === "function" && (p.maxInFlight ?? 1) > 1;
  }

  /** The time of a decode-only batch: a number when its run has answered, else a promise. */
  timeFor(batch: SimBatch): number | Promise<number> {
    if (this.continues(batch)) return this.pick(this.next++);
    if (this.steps > 0) this.runLength = this.next >= this.steps ? Math.min(2 * this.runLength, this.maxRun) : 4;
    const n = batch.numGeneration;
    if (this.base.length < n) this.base = new Int32Array(Math.max(n, 2 * this.base.length));
    for (let k = 0; k < n; k++) this.base[k] = batch.pastKvLength[k]!;
    this.count = n;
    this.steps = this.runLength;
    this.next = 1;
    this.times = null;
    const run = this.predictor.predictDecodeRun(this.base.subarray(0, n), n, this.steps);
    if (typeof (run as PromiseLike<unknown>).then === "function") {
      const p = Promise.resolve(run);
      this.pending = p;
      p.then((t) => {
        if (this.pending === p) this.times = t;
      }, noop);
    } else {
      this.pending = null;
      this.times = run as ArrayLike<number>;
    }
    return this.pick(0);
  }

  private continues(b: SimBatch): boolean {
    if (this.next >= this.steps || b.numContext !== 0 || b.numGeneration !== this.count) return false;
    const s = this.next;
    for (let k = 0; k < this.count; k++) if (b.pastKvLength[k] !== this.base[k]! + s) return false;
    return true;
  }

  private pick(s: number): number | Promise<number> {
    if (this.times !== null) return this.times[s]!;
    const steps = this.steps;
    return this.pending!.then((t) => {
      if (t.length !== steps) throw new Error(`predictDecodeRun returned ${t.length} times for ${steps} steps`);
      return t[s]!;
    });
  }
}
