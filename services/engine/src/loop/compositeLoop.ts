import type { SimBatch } from "@servesim/core";
import type { SimRequest } from "../types.js";
import { checkSubmit, type EngineLoop, type LoopEvents, type LoopLoad, type RequestDoneEvent, type SubmitOptions, sumLoads } from "./engineLoop.js";

/**
 * An EngineLoop made of inner loops (attention-DP ranks, pipeline micro-batch slots): what both keep of a submitted
 * request until an inner loop takes it, the handles of the inner loops mapped back to its own, and the ended
 * requests not yet reported. Subclasses hand pending requests to inner loops and map their ended requests back
 * with `absorb`.
 */
export abstract class CompositeLoop implements EngineLoop {
  protected readonly inner: EngineLoop[] = [];
  /** Submitted, not yet handed to an inner loop: handles in submission order (submit times never decrease). */
  protected pending: number[] = [];
  protected pendingHead = 0;
  protected readonly requests: SimRequest[] = [];
  protected readonly submitMs: number[] = [];
  protected readonly kvReady: boolean[] = [];
  /** Inner-loop handle → own handle, per inner loop. */
  protected readonly handleOf: number[][] = [];
  /** Requests that ended and were not reported yet. */
  protected ended: RequestDoneEvent[] = [];
  private lastSubmitMs = 0;

  constructor(private readonly tokensPerBlock: number) {}

  abstract nextEventTime(): number;
  abstract schedule(tMs: number): SimBatch | null;
  abstract commit(deviceMs: number): LoopEvents;

  /** Inner loop k's ended requests, mapped to own handles and submit times, appended to `into`. */
  protected abstract absorb(k: number, events: readonly RequestDoneEvent[], into: RequestDoneEvent[]): void;

  /** Adds an inner loop (its index is its position). */
  protected addInner(loop: EngineLoop): void {
    this.inner.push(loop);
    this.handleOf.push([]);
  }

  submit(req: SimRequest, tMs: number, opts?: SubmitOptions): number {
    const kvReady = checkSubmit(req, tMs, this.lastSubmitMs, this.tokensPerBlock, opts);
    this.lastSubmitMs = tMs;
    const h = this.requests.length;
    this.requests.push(req);
    this.submitMs.push(tMs);
    this.kvReady.push(kvReady);
    this.pending.push(h);
    return h;
  }

  /** Hands pending request `h` to inner loop k at `tMs`. */
  protected handOver(k: number, h: number, tMs: number): void {
    const local = this.inner[k]!.submit(this.requests[h]!, tMs, this.kvReady[h] ? { kvReady: true } : undefined);
    this.handleOf[k]![local] = h;
  }

  /** Drops the pending requests already handed over once they are most of the array. */
  protected compactPending(): void {
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.pendingHead);
      this.pendingHead = 0;
    }
  }

  /** The submit time of the next pending request (Infinity: none). */
  protected nextPendingMs(): number {
    return this.pendingHead < this.pending.length ? this.submitMs[this.pending[this.pendingHead]!]! : Number.POSITIVE_INFINITY;
  }

  takeEnded(): RequestDoneEvent[] {
    for (let k = 0; k < this.inner.length; k++) this.absorb(k, this.inner[k]!.takeEnded(), this.ended);
    const out = this.ended;
    this.ended = [];
    return out;
  }

  load(): LoopLoad {
    return sumLoads(this.inner, this.pending.length - this.pendingHead);
  }
}
