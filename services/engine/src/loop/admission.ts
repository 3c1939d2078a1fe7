import type { WaitingQueue } from "../queue/queueOrder.js";
import type { RequestTable } from "../requestTable.js";
import { ST_CONTEXT, ST_DISAGG_INIT, ST_QUEUED } from "../requestTable.js";

/**
 * From submission to active_requests: submitted requests are released into the waiting queue when the
 * scheduling time reaches their submit time (those that can never run fail there instead), and the
 * queue's order fills active_requests up to max_num_active_requests (PyExecutor's
 * `_fetch_new_requests` in tensorrt_llm/_torch/pyexecutor/py_executor.py).
 */
export class Admission {
  /** Request indices in submission order: [0, submitted) are submitted, [0, released) released. */
  order: Int32Array;
  submitted = 0;
  released = 0;
  readonly active: Int32Array;
  activeCount = 0;
  /** Activations since the last iteration record. */
  newActive = 0;
  /** kvReady requests activated whose KV blocks are not allocated yet. */
  transfersWaiting = 0;

  constructor(
    private readonly t: RequestTable,
    readonly queue: WaitingQueue,
    maxNumActive: number,
    order: Int32Array,
  ) {
    this.active = new Int32Array(maxNumActive);
    this.order = order;
  }

  /** A new phase (Simulation): `order` in submission order, the first `submitted` of them submitted. */
  restart(order: Int32Array, submitted: number): void {
    this.order = order;
    this.submitted = submitted;
    this.released = 0;
    this.queue.clear();
  }

  /** Appends request `r` to the submission order (EngineLoop). */
  append(r: number): void {
    if (this.submitted === this.order.length) {
      const grown = new Int32Array(Math.max(16, this.order.length * 2));
      grown.set(this.order);
      this.order = grown;
    }
    this.order[this.submitted++] = r;
  }

  /**
   * Releases the requests submitted by `now` (every submitted one when `clockFree`) into the waiting
   * queue, or hands them to `reject` when `unservable` gives a reason.
   */
  release(now: number, clockFree: boolean, unservable: (r: number) => string | null, reject: (r: number, reason: string) => void): void {
    const t = this.t;
    while (this.released < this.submitted) {
      const r = this.order[this.released]!;
      if (!clockFree && t.submitMs[r]! > now) break;
      this.released++;
      const reason = unservable(r);
      if (reason !== null) {
        reject(r, reason);
      } else {
        t.state[r] = ST_QUEUED;
        this.queue.push(r);
      }
    }
  }

  /** Activation up to max_num_active_requests, in the queue's order. */
  activate(): void {
    const max = this.active.length;
    const t = this.t;
    const queue = this.queue;
    while (this.activeCount < max && queue.size > 0) {
      const r = queue.shift();
      if (t.tokenBase[r] === 1) {
        t.state[r] = ST_DISAGG_INIT;
        this.transfersWaiting++;
      } else {
        t.state[r] = ST_CONTEXT;
      }
      this.active[this.activeCount++] = r;
      this.newActive++;
    }
  }

  /** Submit time of the next unreleased request, Infinity when none. */
  nextSubmitTime(): number {
    return this.released < this.submitted ? this.t.submitMs[this.order[this.released]!]! : Infinity;
  }

  /** Keeps in active_requests only the requests for which `keep(r)` holds, in order. */
  retain(keep: (r: number) => boolean): void {
    const active = this.active;
    let k = 0;
    for (let i = 0; i < this.activeCount; i++) {
      const r = active[i]!;
      if (keep(r)) active[k++] = r;
    }
    this.activeCount = k;
  }
}
