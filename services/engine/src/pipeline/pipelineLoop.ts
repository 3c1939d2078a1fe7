import type { BatchPredictor, IterationStats, SimBatch } from "@servesim/core";
import { InvalidArgumentError } from "@servesim/core";
import { CompositeLoop } from "../loop/compositeLoop.js";
import type { DecodeRunLoop, FirstTokenEvent, LoopEvents, RequestDoneEvent } from "../loop/engineLoop.js";
import type { EngineLoopOptions } from "../loop/singleEngineLoop.js";
import { createSlotLoop, slotCapacity, slotTokenBudget } from "./slots.js";
import { StageSplit } from "./stageSplit.js";

/** PipelineLoop's settings: an engine's settings with ppSize > 1 (and optionally attention-DP ranks). */
export interface PipelineLoopOptions extends EngineLoopOptions {
  /**
   * Let a slot skip its scheduler through a decode run (default false; the results are the same). While a slot's
   * run lasts, load() reports the slot's KV blocks as of the run's start: a caller that routes on load() (a
   * cluster) leaves this off.
   */
  decodeRuns?: boolean;
}

/** A slot's decode run is cut into pieces of at most this many micro-batches. */
const MAX_RUN = 4096;

/** A slot's decode run in progress: its batch (KV lengths + 1 per micro-batch) and each micro-batch's start and time. */
interface SlotRun {
  batch: SimBatch;
  length: number;
  step: number;
  readonly startMs: Float64Array;
  readonly iterMs: Float64Array;
}

/**
 * One pipeline-parallel engine instance behind the EngineLoop interface, on a clock the caller owns: TensorRT-LLM's
 * `_executor_loop_pp` (tensorrt_llm/_torch/pyexecutor/py_executor.py) as the first PP rank runs it.
 *
 * The loop cycles over pp micro-batch slots. Loop iteration k fetches the requests that have arrived, schedules
 * micro-batch k (slot k mod pp) from the requests no micro-batch in flight holds, launches it on stage 0, and then
 * waits for micro-batch k − pp + 1's sampled tokens to come back from the last stage before it starts iteration
 * k + 1: so iteration k starts at H_k = max(H_{k−1}, F_{k−pp}), where F_j is the end of micro-batch j on the last
 * stage, pp micro-batches are in flight and a micro-batch's requests are schedulable again in the next micro-batch
 * of their slot. A stage works on one micro-batch at a time: micro-batch k enters stage s when it has left stage
 * s − 1 and micro-batch k − 1 has left stage s. The predictor prices a micro-batch over the whole model (every
 * stage's layers and the hand-offs) and the stages take their shares of it (stageSplit.ts); bubbles come from micro-batches of
 * different sizes, slots with nothing to run and arrivals that find the pipeline empty. An empty slot is passed
 * over (TensorRT-LLM's `_can_queue` is false: the slot holds no micro-batch).
 *
 * Each slot is an EngineLoop (slots.ts) with max_batch_size requests and 1/pp of the KV pool (the pool of one GPU
 * holds its stage's layers for every micro-batch); with attention DP a slot is an AttentionDpLoop whose ranks each
 * schedule their own micro-batch. Requests that have arrived join the slot scheduled next while it has room (its
 * max_batch_size, per rank with attention DP), in arrival order; once in a slot a request stays there, as it does
 * in TensorRT-LLM, where a micro-batch's requests are free again exactly when the next micro-batch of the same slot
 * is scheduled. The one difference: a request that the slot's token budget or KV pool cannot take now waits for
 * that slot's next turn rather than for the next micro-batch.
 */
export class PipelineLoop extends CompositeLoop {
  private readonly slots: DecodeRunLoop[] = [];
  private readonly decodeRuns: boolean;
  private readonly split: StageSplit;
  private readonly stageMs: Float64Array;
  /** Per slot: its decode run in progress (length 0: none). */
  private readonly runs: SlotRun[] = [];
  private readonly capacity: number;
  /** Tokens a slot's micro-batch may hold: max_num_tokens per attention-DP rank. */
  private readonly tokenBudget: number;
  /** Tokens a generation request puts in a micro-batch (1 + its draft tokens). */
  private readonly genTokens: number;
  /** A context may be cut to the budget left (chunked context). */
  private readonly chunked: boolean;
  /** Per slot: prompt tokens of its requests without a first token yet, and its requests decoding. */
  private readonly slotContextTokens: Float64Array;
  private readonly slotGenerating: Int32Array;
  /** Per pipeline handle: whether it is decoding. */
  private readonly generating: boolean[] = [];
  private readonly stages: number;
  /** End of the last micro-batch of each slot on the last stage (its tokens are back). */
  private readonly slotEnd: Float64Array;
  /** When each stage finishes the micro-batch it works on. */
  private readonly stageFree: Float64Array;
  /** Slot of the next micro-batch. */
  private nextSlot = 0;
  /** Start of the last loop iteration that scheduled a micro-batch (H). */
  private host = 0;
  private scheduledSlot = -1;
  private scheduledAt = 0;
  private iter = 0;
  private readonly events: LoopEvents = { startMs: 0, endMs: 0, firstTokens: [], done: [], iteration: null };

  constructor(options: PipelineLoopOptions) {
    super(options.tokensPerBlock);
    const pp = options.ppSize;
    if (!Number.isInteger(pp) || pp < 2 || pp > 4096) {
      throw new InvalidArgumentError("options.ppSize", `a pipeline-parallel loop needs an integer in [2, 4096] (got ${String(pp)})`);
    }
    this.stages = pp;
    const { decodeRuns: _d, ...slotOptions } = options;
    for (let p = 0; p < pp; p++) {
      const slot = createSlotLoop(slotOptions);
      this.slots.push(slot);
      this.addInner(slot);
    }
    this.decodeRuns = options.decodeRuns === true && options.iterationStats !== true;
    this.split = new StageSplit(pp);
    this.stageMs = new Float64Array(pp);
    this.capacity = slotCapacity(options);
    this.tokenBudget = slotTokenBudget(options);
    this.genTokens = 1 + (options.speculative?.maxDraftLen ?? 0);
    this.chunked = options.chunking !== null;
    this.slotContextTokens = new Float64Array(pp);
    this.slotGenerating = new Int32Array(pp);
    this.slotEnd = new Float64Array(pp);
    this.stageFree = new Float64Array(pp);
  }

  /** Slot p can schedule a micro-batch at h: it holds requests, or arrived ones can join it. */
  private hasWork(p: number, h: number): boolean {
    if (this.slots[p]!.nextEventTime() <= h) return true;
    return this.nextPendingMs() <= h;
  }

  /** Tokens of the arrived request `id` in its first micro-batch. */
  private firstTokens(id: number): number {
    return this.kvReady[id] ? this.genTokens : this.requests[id]!.inputLength;
  }

  /**
   * Walks the loop iterations from the next slot as the first PP rank runs them: iteration j starts once the
   * tokens of its slot's previous micro-batch are back, and is empty when its slot has nothing to run at that
   * time. Returns the first slot with work and its start, or its slot as -1 with the time the walk reached: -2
   * when a slot's tokens are not back by `limit`, -1 after a whole cycle of empty slots (every slot idle: the loop
   * then waits at the next slot for the next arrival).
   */
  private walk(limit: number): { slot: number; at: number } {
    let h = this.host;
    const pp = this.stages;
    for (let j = 0; j < pp; j++) {
      const p = (this.nextSlot + j) % pp;
      h = Math.max(h, this.slotEnd[p]!);
      if (h > limit) return { slot: -2, at: h };
      if (this.hasWork(p, h)) return { slot: p, at: h };
    }
    return { slot: -1, at: h };
  }

  /**
   * The start of the next loop iteration that schedules a micro-batch: the slots in turn from the next one, each
   * once the tokens of its previous micro-batch are back; when none has work, the next arrival.
   */
  nextEventTime(): number {
    const w = this.walk(Number.POSITIVE_INFINITY);
    if (w.slot >= 0) return w.at;
    const next = this.nextPendingMs();
    return next === Number.POSITIVE_INFINITY ? next : Math.max(w.at, next);
  }

  schedule(tMs: number): SimBatch | null {
    if (this.scheduledSlot >= 0) throw new Error("schedule() called again before commit() of the scheduled iteration");
    if (!(tMs >= this.host)) throw new Error(`schedule(${String(tMs)}): the iteration cannot start before the loop's last one (${this.host} ms)`);
    const pp = this.stages;
    for (let attempt = 0; attempt <= pp; attempt++) {
      const w = this.walk(tMs);
      if (w.slot === -2) return null;
      let p = w.slot;
      if (p === -1) {
        // Every slot idle: the loop waited at the next slot until tMs.
        this.host = w.at;
        p = this.nextSlot;
        if (!this.hasWork(p, tMs)) return null;
      }
      const run = this.runs[p];
      if (run !== undefined && run.length > 0) {
        // A request that has arrived may join this slot: back to its scheduler.
        if (this.nextPendingMs() <= tMs) this.endRun(p);
        else return this.runStep(p, run, tMs);
      }
      this.admit(p, tMs);
      const slot = this.slots[p]!;
      const b = slot.nextEventTime() <= tMs ? slot.schedule(tMs) : null;
      this.absorb(p, slot.takeEnded(), this.ended);
      this.nextSlot = (p + 1) % pp;
      this.host = Math.max(this.host, w.at);
      if (b === null) continue;
      if (this.decodeRuns && b.numContext === 0) this.startRun(p, b, slot.decodeRunLength(MAX_RUN));
      this.host = tMs;
      this.scheduledSlot = p;
      this.scheduledAt = tMs;
      return b;
    }
    return null;
  }

  /** Prices the scheduled micro-batch with its stage times when the predictor has them (stageSplit.ts). */
  price(predictor: BatchPredictor, batch: SimBatch): number | Promise<number> {
    return this.split.price(predictor, batch);
  }

  commit(deviceMs: number): LoopEvents {
    const p = this.scheduledSlot;
    if (p < 0) throw new Error("commit() called without an iteration from schedule()");
    this.scheduledSlot = -1;
    const stageMs = this.stageMs;
    this.split.split(deviceMs, stageMs);
    let t = this.scheduledAt;
    for (let s = 0; s < this.stages; s++) {
      t = Math.max(t, this.stageFree[s]!) + stageMs[s]!;
      this.stageFree[s] = t;
    }
    const run = this.runs[p];
    if (run !== undefined && run.length > 0) return this.commitRunStep(p, run, t);
    const e = this.slots[p]!.commit(t - this.scheduledAt);
    this.slotEnd[p] = e.endMs;
    const local = this.handleOf[p]!;
    const firstTokens: FirstTokenEvent[] = [];
    for (const f of e.firstTokens) {
      const id = local[f.handle]!;
      this.decoding(p, id);
      firstTokens.push({ handle: id, timeMs: f.timeMs });
    }
    const done = this.ended;
    this.ended = [];
    this.absorb(p, e.done, done);
    const ev = this.events;
    ev.startMs = this.scheduledAt;
    ev.endMs = e.endMs;
    ev.firstTokens = firstTokens;
    ev.done = done;
    ev.iteration = e.iteration ? renumber(e.iteration, this.iter) : null;
    this.iter++;
    return ev;
  }

  /** Slot p's batch `b`, just scheduled, starts a decode run of `length` micro-batches (nothing when length is 1). */
  private startRun(p: number, b: SimBatch, length: number): void {
    if (length <= 1) return;
    let run = this.runs[p];
    if (run === undefined) {
      run = { batch: b, length: 0, step: 0, startMs: new Float64Array(MAX_RUN), iterMs: new Float64Array(MAX_RUN) };
      this.runs[p] = run;
    }
    run.batch = b;
    run.length = length;
    run.step = 0;
  }

  /**
   * The next micro-batch of slot p's decode run, at tMs: what the slot's scheduler would build (no request has
   * arrived to join it, none of its requests ends before the run's last micro-batch): the same requests, every
   * KV length + 1.
   */
  private runStep(p: number, run: SlotRun, tMs: number): SimBatch {
    const b = run.batch;
    const past = b.pastKvLength as Int32Array;
    const n = b.numGeneration;
    for (let i = 0; i < n; i++) past[i]!++;
    this.nextSlot = (p + 1) % this.stages;
    this.host = tMs;
    this.scheduledSlot = p;
    this.scheduledAt = tMs;
    return b;
  }

  /** Records the micro-batch of slot p's run that ends at t; the run's last one commits the run to the slot. */
  private commitRunStep(p: number, run: SlotRun, t: number): LoopEvents {
    const start = this.scheduledAt;
    const i = run.step;
    run.startMs[i] = start;
    const dt = t - start;
    run.iterMs[i] = dt;
    run.step = i + 1;
    const done = this.ended;
    this.ended = [];
    if (run.step === run.length) {
      this.slotEnd[p] = this.endRun(p, done);
    } else {
      // As the slot's clock computes the end (start + time).
      this.slotEnd[p] = start + dt;
    }
    const ev = this.events;
    ev.startMs = start;
    ev.endMs = this.slotEnd[p]!;
    ev.firstTokens = [];
    ev.done = done;
    ev.iteration = null;
    this.iter++;
    return ev;
  }

  /** Commits the micro-batches of slot p's run done so far to the slot; returns their end. */
  private endRun(p: number, into: RequestDoneEvent[] = this.ended): number {
    const run = this.runs[p]!;
    const e = this.slots[p]!.commitRun(run.startMs, run.iterMs, run.step);
    run.length = 0;
    this.absorb(p, e.done, into);
    return e.endMs;
  }

  /**
   * Hands the requests that have arrived by h to slot p, in arrival order, while its micro-batch can take them:
   * fewer than max_batch_size requests and a token budget its own requests (decoding ones, and prompts without a
   * first token) leave room for (any room with chunked context). A request the micro-batch cannot take waits for
   * the next micro-batch, as an activated request TensorRT-LLM's micro-batch scheduler leaves out does. A slot with
   * nothing of its own takes the next request whatever its size (the engine then schedules or fails it).
   */
  private admit(p: number, h: number): void {
    const slot = this.slots[p]!;
    const l = slot.load();
    let count = l.active + l.queued;
    let need = this.slotGenerating[p]! * this.genTokens + this.slotContextTokens[p]!;
    const pending = this.pending;
    while (count < this.capacity && this.pendingHead < pending.length) {
      const id = pending[this.pendingHead]!;
      if (this.submitMs[id]! > h) break;
      const tokens = this.firstTokens(id);
      if (count > 0 && (this.chunked ? need >= this.tokenBudget : need + tokens > this.tokenBudget)) break;
      this.handOver(p, id, h);
      if (this.kvReady[id]) {
        this.generating[id] = true;
        this.slotGenerating[p]!++;
      } else {
        this.slotContextTokens[p]! += tokens;
      }
      this.pendingHead++;
      count++;
      need += tokens;
    }
    this.compactPending();
  }

  /** Request `id` (in slot p) has its first token: it decodes from now on. */
  private decoding(p: number, id: number): void {
    if (this.generating[id]) return;
    this.generating[id] = true;
    this.slotContextTokens[p]! -= this.requests[id]!.inputLength;
    this.slotGenerating[p]!++;
  }

  /** Maps slot p's ended requests to pipeline handles and submit times. */
  protected absorb(p: number, events: readonly RequestDoneEvent[], into: RequestDoneEvent[]): void {
    if (events.length === 0) return;
    const local = this.handleOf[p]!;
    for (const e of events) {
      const h = local[e.handle]!;
      if (this.generating[h]) this.slotGenerating[p]!--;
      else this.slotContextTokens[p]! -= this.requests[h]!.inputLength;
      into.push({ ...e, handle: h, submitMs: this.submitMs[h]! });
    }
  }
}

const renumber = (r: IterationStats, iter: number): IterationStats => ({ ...r, iter });

/** A pipeline-parallel EngineLoop for `options` (ppSize ≥ 2; validated: InvalidArgumentError naming the field). */
export function createPipelineLoop(options: PipelineLoopOptions): PipelineLoop {
  return new PipelineLoop(options);
}
