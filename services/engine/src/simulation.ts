import type { SimBatch } from "@servesim/core";
import { FailedPreconditionError } from "@servesim/core";
import { type ArrivalPlan, planArrivals } from "./arrivals.js";
import { CapacityScheduler } from "./capacityScheduler.js";
import { DecodeRunPlanner } from "./decodeRun.js";
import { CHUNK_NONE, ceilDiv, type EngineConfig, POLICY_MAX_UTILIZATION, toEngineConfig } from "./engineConfig.js";
import { KvCacheManager } from "./kvCacheManager.js";
import { MicroBatchScheduler } from "./microBatchScheduler.js";
import { untrackUnsharedPrefixes } from "./prefixSharing.js";
import { RequestTable, ST_COMPLETE, ST_CONTEXT, ST_FAILED, ST_GENERATION, ST_QUEUED, ST_TO_COMPLETE } from "./requestTable.js";
import type { EngineOptions, IterationStats, RequestRecord, SimRequest, SimulationProgress, SimulationResult } from "./types.js";
import { validateOptions, validateRequests } from "./validation.js";

const PHASE_WARMUP = 0;
const PHASE_MEASURED = 1;
const PHASE_DONE = 2;

const NO_TIMES = new Float64Array(0);

/** `iter` < 0: a warm-up iteration whose time arrived after the measured run started. */
const badTime = (dtMs: unknown, iter: number): FailedPreconditionError =>
  new FailedPreconditionError(
    `the predictor returned ${String(dtMs)} ms for ${iter >= 0 ? `iteration ${iter}` : "a warm-up iteration"}; a batch time must be finite and > 0`,
  );

/** The engine's reusable batch: typed arrays sized max_batch_size, overwritten every iteration. */
class EngineBatch implements SimBatch {
  numContext = 0;
  numGeneration = 0;
  numContextTokens = 0;
  readonly inputLength: Int32Array;
  readonly pastKvLength: Int32Array;
  constructor(capacity: number) {
    this.inputLength = new Int32Array(capacity);
    this.pastKvLength = new Int32Array(capacity);
  }
}

export interface SimulationInit {
  /** Requests simulated first from an empty engine (all at t = 0); then clock and stats reset, prefix cache kept. */
  warmup?: readonly SimRequest[];
  /** Called after every measured iteration (only then are iteration records built). */
  onIteration?: (s: IterationStats) => void;
  /**
   * Key every prompt block, also those no other request can match (see untrackUnsharedPrefixes). The
   * results are the same either way; tests use it to check that.
   */
  trackEveryPrefix?: boolean;
}

/**
 * TensorRT-LLM's PyExecutor non-overlap loop on a simulated clock (trtllm-scheduling.md §4). Drive it with
 * nextBatch() → price the batch → commit(ms), or use runSimulation / runSimulationSync.
 *
 * With `overlap` it is the overlap scheduler's loop instead (§10, `_executor_loop_overlap`): batch i is
 * scheduled while batch i-1 is still on the GPU, i.e. at batch i-1's start. commit() of batch i launches
 * it (chunk progress, token counts, GENERATION_TO_COMPLETE for requests its token finishes) and only then
 * processes batch i-1 (`_process_previous_batch`): its finished requests leave active_requests and free
 * their KV, its completed prompts are stored for reuse, and under a concurrency limit the next requests
 * are submitted at batch i-1's end. Tokens are still stamped with the end of the batch that computed them.
 * When nothing can be scheduled, the batch in flight is processed at its end (a drain) and the loop goes on.
 *
 * Two fast paths give the same results as that plain loop:
 * - decode runs: after a decode-only batch, decodeRunLength() tells how many iterations (this one
 *   included) keep the same requests with every KV length + 1 per iteration; commitDecodeRun() commits
 *   them at once with one time per iteration;
 * - deferred times: when the batch sequence does not depend on the clock (timesNeeded is false: all
 *   requests at t = 0, or a concurrency limit, and warm-up), commitDeferred() / commitDecodeRunDeferred()
 *   commit without the time and supplyTimes() fills the times in later, in order. A remote predictor can
 *   then have many batches in flight. Every time stamp is kept as an iteration index until then.
 */
export class Simulation {
  private readonly cfg: EngineConfig;
  private readonly table: RequestTable;
  private readonly kv: KvCacheManager;
  private readonly capacity: CapacityScheduler;
  private readonly micro: MicroBatchScheduler;
  private readonly numMeasured: number;
  private readonly plan: ArrivalPlan;
  private readonly onIteration: ((s: IterationStats) => void) | undefined;
  private readonly batch: EngineBatch;
  private readonly planner: DecodeRunPlanner;
  /** Measured arrivals do not depend on the clock (all at once, or a concurrency limit). */
  private readonly clockFreeArrivals: boolean;

  private phase: number;
  private clock = 0;
  /** Global request indices of the current phase, in submission order. */
  private order: Int32Array;
  private submitted = 0;
  private released = 0;
  private concurrency = 0;
  private readonly queue: Int32Array;
  private qHead = 0;
  private qTail = 0;
  private readonly active: Int32Array;
  private activeCount = 0;
  private pending = false;
  private iterEnd = new Float64Array(1024);
  /** Iterations of this phase whose end time is known (the clock is iterEnd[timed - 1]). */
  private timed = 0;
  /** Deferred warm-up times still to come: checked, then dropped (the measured run restarts the clock). */
  private discardTimes = 0;
  /** Iteration records waiting for their iteration's time. */
  private readonly waitingRecords: IterationStats[] = [];
  private waitingHead = 0;
  private evictionsAtSchedule = 0;
  /** decodeRunLength() of the pending batch (0: not computed yet). */
  private runLength = 0;
  /** Overlap scheduler (§10). */
  private readonly overlap: boolean;
  /** Overlap: the launched batch not yet processed (-1: none). */
  private inflightIter = -1;
  /** Overlap: start of the last timed iteration (the batch in flight, when its time is known). */
  private lastStartMs = 0;
  /** Overlap: GENERATION_TO_COMPLETE requests, freed when the batch in flight is processed. */
  private finishing = 0;
  /** Overlap: requests whose prompt completed in the batch in flight; their blocks are stored when it is processed. */
  private readonly pendingStore: Int32Array;
  private pendingStoreCount = 0;

  private iterations = 0;
  private prefillIterations = 0;
  private decodeIterations = 0;
  private mixedIterations = 0;
  private numPaused = 0;
  private finished = 0;
  private failed = 0;
  private newActiveSinceRecord = 0;
  private pausedSinceRecord = 0;
  private activeAtFetch = 0;
  private queuedAtFetch = 0;
  private cachedResult: SimulationResult | undefined;

  constructor(options: EngineOptions, requests: readonly SimRequest[], init?: SimulationInit) {
    validateRequests(requests, "requests", options.tokensPerBlock);
    const warmup = init?.warmup ?? [];
    validateRequests(warmup, "warmup", options.tokensPerBlock);
    validateOptions(options, requests.length);
    this.cfg = toEngineConfig(options);
    this.numMeasured = requests.length;
    const all = warmup.length === 0 ? requests : [...requests, ...warmup];
    this.table = new RequestTable(all, this.cfg.reuse);
    // No pauses: only requests sharing a first block with another can ever hit the prefix cache.
    if (this.cfg.reuse && this.cfg.policy !== POLICY_MAX_UTILIZATION && init?.trackEveryPrefix !== true) {
      untrackUnsharedPrefixes(this.table, this.cfg.tokensPerBlock);
    }
    this.kv = new KvCacheManager(this.table, this.cfg.numBlocks, this.cfg.tokensPerBlock, this.cfg.reuse);
    this.capacity = new CapacityScheduler(this.cfg, this.table, this.kv);
    this.micro = new MicroBatchScheduler(this.cfg, this.table);
    this.batch = new EngineBatch(this.cfg.maxBatchSize);
    this.planner = new DecodeRunPlanner(this.cfg, this.table, this.kv);
    this.clockFreeArrivals = options.arrivals.kind === "all_at_once" || options.arrivals.kind === "concurrency";
    this.overlap = this.cfg.overlap;
    this.pendingStore = new Int32Array(this.overlap && this.kv.hasTracked ? this.cfg.maxBatchSize : 0);
    this.active = new Int32Array(this.cfg.maxNumActive);
    this.queue = new Int32Array(Math.max(requests.length, warmup.length));
    this.onIteration = init?.onIteration;
    this.plan = planArrivals(options.arrivals, requests.length);
    if (warmup.length > 0) {
      this.phase = PHASE_WARMUP;
      this.order = new Int32Array(warmup.length);
      for (let i = 0; i < warmup.length; i++) this.order[i] = requests.length + i;
      this.submitted = warmup.length;
    } else {
      this.phase = PHASE_MEASURED;
      this.order = this.plan.order;
      this.startMeasured();
    }
  }

  get progress(): SimulationProgress {
    const warm = this.phase === PHASE_WARMUP;
    return {
      iterations: warm ? 0 : this.timed,
      requestsFinished: warm ? 0 : this.finished + this.failed,
      requestsTotal: this.numMeasured,
      simTimeMs: warm ? 0 : this.clock,
      warmingUp: warm,
    };
  }

  /**
   * True when the next nextBatch() needs the time of every committed iteration (arrivals in time, in the
   * measured run). When false, iterations may be committed with deferred times.
   */
  get timesNeeded(): boolean {
    return this.phase === PHASE_MEASURED && !this.clockFreeArrivals;
  }

  /** Committed iterations whose time has not been supplied yet (deferred warm-up ones included). */
  get pendingTimes(): number {
    return this.discardTimes + this.iterations - this.timed;
  }

  /**
   * Steps 1-5 of the next iteration: fetch, schedule, pause, allocate KV. Returns the batch to price, or
   * null when every request has finished or failed. The batch's arrays are reused by the next call.
   */
  nextBatch(): SimBatch | null {
    if (this.pending) throw new Error("nextBatch() called again before commit() of the previous batch");
    if (this.phase === PHASE_DONE) return null;
    if (this.timesNeeded && this.timed !== this.iterations) {
      throw new Error("nextBatch() needs the times of all committed iterations: arrivals depend on the clock");
    }
    for (;;) {
      this.releaseArrivals();
      this.activate();
      if (this.activeCount === 0) {
        if (this.inflightIter >= 0) {
          // Overlap: every request of the batch in flight has failed since; process it before going idle.
          this.processInflight();
          continue;
        }
        const next = this.nextSubmitTime();
        if (next === Infinity) {
          if (this.phase === PHASE_WARMUP) {
            this.startMeasured();
            continue;
          }
          this.phase = PHASE_DONE;
          return null;
        }
        this.clock = next;
        continue;
      }
      this.activeAtFetch = this.activeCount;
      this.queuedAtFetch = this.qTail - this.qHead;
      const cap = this.capacity;
      cap.schedule(this.active, this.activeCount);
      this.micro.schedule(cap.fitting, cap.fittingCount);
      if (cap.pausedCount > 0) {
        let anyFailed = false;
        for (let i = 0; i < cap.pausedCount; i++) anyFailed = this.pause(cap.paused[i]!) || anyFailed;
        if (anyFailed) this.dropEndedFromActive();
      }
      if (this.micro.contextCount + this.micro.generationCount === 0) {
        // A pause-only pass has no forward: no clock advance, no iteration record (§13.4). With a batch in
        // flight (overlap) the host waits for it and processes it: a drain, not a stall.
        if (this.inflightIter >= 0) this.processInflight();
        else if (cap.pausedCount === 0) this.breakDeadlock();
        continue;
      }
      this.evictionsAtSchedule = this.kv.pool.evictions;
      this.prepareResources();
      this.pending = true;
      this.runLength = 0;
      return this.batch;
    }
  }

  /**
   * After nextBatch(): the number of iterations, this one included, that form a decode run (the same
   * generation requests, every past KV length + 1 per iteration) if no request arrives meanwhile. 1 when
   * the batch has context requests or the next iteration may differ. At most `maxSteps`.
   */
  decodeRunLength(maxSteps = 0x7fffffff): number {
    if (!this.pending) throw new Error("decodeRunLength() needs a batch from nextBatch()");
    if (this.runLength === 0) {
      const micro = this.micro;
      this.runLength =
        micro.contextCount > 0 ||
        micro.generationCount === 0 ||
        this.capacity.pausedCount > 0 ||
        // Overlap: processing the batch in flight (frees, stores, submissions) may change the next schedule.
        this.finishing > 0 ||
        this.pendingStoreCount > 0
          ? 1
          : this.planner.length(
              this.active,
              this.activeCount,
              this.capacity.fittingCount,
              micro.generation,
              micro.generationCount,
              this.kv.pool.evictions !== this.evictionsAtSchedule,
              0x7fffffff,
            );
    }
    return Math.max(1, Math.min(this.runLength, maxSteps));
  }

  /** Steps 6-9 for the batch returned by nextBatch(): advance the clock by `dtMs`, emit tokens, free. */
  commit(dtMs: number): void {
    if (!this.pending) throw new Error("commit() called without a batch from nextBatch()");
    if (this.pendingTimes > 0) throw new Error("commit() with deferred times pending; use commitDeferred() and supplyTimes()");
    if (typeof dtMs !== "number" || !Number.isFinite(dtMs) || dtMs <= 0) throw badTime(dtMs, this.iterations);
    this.commitSteps(1);
    this.supplyTime(dtMs);
  }

  /** commit() without the time (only while timesNeeded is false); supply it later with supplyTimes(). */
  commitDeferred(): void {
    if (!this.pending) throw new Error("commitDeferred() called without a batch from nextBatch()");
    if (this.timesNeeded) throw new Error("commitDeferred(): arrivals depend on the clock; commit with the time");
    this.commitSteps(1);
  }

  /**
   * Commits the first iterations of the decode run that starts with the pending batch, with `times[i]`
   * the time of iteration i, up to `steps` (≤ decodeRunLength()). With arrivals in time it stops after
   * the iteration at whose end the next request has arrived (overlap: at whose start, as the next batch is
   * scheduled then). Returns the iterations committed (≥ 1).
   */
  commitDecodeRun(times: ArrayLike<number>, steps: number): number {
    if (!this.pending) throw new Error("commitDecodeRun() called without a batch from nextBatch()");
    if (this.pendingTimes > 0) throw new Error("commitDecodeRun() with deferred times pending; use commitDecodeRunDeferred()");
    const k = this.checkedRunSteps(steps, times.length);
    let m = k;
    let clock = this.clock;
    const next = this.nextSubmitTime();
    const overlap = this.overlap;
    for (let i = 0; i < k; i++) {
      const dt = times[i]!;
      if (typeof dt !== "number" || !Number.isFinite(dt) || dt <= 0) throw badTime(dt, this.iterations + i);
      if (overlap && clock >= next) {
        m = i + 1;
        break;
      }
      clock += dt;
      if (!overlap && clock >= next) {
        m = i + 1;
        break;
      }
    }
    this.commitSteps(m);
    this.supplyTimes(times, 0, m);
    return m;
  }

  /** commitDecodeRun() without the times (only while timesNeeded is false): commits all `steps`. */
  commitDecodeRunDeferred(steps: number): void {
    if (!this.pending) throw new Error("commitDecodeRunDeferred() called without a batch from nextBatch()");
    if (this.timesNeeded) throw new Error("commitDecodeRunDeferred(): arrivals depend on the clock; use commitDecodeRun()");
    this.commitSteps(this.checkedRunSteps(steps, steps));
  }

  /**
   * Times of deferred iterations, oldest first: `count` values from `times[offset]`. Each must be
   * finite and > 0 (else FailedPreconditionError naming the value).
   */
  supplyTimes(times: ArrayLike<number>, offset: number, count: number): void {
    if (count > this.pendingTimes) throw new Error(`supplyTimes(): ${count} times for ${this.pendingTimes} pending iterations`);
    for (let i = 0; i < count; i++) {
      const dt = times[offset + i]!;
      if (typeof dt !== "number" || !Number.isFinite(dt) || dt <= 0) {
        throw badTime(dt, this.discardTimes > 0 ? -1 : this.timed);
      }
      if (this.discardTimes > 0) this.discardTimes--;
      else this.supplyTime(dt);
    }
  }

  /** The run's outcome; available once nextBatch() has returned null and every time is supplied. */
  result(): SimulationResult {
    if (this.phase !== PHASE_DONE) throw new Error("result() is only available after nextBatch() returned null");
    if (this.pendingTimes > 0) throw new Error(`result(): ${this.pendingTimes} iteration times are still pending`);
    if (this.cachedResult !== undefined) return this.cachedResult;
    const t = this.table;
    const iterEnd = this.iterEnd;
    const records: RequestRecord[] = new Array(this.numMeasured);
    for (let r = 0; r < this.numMeasured; r++) {
      const q = t.requests[r]!;
      const error = t.errors.get(r);
      if (error !== undefined) {
        records[r] = {
          taskId: q.taskId,
          inputLength: q.inputLength,
          outputLength: 0,
          startMs: 0,
          firstTokenMs: 0,
          endMs: 0,
          ttftMs: 0,
          tpotMs: 0,
          e2eMs: 0,
          tokenTimesMs: NO_TIMES,
          pausedCount: t.pausedCount[r]!,
          reusedTokens: t.reusedTokens[r]!,
          error,
        };
        continue;
      }
      const n = t.outputTokens[r]!;
      const times = t.tokenTimes(r, iterEnd);
      const submitIter = t.submitIter[r]!;
      const start = submitIter >= 0 ? iterEnd[submitIter]! : t.submitMs[r]!;
      const first = times[0]!;
      const end = times[n - 1]!;
      records[r] = {
        taskId: q.taskId,
        inputLength: q.inputLength,
        outputLength: n,
        startMs: start,
        firstTokenMs: first,
        endMs: end,
        ttftMs: first - start,
        tpotMs: n > 1 ? (end - first) / (n - 1) : 0,
        e2eMs: end - start,
        tokenTimesMs: times,
        pausedCount: t.pausedCount[r]!,
        reusedTokens: t.reusedTokens[r]!,
      };
    }
    const pool = this.kv.pool;
    this.cachedResult = {
      requests: records,
      numIterations: this.iterations,
      numPrefillIterations: this.prefillIterations,
      numDecodeIterations: this.decodeIterations,
      numMixedIterations: this.mixedIterations,
      numPaused: this.numPaused,
      simulatedMs: this.clock,
      numBlocks: this.cfg.numBlocks,
      tokensPerBlock: this.cfg.tokensPerBlock,
      reusedBlocks: pool.reusedBlocks,
      missedBlocks: pool.missedBlocks,
      numFailed: this.failed,
    };
    return this.cachedResult;
  }

  private checkedRunSteps(steps: number, available: number): number {
    const k = this.decodeRunLength();
    if (!Number.isInteger(steps) || steps < 1 || steps > k) {
      throw new Error(`a decode run of ${String(steps)} iterations was committed, but this one has ${k} at most`);
    }
    if (available < steps) throw new Error(`a decode run of ${steps} iterations needs ${steps} times (got ${available})`);
    return steps;
  }

  /** The time of the oldest untimed iteration of this phase (already checked). */
  private supplyTime(dtMs: number): void {
    const i = this.timed;
    this.lastStartMs = this.clock;
    const clock = this.clock + dtMs;
    this.clock = clock;
    this.iterEnd[i] = clock;
    this.timed = i + 1;
    if (this.waitingHead < this.waitingRecords.length) {
      const rec = this.waitingRecords[this.waitingHead]!;
      if (rec.iter === i) {
        rec.iterLatencyMS = dtMs;
        rec.simTimeMs = clock;
        this.waitingRecords[this.waitingHead++] = undefined as unknown as IterationStats;
        if (this.waitingHead === this.waitingRecords.length) {
          this.waitingRecords.length = 0;
          this.waitingHead = 0;
        }
        this.onIteration!(rec);
      }
    }
  }

  /**
   * Steps 6-9 (without the clock) for `steps` iterations: the pending batch, then, for a decode run,
   * steps − 1 more iterations of the same requests. Time stamps are iteration indices.
   */
  private commitSteps(steps: number): void {
    this.pending = false;
    const t = this.table;
    const iter0 = this.iterations;
    const last = iter0 + steps - 1;
    if (last >= this.iterEnd.length) {
      let size = this.iterEnd.length * 2;
      while (size <= last) size *= 2;
      const grown = new Float64Array(size);
      grown.set(this.iterEnd);
      this.iterEnd = grown;
    }

    const micro = this.micro;
    const nCtx = micro.contextCount;
    const nGen = micro.generationCount;
    const ctx = micro.context;
    const gen = micro.generation;
    const state = t.state;
    const overlap = this.overlap;
    // Overlap: the previous batch is processed after this one is launched; tokens of this one are
    // counted now (they feed the next batch on the device) and a request this batch finishes becomes
    // GENERATION_TO_COMPLETE (§10.2).
    if (overlap) this.processInflight();
    const done = overlap ? ST_TO_COMPLETE : ST_COMPLETE;
    let completed = 0;
    for (let i = 0; i < nCtx; i++) {
      const r = ctx[i]!;
      const pos = t.pos[r]! + t.chunk[r]!;
      t.pos[r] = pos;
      t.chunk[r] = 0;
      if (pos === t.promptLen[r]) {
        state[r] = ST_GENERATION;
        if (!overlap) this.kv.storeContextBlocks(r);
        else if (t.tracked[r] === 1) this.pendingStore[this.pendingStoreCount++] = r;
        if (t.emit(r, iter0)) {
          state[r] = done;
          completed++;
        }
      }
    }
    if (steps === 1) {
      for (let i = 0; i < nGen; i++) {
        const r = gen[i]!;
        if (t.emit(r, iter0)) {
          state[r] = done;
          completed++;
        }
      }
    } else {
      const held = t.held;
      for (let i = 0; i < nGen; i++) {
        const r = gen[i]!;
        this.kv.growGenerated(r, this.planner.heldAfter(i, held[r]!, steps));
        if (t.emitRun(r, iter0, steps)) {
          state[r] = done;
          completed++;
        }
      }
    }
    if (overlap) {
      this.finishing = completed;
      this.inflightIter = last;
    }

    const records = this.onIteration !== undefined && this.phase === PHASE_MEASURED;
    const pool = this.kv.pool;
    for (let j = 0; j < steps; j++) {
      const iter = iter0 + j;
      if (j > 0) {
        const takes = this.planner.takesAt(j);
        for (let b = 0; b < takes; b++) pool.takeFresh();
        pool.allocTotalBlocks += takes;
        pool.allocNewBlocks += takes;
      }
      const doneHere = iter === last ? completed : 0;
      if (doneHere > 0 && !overlap) this.finishCompleted(iter, ST_COMPLETE);
      if (nCtx > 0 && nGen > 0) this.mixedIterations++;
      else if (nCtx > 0) this.prefillIterations++;
      else this.decodeIterations++;
      this.iterations = iter + 1;
      if (records) this.record(iter, doneHere);
      this.newActiveSinceRecord = 0;
      this.pausedSinceRecord = 0;
    }
  }

  /** Step 9: finished requests leave active_requests in active order, freeing their KV blocks. */
  private finishCompleted(iter: number, finishedState: number): void {
    const t = this.table;
    const state = t.state;
    const active = this.active;
    const count = this.activeCount;
    let k = 0;
    for (let i = 0; i < count; i++) {
      const r = active[i]!;
      if (state[r] === finishedState) {
        this.kv.release(r);
        this.kv.forget(r);
        state[r] = ST_COMPLETE;
        this.finished++;
        this.onRequestEnded(iter);
      } else {
        active[k++] = r;
      }
    }
    this.activeCount = k;
  }

  /**
   * Overlap: `_process_previous_batch` for the batch in flight (iteration inflightIter): the prompts it
   * completed are stored for reuse (update_resources), then the requests it finished leave
   * active_requests and free their KV (handle_responses), ending at that batch's end.
   */
  private processInflight(): void {
    const iter = this.inflightIter;
    if (iter < 0) return;
    this.inflightIter = -1;
    if (this.pendingStoreCount > 0) {
      const t = this.table;
      for (let i = 0; i < this.pendingStoreCount; i++) {
        const r = this.pendingStore[i]!;
        // A request paused since (MAX_UTILIZATION) has released, and stored, its blocks already.
        if (t.held[r]! > 0 && t.state[r] !== ST_CONTEXT) this.kv.storeContextBlocks(r);
      }
      this.pendingStoreCount = 0;
    }
    if (this.finishing > 0) {
      this.finishing = 0;
      this.finishCompleted(iter, ST_TO_COMPLETE);
    }
  }

  /** Ends the warm-up (or starts directly): clock, counters and stats reset; KV pool and prefix cache kept. */
  private startMeasured(): void {
    this.phase = PHASE_MEASURED;
    this.clock = 0;
    // Warm-up times still to come only get checked: the measured run restarts the clock.
    this.discardTimes += this.iterations - this.timed;
    this.timed = 0;
    this.iterations = 0;
    this.prefillIterations = 0;
    this.decodeIterations = 0;
    this.mixedIterations = 0;
    this.numPaused = 0;
    this.finished = 0;
    this.failed = 0;
    this.newActiveSinceRecord = 0;
    this.pausedSinceRecord = 0;
    this.kv.pool.resetStats();
    this.order = this.plan.order;
    this.table.submitMs.set(this.plan.submitMs);
    this.submitted = this.plan.initiallySubmitted;
    this.released = 0;
    this.concurrency = this.plan.concurrency;
    this.qHead = 0;
    this.qTail = 0;
  }

  /** Step 1a: requests submitted by now enter the waiting queue (or fail if they can never run). */
  private releaseArrivals(): void {
    const t = this.table;
    // All at once and under a concurrency limit, every submitted request is due (its time may be deferred).
    const clockFree = this.clockFreeArrivals || this.phase === PHASE_WARMUP;
    // Overlap: this schedule runs when the batch in flight starts (§10).
    const now = this.inflightIter >= 0 ? this.lastStartMs : this.clock;
    while (this.released < this.submitted) {
      const r = this.order[this.released]!;
      if (!clockFree && t.submitMs[r]! > now) break;
      this.released++;
      const reason = this.unservableReason(r);
      if (reason !== null) {
        this.fail(r, reason);
      } else {
        t.state[r] = ST_QUEUED;
        this.queue[this.qTail++] = r;
      }
    }
  }

  /** Step 1b: FCFS activation up to max_num_active_requests. */
  private activate(): void {
    const max = this.cfg.maxNumActive;
    const t = this.table;
    while (this.activeCount < max && this.qHead < this.qTail) {
      const r = this.queue[this.qHead++]!;
      t.state[r] = ST_CONTEXT;
      this.active[this.activeCount++] = r;
      this.newActiveSinceRecord++;
    }
  }

  private nextSubmitTime(): number {
    return this.released < this.submitted ? this.table.submitMs[this.order[this.released]!]! : Infinity;
  }

  /**
   * A request finished or failed at the end of iteration `iter` (-1: the start of the run): under a
   * concurrency limit the next one is submitted then.
   */
  private onRequestEnded(iter: number): void {
    if (this.concurrency > 0 && this.submitted < this.order.length) {
      this.table.submitIter[this.order[this.submitted++]!] = iter;
    }
  }

  /** Requests that can never run (trtllm-scheduling.md §13), checked when they are released. */
  private unservableReason(r: number): string | null {
    const cfg = this.cfg;
    const q = this.table.requests[r]!;
    const p = q.inputLength;
    const n = q.outputTokens;
    if (cfg.chunking === CHUNK_NONE && p > cfg.maxNumTokens) {
      return `The sum of prompt length (${p}), query length (0) should not exceed max_num_tokens (${cfg.maxNumTokens})`;
    }
    if (cfg.chunking !== CHUNK_NONE && p > cfg.maxNumTokens && cfg.maxNumTokens < cfg.chunkUnit) {
      return (
        `prompt length (${p}) exceeds max_num_tokens (${cfg.maxNumTokens}), which is smaller than the context ` +
        `chunk unit (${cfg.chunkUnit} tokens): the prompt can never be chunked`
      );
    }
    if (p + n > cfg.maxSeqLen) {
      return `prompt length (${p}) + output tokens (${n}) = ${p + n} exceeds max_seq_len (${cfg.maxSeqLen})`;
    }
    const maxUtil = cfg.policy === POLICY_MAX_UTILIZATION;
    const need = ceilDiv(maxUtil ? p + n - 1 : p + n, cfg.tokensPerBlock);
    if (need > cfg.numBlocks) {
      return (
        `needs ${need} KV blocks (${p} prompt + ${n} output tokens${maxUtil ? " - 1" : ""} at ` +
        `${cfg.tokensPerBlock} tokens per block) but the whole KV cache has ${cfg.numBlocks} blocks`
      );
    }
    return null;
  }

  /** Step 3: pause = recompute (§5.3). Returns true if the request failed (folded prompt too long). */
  private pause(r: number): boolean {
    const t = this.table;
    this.kv.release(r);
    const p = t.promptLen[r]!;
    const folded = Math.min(this.cfg.maxSeqLen, p + t.genSincePrompt[r]!);
    t.maxNew[r]! -= folded - p;
    t.promptLen[r] = folded;
    t.genSincePrompt[r] = 0;
    t.state[r] = ST_CONTEXT;
    t.pos[r] = 0;
    t.pre[r] = 0;
    t.chunk[r] = 0;
    t.pausedCount[r]!++;
    this.numPaused++;
    this.pausedSinceRecord++;
    if (this.cfg.chunking === CHUNK_NONE && folded > this.cfg.maxNumTokens) {
      this.fail(
        r,
        `paused after ${t.emitted[r]} tokens; its folded prompt (${folded} tokens) exceeds max_num_tokens ` +
          `(${this.cfg.maxNumTokens}) and chunked context is disabled, so it can never be re-prefilled`,
      );
      return true;
    }
    return false;
  }

  /** Stall safety net (§13.4): nothing scheduled and nothing paused while requests are active. */
  private breakDeadlock(): void {
    const cap = this.capacity;
    let r = cap.stopRequest;
    let reason: string;
    if (r >= 0) {
      reason =
        `deadlock: the scheduler can make no progress; this request needs ${cap.stopNeed} more KV blocks ` + `and only ${cap.stopAvailable} are available`;
    } else {
      r = this.active[0]!;
      for (let i = 0; i < cap.fittingCount; i++) {
        if (this.table.state[cap.fitting[i]!] === ST_CONTEXT) {
          r = cap.fitting[i]!;
          break;
        }
      }
      reason = "deadlock: the scheduler can make no progress with this request at the head of the queue";
    }
    this.fail(r, reason);
    this.dropEndedFromActive();
  }

  private fail(r: number, reason: string): void {
    const t = this.table;
    this.kv.release(r);
    this.kv.forget(r);
    t.state[r] = ST_FAILED;
    t.errors.set(r, reason);
    t.dropTokenTimes(r);
    if (r < this.numMeasured) this.failed++;
    // Failures happen while building a batch: now is the end of the last committed iteration, or with a
    // batch in flight (overlap) the end of the one before it.
    this.onRequestEnded(this.inflightIter >= 0 ? this.inflightIter - 1 : this.iterations - 1);
  }

  private dropEndedFromActive(): void {
    const t = this.table;
    let k = 0;
    for (let i = 0; i < this.activeCount; i++) {
      const r = this.active[i]!;
      if (t.state[r] !== ST_FAILED && t.state[r] !== ST_COMPLETE) this.active[k++] = r;
    }
    this.activeCount = k;
  }

  /** Step 5 (KV allocation, with prefix matching at a first chunk) and the SimBatch (§4.1). */
  private prepareResources(): void {
    const t = this.table;
    const kv = this.kv;
    const tpb = this.cfg.tokensPerBlock;
    const micro = this.micro;
    const b = this.batch;
    const inputLength = b.inputLength;
    const pastKv = b.pastKvLength;
    let k = 0;
    let ctxTokens = 0;
    for (let i = 0; i < micro.contextCount; i++) {
      const r = micro.context[i]!;
      if (t.held[r] === 0) {
        const matched = kv.addSequence(r);
        if (matched > 0) {
          // setPrepopulatedPromptLen (§6.4): skip the cached prefix, keep chunk ends on block boundaries.
          const pre = matched * tpb;
          const p = t.promptLen[r]!;
          const c = t.chunk[r]!;
          t.chunk[r] = pre + c < p ? Math.floor((pre + c) / tpb) * tpb - pre : p - pre;
          t.pre[r] = pre;
          t.pos[r] = pre;
          t.reusedTokens[r]! += pre;
          if (t.chunk[r]! <= 0) throw new Error(`empty context chunk after prefix reuse (request ${r}): chunk unit not block-aligned`);
        }
      }
      const c = t.chunk[r]!;
      inputLength[k] = c;
      pastKv[k] = t.pos[r]!;
      ctxTokens += c;
      k++;
    }
    const gen = micro.generation;
    const nGen = micro.generationCount;
    const promptLen = t.promptLen;
    const genSincePrompt = t.genSincePrompt;
    const held = t.held;
    for (let i = 0; i < nGen; i++) {
      const r = gen[i]!;
      const kvLen = promptLen[r]! + genSincePrompt[r]!;
      if (kvLen > held[r]! * tpb) kv.addToken(r, kvLen);
      inputLength[k] = 1;
      pastKv[k] = kvLen - 1;
      k++;
    }
    b.numContext = micro.contextCount;
    b.numGeneration = micro.generationCount;
    b.numContextTokens = ctxTokens;
  }

  /** Builds iteration `iter`'s record; it is handed to onIteration once the iteration's time is known. */
  private record(iter: number, completed: number): void {
    const pool = this.kv.pool;
    const nCtx = this.batch.numContext;
    const nGen = this.batch.numGeneration;
    const hits = pool.reusedBlocks + pool.missedBlocks;
    this.waitingRecords.push({
      iter,
      iterLatencyMS: Number.NaN,
      simTimeMs: Number.NaN,
      numActiveRequests: this.activeAtFetch,
      numQueuedRequests: this.queuedAtFetch,
      numCompletedRequests: completed,
      numNewActiveRequests: this.newActiveSinceRecord,
      maxNumActiveRequests: this.cfg.maxNumActive,
      inflightBatchingStats: {
        numScheduledRequests: nCtx + nGen,
        numContextRequests: nCtx,
        numCtxTokens: this.batch.numContextTokens,
        numGenRequests: nGen,
        numPausedRequests: this.pausedSinceRecord,
      },
      kvCacheStats: {
        maxNumBlocks: pool.numBlocks,
        freeNumBlocks: pool.freeBlocks,
        usedNumBlocks: pool.usedBlocks,
        tokensPerBlock: this.cfg.tokensPerBlock,
        allocTotalBlocks: pool.allocTotalBlocks,
        allocNewBlocks: pool.allocNewBlocks,
        reusedBlocks: pool.reusedBlocks,
        missedBlocks: pool.missedBlocks,
        cacheHitRate: hits > 0 ? pool.reusedBlocks / hits : 0,
      },
    });
  }
}
