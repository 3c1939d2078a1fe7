import type { SimBatch } from "@servesim/core";
import { BatchWaiting } from "../batchWaiting.js";
import type { CapacityScheduler } from "../capacity/capacityPolicy.js";
import { DecodeRunPlanner } from "../decodeRun.js";
import type { EngineConfig } from "../engineConfig.js";
import { KvCacheManager } from "../kvCacheManager.js";
import { MicroBatchScheduler } from "../microBatchScheduler.js";
import { RequestTable, ST_COMPLETE, ST_DISAGG_INIT, ST_FAILED, ST_GENERATION } from "../requestTable.js";
import type { TimingHost, TimingStrategy } from "../timing/timingStrategy.js";
import type { SimRequest } from "../types.js";
import { Admission } from "./admission.js";
import { FailurePolicy } from "./failurePolicy.js";
import { TimeLedger } from "./timeLedger.js";

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

export interface EngineCoreInit {
  /** Requests known up front (Simulation); an EngineLoop starts empty and adds them on submit. */
  requests: readonly SimRequest[];
  /** Only requests below this index count as failed/finished in the stats (Simulation: the measured ones). */
  countBelow: number;
  /** Requests added later may take part in prefix caching (EngineLoop with reuse on). */
  mayTrackLater: boolean;
  /** Waiting-queue capacity to start with. */
  queueCapacity: number;
  /** Prepares the request table before the KV manager reads it (Simulation: untrack unshared prefixes). */
  prepareTable?: (table: RequestTable) => void;
}

/**
 * One engine's scheduling iteration, shared by Simulation (a whole run on its own clock) and
 * SingleEngineLoop (an instance on a caller's clock). build() is PyExecutor's iteration up to the
 * forward pass (tensorrt_llm/_torch/pyexecutor/py_executor.py `_executor_loop`):
 *   1. fetch: release due requests into the waiting queue, activate up to max_num_active_requests;
 *   2. capacity scheduler (the policy from the capacity/ registry): which active requests fit the KV cache;
 *   3. pause the ones it evicts (MAX_UTILIZATION);
 *   4. micro-batch scheduler: max_batch_size and max_num_tokens budgets, context chunk sizes;
 *   5. KV allocation (`prepare_resources`), with prefix matching at a prompt's first chunk;
 * and commitSteps() is what follows the forward pass: tokens, state changes, and (as the timing strategy
 * decides) storing completed prompts and freeing finished requests.
 *
 * The clock is not here: the ledger maps iteration indices to times, and the driver (Simulation or the
 * loop) decides when times are known and what happens when the engine is idle.
 */
export class EngineCore implements TimingHost {
  readonly table: RequestTable;
  readonly kv: KvCacheManager;
  readonly capacity: CapacityScheduler;
  readonly micro: MicroBatchScheduler;
  readonly planner: DecodeRunPlanner;
  readonly ledger = new TimeLedger();
  readonly admission: Admission;
  readonly failures: FailurePolicy;
  readonly timing: TimingStrategy;
  readonly batch: EngineBatch;
  readonly maxBatchSize: number;
  /** Context batch waiting (null: off). */
  private readonly batchWaiting: BatchWaiting | null;
  /**
   * Set by the attention-DP ranks' balancing (attentionDp/balance.ts) before build(): the next batch runs
   * its generation requests without the context requests it scheduled.
   */
  holdContexts = false;
  /** The pending batch held back its context requests (no decode run: the next iteration may differ). */
  private contextsHeld = false;

  /** Every submitted request is due whenever the engine looks (all at once, a concurrency limit, a warm-up). */
  clockFree = false;
  /** Called when a request finishes or fails, with the iteration at whose end it did (-1: the start). */
  onEnded: (r: number, iter: number) => void = () => undefined;
  /** Called for every committed iteration when set (iteration records). */
  onCommitted: ((iter: number, completed: number) => void) | null = null;
  /** Called when a request's first token is emitted in iteration `iter` (set by EngineLoop only). */
  onFirstToken: ((r: number, iter: number) => void) | null = null;

  /** A batch was built and not committed yet. */
  pending = false;
  private evictionsAtSchedule = 0;
  /** decodeRunLength() of the pending batch (0: not computed yet). */
  private runLength = 0;

  prefillIterations = 0;
  decodeIterations = 0;
  mixedIterations = 0;
  finished = 0;
  activeAtFetch = 0;
  queuedAtFetch = 0;
  private readonly countBelow: number;

  constructor(
    readonly cfg: EngineConfig,
    init: EngineCoreInit,
  ) {
    this.countBelow = init.countBelow;
    this.maxBatchSize = cfg.maxBatchSize;
    this.table = new RequestTable(init.requests, cfg.reuse);
    this.table.speculation = cfg.speculation;
    init.prepareTable?.(this.table);
    this.kv = new KvCacheManager(this.table, cfg.numBlocks, cfg.tokensPerBlock, cfg.reuse, init.mayTrackLater);
    this.capacity = cfg.capacity.create(cfg, this.table, this.kv);
    this.micro = new MicroBatchScheduler(cfg, this.table);
    this.batch = new EngineBatch(cfg.maxBatchSize);
    this.planner = new DecodeRunPlanner(cfg, this.table, this.kv);
    this.admission = new Admission(this.table, cfg.queue.create(this.table, init.queueCapacity), cfg.maxNumActive, new Int32Array(0));
    this.failures = new FailurePolicy(cfg, this.table, this.kv, this, init.countBelow);
    this.timing = cfg.timing.create(this);
    this.batchWaiting = BatchWaiting.enabled(cfg.batchWait) ? new BatchWaiting(cfg.batchWait, cfg.maxNumTokens) : null;
  }

  requestEnded(r: number, iter: number): void {
    this.onEnded(r, iter);
  }

  nowIteration(): number {
    return this.timing.nowIteration();
  }

  private readonly unservable = (r: number): string | null => this.failures.unservableReason(r);
  private readonly reject = (r: number, reason: string): void => this.failures.fail(r, reason);
  private readonly stillActive = (r: number): boolean => {
    const st = this.table.state[r];
    return st !== ST_FAILED && st !== ST_COMPLETE;
  };

  /**
   * Steps 1-5 of the next iteration. Returns the batch to price, or null when no request is active and
   * no batch is in flight (the driver then idles until the next submission, or ends).
   */
  build(): SimBatch | null {
    const adm = this.admission;
    for (;;) {
      adm.release(this.timing.scheduleTimeMs(), this.clockFree, this.unservable, this.reject);
      adm.activate();
      if (adm.activeCount === 0) {
        // Overlap: every request of the batch in flight has failed since; process it before going idle.
        if (this.timing.drain()) continue;
        return null;
      }
      this.activeAtFetch = adm.activeCount;
      this.queuedAtFetch = adm.queue.size;
      const cap = this.capacity;
      cap.schedule(adm.active, adm.activeCount);
      if (adm.transfersWaiting > 0) this.allocateTransfers();
      this.micro.schedule(cap.fitting, cap.fittingCount);
      const micro = this.micro;
      if (this.batchWaiting !== null && micro.contextCount > 0 && micro.generationCount > 0) {
        // Held contexts get no KV this iteration (prepare_resources only sees the scheduled batch).
        const genTokens = micro.generationCount * this.cfg.genTokens;
        if (!this.batchWaiting.release(this.table, micro.context, micro.contextCount, genTokens)) micro.contextCount = 0;
      }
      this.contextsHeld = false;
      if (this.holdContexts) {
        this.holdContexts = false;
        if (micro.contextCount > 0 && micro.generationCount > 0) {
          micro.contextCount = 0;
          this.contextsHeld = true;
        }
      }
      if (cap.pausedCount > 0) {
        let anyFailed = false;
        for (let i = 0; i < cap.pausedCount; i++) anyFailed = this.failures.pause(cap.paused[i]!) || anyFailed;
        if (anyFailed) adm.retain(this.stillActive);
      }
      if (this.micro.contextCount + this.micro.generationCount === 0) {
        // A pause-only pass has no forward: no clock advance, no iteration record. With a batch in flight
        // (overlap) the host waits for it and processes it: a drain, not a stall.
        if (!this.timing.drain() && cap.pausedCount === 0) {
          this.failures.breakDeadlock(cap.stopRequest, cap.stopNeed, cap.stopAvailable, cap.fitting, cap.fittingCount, adm.active[0]!);
          adm.retain(this.stillActive);
        }
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
   * The context and generation requests the next build() would schedule at the current time (steps 1-4:
   * fetch, capacity and micro-batch scheduling), without building it; { 0, 0 } when no request is active.
   * Attention-DP balancing compares every rank's counts before the ranks build; build() repeats these
   * steps on the same state and schedules the same requests.
   */
  scheduledCounts(): { context: number; generation: number } {
    const adm = this.admission;
    adm.release(this.timing.scheduleTimeMs(), this.clockFree, this.unservable, this.reject);
    adm.activate();
    if (adm.activeCount === 0) return { context: 0, generation: 0 };
    this.capacity.schedule(adm.active, adm.activeCount);
    this.micro.schedule(this.capacity.fitting, this.capacity.fittingCount);
    return { context: this.micro.contextCount, generation: this.micro.generationCount };
  }

  /**
   * After build(): the number of iterations, this one included, that form a decode run (the same
   * generation requests, every past KV length + 1 per iteration) if no request arrives meanwhile. 1 when
   * the batch has context requests, the next iteration may differ, or the capacity policy does not
   * declare decode runs safe. At most `maxSteps`.
   */
  decodeRunLength(maxSteps: number): number {
    if (this.runLength === 0) {
      const micro = this.micro;
      this.runLength =
        !this.cfg.capacity.decodeRunSafe ||
        // Speculative steps emit a drawn number of tokens: no run of identical steps to skip through.
        this.cfg.speculation !== null ||
        micro.contextCount > 0 ||
        micro.generationCount === 0 ||
        this.batchWaiting?.holding === true ||
        this.contextsHeld ||
        this.capacity.pausedCount > 0 ||
        this.admission.transfersWaiting > 0 ||
        this.timing.blocksDecodeRun()
          ? 1
          : this.planner.length(
              this.admission.active,
              this.admission.activeCount,
              this.capacity.fittingCount,
              micro.generation,
              micro.generationCount,
              this.kv.pool.evictions !== this.evictionsAtSchedule,
              0x7fffffff,
            );
    }
    return Math.max(1, Math.min(this.runLength, maxSteps));
  }

  /**
   * Steps 6-9 (without the clock) for `steps` iterations: the pending batch, then, for a decode run,
   * steps − 1 more iterations of the same requests. Time stamps are iteration indices.
   */
  commitSteps(steps: number): void {
    this.pending = false;
    const t = this.table;
    const ledger = this.ledger;
    const iter0 = ledger.iterations;
    const last = iter0 + steps - 1;
    ledger.reserve(last);

    const micro = this.micro;
    const nCtx = micro.contextCount;
    const nGen = micro.generationCount;
    const ctx = micro.context;
    const gen = micro.generation;
    const state = t.state;
    const timing = this.timing;
    // Overlap: the previous batch is processed after this one is launched; tokens of this one are
    // counted now (they feed the next batch on the device) and a request this batch finishes becomes
    // GENERATION_TO_COMPLETE.
    timing.beforeCommit();
    const done = timing.finishingState;
    const onFirstToken = this.onFirstToken;
    let completed = 0;
    let firstTokens = 0;
    for (let i = 0; i < nCtx; i++) {
      const r = ctx[i]!;
      const pos = t.pos[r]! + t.chunk[r]!;
      t.pos[r] = pos;
      t.chunk[r] = 0;
      if (pos === t.promptLen[r]) {
        firstTokens++;
        state[r] = ST_GENERATION;
        timing.promptCompleted(r);
        if (onFirstToken !== null && t.emitted[r] === 0) onFirstToken(r, iter0);
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
    timing.launched(last, completed);

    const onCommitted = this.onCommitted;
    const pool = this.kv.pool;
    const admission = this.admission;
    const failures = this.failures;
    for (let j = 0; j < steps; j++) {
      const iter = iter0 + j;
      if (j > 0) {
        const takes = this.planner.takesAt(j);
        for (let b = 0; b < takes; b++) pool.takeFresh();
        pool.allocTotalBlocks += takes;
        pool.allocNewBlocks += takes;
      }
      ledger.responses[iter] = j === 0 ? firstTokens + nGen : nGen;
      const doneHere = iter === last ? completed : 0;
      if (doneHere > 0) timing.completedAt(iter, doneHere);
      if (nCtx > 0 && nGen > 0) this.mixedIterations++;
      else if (nCtx > 0) this.prefillIterations++;
      else this.decodeIterations++;
      ledger.iterations = iter + 1;
      if (onCommitted !== null) onCommitted(iter, doneHere);
      admission.newActive = 0;
      failures.pausedSinceRecord = 0;
    }
  }

  /** Step 9: requests in `finishedState` leave active_requests in active order, freeing their KV blocks. */
  finishCompleted(iter: number, finishedState: number): void {
    const t = this.table;
    const state = t.state;
    const adm = this.admission;
    const active = adm.active;
    const count = adm.activeCount;
    let k = 0;
    for (let i = 0; i < count; i++) {
      const r = active[i]!;
      if (state[r] === finishedState) {
        this.kv.release(r);
        this.kv.forget(r);
        state[r] = ST_COMPLETE;
        if (r < this.countBelow) this.finished++;
        this.onEnded(r, iter);
      } else {
        active[k++] = r;
      }
    }
    adm.activeCount = k;
  }

  /**
   * Requests whose KV arrives by transfer and that the capacity policy admitted: their blocks are
   * allocated now (TensorRT-LLM allocates them for DISAGG_GENERATION_INIT requests before the transfer,
   * `_prepare_disagg_gen_init` in py_executor.py); the transfer is complete at submission, so they decode
   * in this very iteration.
   */
  private allocateTransfers(): void {
    const t = this.table;
    const cap = this.capacity;
    for (let i = 0; i < cap.fittingCount; i++) {
      const r = cap.fitting[i]!;
      if (t.state[r] !== ST_DISAGG_INIT) continue;
      this.kv.addTransferred(r);
      t.state[r] = ST_GENERATION;
      t.pos[r] = t.promptLen[r]!;
      // The first token counts as emitted just before this iteration.
      t.firstIter[r] = this.ledger.iterations - 1;
      this.admission.transfersWaiting--;
    }
  }

  /** Step 5 (KV allocation, with prefix matching at a first chunk) and the SimBatch. */
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
          // setPrepopulatedPromptLen: skip the cached prefix, keep chunk ends on block boundaries.
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

  /** Resets the stats for a new phase (Simulation's measured run); KV pool and prefix cache are kept. */
  restartStats(): void {
    this.ledger.restart();
    this.prefillIterations = 0;
    this.decodeIterations = 0;
    this.mixedIterations = 0;
    this.finished = 0;
    this.failures.failed = 0;
    this.failures.numPaused = 0;
    this.failures.pausedSinceRecord = 0;
    this.admission.newActive = 0;
    this.kv.pool.resetStats();
  }
}
