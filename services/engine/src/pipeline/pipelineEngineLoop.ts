import type { IterationStats, SimBatch } from "@servesim/core";
import { InvalidArgumentError } from "@servesim/core";
import type { EngineLoop, LoopEvents, LoopLoad, RequestDoneEvent, SubmitOptions } from "../loop/engineLoop.js";
import { createEngineLoop, type EngineLoopOptions, type SingleEngineLoop } from "../loop/singleEngineLoop.js";
import type { SimRequest } from "../types.js";
import { validateRequest } from "../validation.js";

/**
 * One pipeline-parallel engine instance behind the EngineLoop interface, for a caller that owns the clock
 * (a cluster). As TensorRT-LLM's `_executor_loop_pp` (tensorrt_llm/_torch/pyexecutor/py_executor.py) and
 * the single-engine driver (pipeline/run.ts, PipelineTiming): pp micro-batch slots, each one engine loop
 * (non-overlap) with up to max_batch_size requests and its share of the KV pool (numBlocks / pp); a
 * micro-batch enters stage 0 when stage 0 is free and its slot's previous tokens are back, flows through
 * the pp stages (each a 1/pp share of the batch's time, waiting for a stage that is still busy with the
 * previous micro-batch), and its tokens come out of the last stage. A submitted request waits at the
 * instance until the next micro-batch is scheduled; then the requests that have arrived go to the slots
 * with the fewest requests.
 *
 * An iteration of this loop is one micro-batch: schedule() builds the batch of the slot that can start
 * first, commit() takes the batch's time over the whole model and returns the micro-batch's events; its
 * endMs is when its tokens leave the last stage (micro-batches overlap in time).
 */
export class PipelineEngineLoop implements EngineLoop {
  private readonly slots: SingleEngineLoop[] = [];
  private readonly stageFree: Float64Array;
  /** Per slot: when its last micro-batch's tokens came out of the last stage. */
  private readonly slotEnd: Float64Array;
  private readonly tokensPerBlock: number;
  private readonly iterationStats: boolean;
  private readonly drafts: number;
  private draftView: Int32Array = new Int32Array(0);
  private pending: number[] = [];
  private pendingHead = 0;
  private readonly requests: SimRequest[] = [];
  private readonly submitMs: number[] = [];
  private readonly kvReady: boolean[] = [];
  private readonly slotRequests: Int32Array;
  /** Slot-local handle → instance handle, per slot. */
  private readonly handleOf: number[][] = [];
  private scheduledSlot = -1;
  private scheduledAt = 0;
  private lastSubmitMs = 0;
  private iter = 0;
  private ended: RequestDoneEvent[] = [];
  private readonly events: LoopEvents = { startMs: 0, endMs: 0, firstTokens: [], done: [], iteration: null };

  constructor(options: EngineLoopOptions) {
    const pp = options.ppSize;
    if (!Number.isInteger(pp) || pp < 2 || pp > 256) throw new InvalidArgumentError("options.ppSize", `must be an integer in [2, 256] (got ${String(pp)})`);
    // TensorRT-LLM runs pipeline parallelism with its own loop, not the overlap loop; the stages' times
    // come from the predictor's device time (no host timing model, as for the single-engine driver).
    const { timing: _timing, ...rest } = options;
    const slot = { ...rest, ppSize: 1, overlap: false, numBlocks: Math.max(1, Math.floor(options.numBlocks / pp)) };
    for (let k = 0; k < pp; k++) {
      this.slots.push(createEngineLoop(slot));
      this.handleOf.push([]);
    }
    this.stageFree = new Float64Array(pp);
    this.slotEnd = new Float64Array(pp);
    this.slotRequests = new Int32Array(pp);
    this.tokensPerBlock = options.tokensPerBlock;
    this.iterationStats = options.iterationStats === true;
    this.drafts = options.speculative?.maxDraftLen ?? 0;
  }

  get numStages(): number {
    return this.slots.length;
  }

  submit(req: SimRequest, tMs: number, opts?: SubmitOptions): number {
    validateRequest(req, "request", this.tokensPerBlock);
    if (typeof tMs !== "number" || !Number.isFinite(tMs) || tMs < 0) {
      throw new InvalidArgumentError("tMs", `must be a finite time >= 0 ms (got ${String(tMs)})`);
    }
    if (tMs < this.lastSubmitMs) throw new InvalidArgumentError("tMs", `submit times must not decrease (got ${tMs} after ${this.lastSubmitMs})`);
    const kvReady = opts?.kvReady ?? false;
    if (kvReady && req.outputTokens < 2) {
      throw new InvalidArgumentError("request.outputTokens", "a kvReady request's first token is already generated: it needs outputTokens >= 2");
    }
    this.lastSubmitMs = tMs;
    const h = this.requests.length;
    this.requests.push(req);
    this.submitMs.push(tMs);
    this.kvReady.push(kvReady);
    this.pending.push(h);
    return h;
  }

  /** When slot k can start its next micro-batch (Infinity: it has nothing to run). */
  private readyAt(k: number): number {
    const t = this.slots[k]!.nextEventTime();
    return t === Number.POSITIVE_INFINITY ? t : Math.max(t, this.stageFree[0]!);
  }

  nextEventTime(): number {
    let t = Number.POSITIVE_INFINITY;
    for (let k = 0; k < this.slots.length; k++) t = Math.min(t, this.readyAt(k));
    if (this.pendingHead < this.pending.length) {
      // A waiting request is handed to a slot when a micro-batch is scheduled: not before it arrives,
      // stage 0 is free and some slot's previous tokens are back.
      let free = Number.POSITIVE_INFINITY;
      for (let k = 0; k < this.slots.length; k++) free = Math.min(free, this.slotEnd[k]!);
      t = Math.min(t, Math.max(this.submitMs[this.pending[this.pendingHead]!]!, this.stageFree[0]!, free));
    }
    return t;
  }

  schedule(tMs: number): SimBatch | null {
    if (this.scheduledSlot >= 0) throw new Error("schedule() called again before commit() of the scheduled iteration");
    this.route(tMs);
    let best = -1;
    let bestAt = Number.POSITIVE_INFINITY;
    for (let k = 0; k < this.slots.length; k++) {
      const at = this.readyAt(k);
      if (at <= tMs && at < bestAt) {
        best = k;
        bestAt = at;
      }
    }
    for (let k = 0; k < this.slots.length; k++) this.absorb(k, this.slots[k]!.takeEnded(), this.ended);
    if (best < 0) return null;
    const b = this.slots[best]!.schedule(Math.max(tMs, this.slots[best]!.nextEventTime()));
    this.absorb(best, this.slots[best]!.takeEnded(), this.ended);
    if (b === null) return null;
    this.scheduledSlot = best;
    this.scheduledAt = tMs;
    return this.withDrafts(b);
  }

  commit(deviceMs: number): LoopEvents {
    const k = this.scheduledSlot;
    if (k < 0) throw new Error("commit() called without an iteration from schedule()");
    this.scheduledSlot = -1;
    const S = this.slots.length;
    const stage = deviceMs / S;
    let t = this.scheduledAt;
    for (let s = 0; s < S; s++) {
      t = Math.max(t, this.stageFree[s]!) + stage;
      this.stageFree[s] = t;
    }
    this.slotEnd[k] = t;
    const e = this.slots[k]!.commit(t - this.scheduledAt);
    const local = this.handleOf[k]!;
    const ev = this.events;
    ev.startMs = this.scheduledAt;
    ev.endMs = t;
    ev.firstTokens = e.firstTokens.map((f) => ({ handle: local[f.handle]!, timeMs: f.timeMs }));
    const done = this.ended;
    this.ended = [];
    this.absorb(k, e.done, done);
    ev.done = done;
    ev.iteration = this.iterationStats && e.iteration ? ({ ...e.iteration, iter: this.iter } as IterationStats) : null;
    this.iter++;
    return ev;
  }

  takeEnded(): RequestDoneEvent[] {
    for (let k = 0; k < this.slots.length; k++) this.absorb(k, this.slots[k]!.takeEnded(), this.ended);
    const out = this.ended;
    this.ended = [];
    return out;
  }

  load(): LoopLoad {
    let queued = this.pending.length - this.pendingHead;
    let active = 0;
    let kvUsedBlocks = 0;
    let kvTotalBlocks = 0;
    for (const s of this.slots) {
      const l = s.load();
      queued += l.queued;
      active += l.active;
      kvUsedBlocks += l.kvUsedBlocks;
      kvTotalBlocks += l.kvTotalBlocks;
    }
    return { queued, active, kvUsedBlocks, kvTotalBlocks };
  }

  private withDrafts(b: SimBatch): SimBatch {
    if (this.drafts === 0) return b;
    const n = b.numContext + b.numGeneration;
    if (this.draftView.length < n) this.draftView = new Int32Array(Math.max(n, 2 * this.draftView.length)).fill(this.drafts);
    return {
      numContext: b.numContext,
      numGeneration: b.numGeneration,
      inputLength: b.inputLength,
      pastKvLength: b.pastKvLength,
      numContextTokens: b.numContextTokens,
      draftTokens: this.draftView,
    };
  }

  /** Hands the requests submitted by `tMs` to the slots with the fewest requests (lowest index on ties). */
  private route(tMs: number): void {
    const p = this.pending;
    while (this.pendingHead < p.length && this.submitMs[p[this.pendingHead]!]! <= tMs) {
      const h = p[this.pendingHead++]!;
      let k = 0;
      for (let j = 1; j < this.slots.length; j++) if (this.slotRequests[j]! < this.slotRequests[k]!) k = j;
      const local = this.slots[k]!.submit(this.requests[h]!, tMs, this.kvReady[h] ? { kvReady: true } : undefined);
      this.handleOf[k]![local] = h;
      this.slotRequests[k]!++;
    }
    if (this.pendingHead > 1024 && this.pendingHead * 2 > p.length) {
      this.pending = p.slice(this.pendingHead);
      this.pendingHead = 0;
    }
  }

  private absorb(k: number, events: readonly RequestDoneEvent[], into: RequestDoneEvent[]): void {
    if (events.length === 0) return;
    const local = this.handleOf[k]!;
    for (const e of events) {
      const h = local[e.handle]!;
      this.slotRequests[k]!--;
      into.push({ ...e, handle: h, submitMs: this.submitMs[h]! });
    }
  }
}

/** A pipeline-parallel EngineLoop with `options.ppSize` micro-batch slots and stages. */
export function createPipelineEngineLoop(options: EngineLoopOptions): PipelineEngineLoop {
  return new PipelineEngineLoop(options);
}
