import type { IterationStats, SimBatch } from "@servesim/core";
import { InvalidArgumentError } from "@servesim/core";
import { CompositeLoop } from "../loop/compositeLoop.js";
import type { FirstTokenEvent, LoopEvents, RequestDoneEvent } from "../loop/engineLoop.js";
import { createEngineLoop, type EngineLoopOptions, type SingleEngineLoop } from "../loop/singleEngineLoop.js";
import { mergeIterationStats } from "../partitioned/partition.js";
import { AdpBalance, balanceRanksAt } from "./balance.js";
import { type RankLoad, routeToRanks } from "./router.js";

/** Every rank's batch of one iteration, context entries first, tagged with their rank. */
export class RankedBatch implements SimBatch {
  numContext = 0;
  numGeneration = 0;
  numContextTokens = 0;
  inputLength: Int32Array;
  pastKvLength: Int32Array;
  attentionDpRank: Int32Array;
  draftTokens?: Int32Array;
  constructor(capacity: number, drafts: number) {
    this.inputLength = new Int32Array(capacity);
    this.pastKvLength = new Int32Array(capacity);
    this.attentionDpRank = new Int32Array(capacity);
    if (drafts > 0) this.draftTokens = new Int32Array(capacity).fill(drafts);
  }

  /**
   * Fills the batch from the ranks' batches (null: the rank runs nothing), context entries of every rank
   * first, then the generation entries. Returns the number of entries.
   */
  fill(scheduled: ReadonlyArray<SimBatch | null>): number {
    let n = 0;
    let nc = 0;
    let ctxTokens = 0;
    for (let k = 0; k < scheduled.length; k++) {
      const s = scheduled[k];
      if (!s) continue;
      for (let i = 0; i < s.numContext; i++) {
        this.inputLength[n] = s.inputLength[i]!;
        this.pastKvLength[n] = s.pastKvLength[i]!;
        this.attentionDpRank[n++] = k;
        ctxTokens += s.inputLength[i]!;
      }
      nc += s.numContext;
    }
    for (let k = 0; k < scheduled.length; k++) {
      const s = scheduled[k];
      if (!s) continue;
      for (let i = s.numContext; i < s.numContext + s.numGeneration; i++) {
        this.inputLength[n] = 1;
        this.pastKvLength[n] = s.pastKvLength[i]!;
        this.attentionDpRank[n++] = k;
      }
    }
    this.numContext = nc;
    this.numGeneration = n - nc;
    this.numContextTokens = ctxTokens;
    return n;
  }
}

/**
 * One attention-DP engine instance behind the EngineLoop interface, for a caller that owns the clock (a
 * cluster). It holds one SingleEngineLoop per rank. A submitted request waits at the instance until the
 * first iteration that starts at or after its submit time; then the requests that have arrived are spread
 * over the ranks by TensorRT-LLM's attention-DP router with the ranks' live loads, as the executor does
 * when it fetches new requests (executor_request_queue.py → request_utils.py). Every rank schedules its
 * batch at the same start; the instance's batch holds every rank's entries tagged with their rank, so a
 * predictor prices the slowest rank and the MoE communication once; every rank commits that same time
 * (the ranks wait for each other at every MoE layer). A rank without work runs no batch of its own.
 */
export class AttentionDpLoop extends CompositeLoop {
  private readonly ranks: SingleEngineLoop[] = [];
  private readonly loads: RankLoad[] = [];
  private readonly batch: RankedBatch;
  private readonly iterationStats: boolean;
  /** Attention-DP context balancing (null: off). */
  private readonly balance: AdpBalance | null;
  private scheduled: Array<SimBatch | null> = [];
  private scheduledAt = 0;
  private isPending = false;
  /** End of the last committed iteration: the ranks start their next one together, not before it. */
  private clock = 0;
  private iter = 0;
  private readonly events: LoopEvents = { startMs: 0, endMs: 0, firstTokens: [], done: [], iteration: null };

  constructor(options: EngineLoopOptions & { attentionDpRanks: number }) {
    const ranks = options.attentionDpRanks;
    if (!Number.isInteger(ranks) || ranks < 1 || ranks > 1024) {
      throw new InvalidArgumentError("options.attentionDpRanks", `must be an integer in [1, 1024] (got ${String(ranks)})`);
    }
    super(options.tokensPerBlock);
    const { attentionDpRanks: _r, attentionDpBalance, ...settings } = options;
    this.balance = attentionDpBalance ? new AdpBalance(attentionDpBalance, options.maxBatchSize) : null;
    for (let k = 0; k < ranks; k++) {
      const rank = createEngineLoop(settings);
      this.ranks.push(rank);
      this.addInner(rank);
      this.loads.push({ requests: 0, tokens: 0 });
    }
    this.iterationStats = options.iterationStats === true;
    this.batch = new RankedBatch(ranks * options.maxBatchSize, options.speculative?.maxDraftLen ?? 0);
    this.scheduled = this.ranks.map(() => null);
  }

  /** Number of attention-DP ranks. */
  get numRanks(): number {
    return this.ranks.length;
  }

  nextEventTime(): number {
    let t = this.nextPendingMs();
    for (const r of this.ranks) t = Math.min(t, r.nextEventTime());
    return t === Number.POSITIVE_INFINITY ? t : Math.max(t, this.clock);
  }

  schedule(tMs: number): SimBatch | null {
    if (this.isPending) throw new Error("schedule() called again before commit() of the scheduled iteration");
    if (!(tMs >= this.clock)) throw new Error(`schedule(${String(tMs)}): the iteration cannot start before the loop's clock (${this.clock} ms)`);
    this.route(tMs);
    if (this.balance) balanceRanksAt(this.ranks, tMs, this.balance);
    const ranks = this.ranks;
    let any = false;
    for (let k = 0; k < ranks.length; k++) {
      const r = ranks[k]!;
      const s = r.nextEventTime() <= tMs ? r.schedule(tMs) : null;
      this.scheduled[k] = s;
      if (s) any = true;
      this.absorb(k, r.takeEnded(), this.ended);
    }
    if (!any) return null;
    const n = this.batch.fill(this.scheduled);
    if (n === 0) throw new Error("attention DP: a rank scheduled an empty batch");
    this.scheduledAt = tMs;
    this.isPending = true;
    return this.batch;
  }

  commit(deviceMs: number): LoopEvents {
    if (!this.isPending) throw new Error("commit() called without an iteration from schedule()");
    this.isPending = false;
    const ev = this.events;
    const firstTokens: FirstTokenEvent[] = [];
    const done: RequestDoneEvent[] = this.ended;
    this.ended = [];
    const recs: IterationStats[] = [];
    let end = this.scheduledAt;
    for (let k = 0; k < this.ranks.length; k++) {
      if (!this.scheduled[k]) continue;
      const e = this.ranks[k]!.commit(deviceMs);
      end = Math.max(end, e.endMs);
      const local = this.handleOf[k]!;
      for (const f of e.firstTokens) firstTokens.push({ handle: local[f.handle]!, timeMs: f.timeMs });
      this.absorb(k, e.done, done);
      if (e.iteration) recs.push(e.iteration);
      this.scheduled[k] = null;
    }
    this.clock = end;
    ev.startMs = this.scheduledAt;
    ev.endMs = end;
    ev.firstTokens = firstTokens;
    ev.done = done;
    ev.iteration = this.iterationStats && recs.length > 0 ? mergeIterationStats(recs, this.iter) : null;
    this.iter++;
    return ev;
  }

  /**
   * After schedule(): the iterations, this one included, in which every rank that scheduled runs a decode run
   * (SingleEngineLoop.decodeRunLength, the shortest rank's) if nothing is submitted meanwhile; 1 with context
   * balancing or iteration records on. At most `maxSteps`.
   */
  decodeRunLength(maxSteps: number): number {
    if (!this.isPending) throw new Error("decodeRunLength() needs an iteration from schedule()");
    if (this.balance !== null || this.iterationStats) return 1;
    let k = maxSteps;
    for (let r = 0; r < this.ranks.length && k > 1; r++) if (this.scheduled[r]) k = this.ranks[r]!.decodeRunLength(k);
    return Math.max(1, k);
  }

  /**
   * commit() for the first `steps` iterations of the decode run that starts with the scheduled iteration
   * (SingleEngineLoop.commitRun on every rank that scheduled). Returns the last iteration's events.
   */
  commitRun(startMs: ArrayLike<number>, iterMs: ArrayLike<number>, steps: number): LoopEvents {
    if (!this.isPending) throw new Error("commitRun() called without an iteration from schedule()");
    this.isPending = false;
    const done: RequestDoneEvent[] = this.ended;
    this.ended = [];
    let end = this.scheduledAt;
    for (let k = 0; k < this.ranks.length; k++) {
      if (!this.scheduled[k]) continue;
      const e = this.ranks[k]!.commitRun(startMs, iterMs, steps);
      end = Math.max(end, e.endMs);
      this.absorb(k, e.done, done);
      this.scheduled[k] = null;
    }
    this.clock = end;
    const ev = this.events;
    ev.startMs = startMs[steps - 1]!;
    ev.endMs = end;
    ev.firstTokens = [];
    ev.done = done;
    ev.iteration = null;
    this.iter += steps;
    return ev;
  }

  /** Routes the requests submitted by `tMs` to the ranks (handed over at `tMs`, the fetch). */
  private route(tMs: number): void {
    const p = this.pending;
    let end = this.pendingHead;
    while (end < p.length && this.submitMs[p[end]!]! <= tMs) end++;
    if (end === this.pendingHead) return;
    const lengths = new Int32Array(end - this.pendingHead);
    for (let i = this.pendingHead; i < end; i++) lengths[i - this.pendingHead] = this.requests[p[i]!]!.inputLength;
    const to = routeToRanks(lengths, this.loads);
    for (let i = this.pendingHead; i < end; i++) this.handOver(to[i - this.pendingHead]!, p[i]!, tMs);
    this.pendingHead = end;
    this.compactPending();
  }

  /** Maps rank k's ended requests to instance handles and submit times, and frees their load. */
  protected absorb(k: number, events: readonly RequestDoneEvent[], into: RequestDoneEvent[]): void {
    if (events.length === 0) return;
    const local = this.handleOf[k]!;
    const load = this.loads[k]!;
    for (const e of events) {
      const h = local[e.handle]!;
      load.requests -= 1;
      load.tokens -= this.requests[h]!.inputLength;
      into.push({ ...e, handle: h, submitMs: this.submitMs[h]! });
    }
  }
}

/** An attention-DP EngineLoop with `options.attentionDpRanks` ranks (validated: InvalidArgumentError naming the field). */
export function createAttentionDpLoop(options: EngineLoopOptions & { attentionDpRanks: number }): AttentionDpLoop {
  return new AttentionDpLoop(options);
}
