import type { SimBatch } from "@servesim/core";
import { FailedPreconditionError } from "@servesim/core";
import type { ArrivalPlan } from "./arrivals/arrivalProcess.js";
import { maxConcurrencyGate, type ReactiveArrivals } from "./arrivals/reactive.js";
import { arrivalProcess } from "./arrivals/registry.js";
import { SubmissionQueue } from "./arrivals/submissionQueue.js";
import { toEngineConfig } from "./engineConfig.js";
import { FrontEndServer, frontEndIsFree } from "./frontEnd.js";
import { EngineCore } from "./loop/engineCore.js";
import { iterationRecord, simulationResult } from "./loop/results.js";
import { untrackUnsharedPrefixes } from "./prefixSharing.js";
import type { SteppedRun } from "./run.js";
import type { EngineOptions, IterationStats, SimRequest, SimulationProgress, SimulationResult } from "./types.js";
import { validateOptions, validateRequests } from "./validation.js";

const PHASE_WARMUP = 0;
const PHASE_MEASURED = 1;
const PHASE_DONE = 2;

/** `iter` < 0: a warm-up iteration whose time arrived after the measured run started. */
const badTime = (dtMs: unknown, iter: number): FailedPreconditionError =>
  new FailedPreconditionError(
    `the predictor returned ${String(dtMs)} ms for ${iter >= 0 ? `iteration ${iter}` : "a warm-up iteration"}; a batch time must be finite and > 0`,
  );

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
 * A whole run of one engine on its own clock: the warm-up, then the measured requests as the arrival
 * process submits them, to the last one. Drive it with nextBatch() → price the batch → commit(ms), or
 * use runSimulation / runSimulationSync. The iteration itself is EngineCore's; the timing strategy
 * (non-overlap or overlap, from EngineOptions) decides how iterations follow each other.
 *
 * Two fast paths give the same results as that plain loop:
 * - decode runs: after a decode-only batch, decodeRunLength() tells how many iterations (this one
 *   included) keep the same requests with every KV length + 1 per iteration; commitDecodeRun() commits
 *   them at once with one time per iteration (only for capacity policies that declare it safe);
 * - deferred times: when the batch sequence does not depend on the clock (timesNeeded is false: a
 *   clock-free arrival process such as all at t = 0 or a concurrency limit, and the warm-up),
 *   commitDeferred() / commitDecodeRunDeferred() commit without the time and supplyTimes() fills the
 *   times in later, in order. A remote predictor can then have many batches in flight. Every time stamp
 *   is kept as an iteration index until then (TimeLedger).
 */
export class Simulation implements SteppedRun {
  private readonly core: EngineCore;
  private readonly numMeasured: number;
  private readonly plan: ArrivalPlan;
  /** trtllm-serve's front-end thread (EngineOptions.frontEnd) of the measured run; undefined without. */
  private readonly frontEnd: FrontEndServer | undefined;
  private readonly onIteration: ((s: IterationStats) => void) | undefined;
  /** Measured arrivals do not depend on the clock (all at once, or a concurrency limit). */
  private readonly clockFreeArrivals: boolean;

  private phase: number;
  /** > 0: a closed loop; the next request is submitted whenever one ends. */
  private concurrency = 0;
  /** A reactive arrival process (ArrivalPlan.reactive) of the measured run, and its submissions to come. */
  private reactive: ReactiveArrivals | undefined;
  private readonly later: SubmissionQueue;
  /** Measured requests that ended and are not yet reported to the reactive process: request, iteration. */
  private readonly ended: number[] = [];
  private readonly submitLater = (r: number, tMs: number): void => this.later.push(r, tMs);
  /** Deferred warm-up times still to come: checked, then dropped (the measured run restarts the clock). */
  private discardTimes = 0;
  /** Iteration records waiting for their iteration's time. */
  private readonly waitingRecords: IterationStats[] = [];
  private waitingHead = 0;
  private cachedResult: SimulationResult | undefined;

  constructor(options: EngineOptions, requests: readonly SimRequest[], init?: SimulationInit) {
    validateRequests(requests, "requests", options.tokensPerBlock);
    const warmup = init?.warmup ?? [];
    validateRequests(warmup, "warmup", options.tokensPerBlock);
    validateOptions(options, requests.length);
    const cfg = toEngineConfig(options);
    this.numMeasured = requests.length;
    const all = warmup.length === 0 ? requests : [...requests, ...warmup];
    this.core = new EngineCore(cfg, {
      requests: all,
      countBelow: requests.length,
      mayTrackLater: false,
      queueCapacity: Math.max(requests.length, warmup.length),
      // A policy that never pauses: only requests sharing a first block with another can ever hit the prefix cache.
      prepareTable:
        cfg.reuse && cfg.capacity.reservation === "to_completion" && init?.trackEveryPrefix !== true
          ? (table) => untrackUnsharedPrefixes(table, cfg.tokensPerBlock)
          : undefined,
    });
    const core = this.core;
    core.onEnded = (r, iter) => this.onRequestEnded(r, iter);
    this.onIteration = init?.onIteration;
    if (this.onIteration !== undefined) {
      core.onCommitted = (iter, completed) => {
        if (this.phase === PHASE_MEASURED) this.waitingRecords.push(iterationRecord(core, iter, completed));
      };
    }
    const arrivals = arrivalProcess(options.arrivals);
    const plan = arrivals.plan(options.arrivals, requests.length);
    const frontEnd = options.frontEnd;
    if (frontEndIsFree(frontEnd)) {
      this.clockFreeArrivals = arrivals.clockFree;
      this.plan = plan;
    } else {
      // Every submission passes the front end, which delays it by a time: the arrivals react to the clock.
      const sends = plan.reactive ?? maxConcurrencyGate(plan.order, plan.submitMs, plan.concurrency > 0 ? plan.concurrency : requests.length);
      this.frontEnd = new FrontEndServer(frontEnd!, requests, core.table.frontEndWaitMs);
      this.clockFreeArrivals = false;
      this.plan = { ...plan, reactive: this.frontEnd.gate(sends) };
    }
    this.later = new SubmissionQueue(this.plan.reactive ? Math.min(requests.length, 1 << 16) : 0);
    if (warmup.length > 0) {
      this.phase = PHASE_WARMUP;
      const order = new Int32Array(warmup.length);
      for (let i = 0; i < warmup.length; i++) order[i] = requests.length + i;
      core.admission.restart(order, warmup.length);
      core.clockFree = true;
    } else {
      this.phase = PHASE_MEASURED;
      this.startMeasured();
    }
  }

  get progress(): SimulationProgress {
    const warm = this.phase === PHASE_WARMUP;
    const core = this.core;
    return {
      iterations: warm ? 0 : core.ledger.timed,
      requestsFinished: warm ? 0 : core.finished + core.failures.failed,
      requestsTotal: this.numMeasured,
      simTimeMs: warm ? 0 : core.ledger.clock,
      warmingUp: warm,
    };
  }

  /** KV blocks held by requests right now (0 once a run is over: nothing leaks). */
  get kvUsedBlocks(): number {
    return this.core.kv.pool.usedBlocks;
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
    return this.discardTimes + this.core.ledger.untimed;
  }

  /**
   * Steps 1-5 of the next iteration: fetch, schedule, pause, allocate KV. Returns the batch to price, or
   * null when every request has finished or failed. The batch's arrays are reused by the next call.
   */
  nextBatch(): SimBatch | null {
    const core = this.core;
    if (core.pending) throw new Error("nextBatch() called again before commit() of the previous batch");
    if (this.phase === PHASE_DONE) return null;
    if (this.timesNeeded && core.ledger.untimed !== 0) {
      throw new Error("nextBatch() needs the times of all committed iterations: arrivals depend on the clock");
    }
    for (;;) {
      if (this.reactive) this.feedReactive();
      const batch = core.build();
      if (batch !== null) return batch;
      // Requests that ended while building (failed on release, or processed in flight) may submit others.
      if (this.ended.length > 0) continue;
      const next = this.nextSubmitTime();
      if (next === Infinity) {
        if (this.phase === PHASE_WARMUP) {
          this.startMeasured();
          continue;
        }
        this.phase = PHASE_DONE;
        return null;
      }
      // Idle until the next submission.
      core.ledger.clock = next;
    }
  }

  /**
   * What the next nextBatch() would schedule (EngineCore.scheduledCounts), for attention-DP balancing;
   * { 0, 0 } when no request is active.
   */
  scheduledCounts(): { context: number; generation: number } {
    const core = this.core;
    if (core.pending || this.phase === PHASE_DONE) return { context: 0, generation: 0 };
    if (this.reactive) this.feedReactive();
    return core.scheduledCounts();
  }

  /** The next batch runs its generation requests without its context requests (attention-DP balancing). */
  holdContexts(): void {
    this.core.holdContexts = true;
  }

  /**
   * After nextBatch(): the number of iterations, this one included, that form a decode run (the same
   * generation requests, every past KV length + 1 per iteration) if no request arrives meanwhile. 1 when
   * the batch has context requests or the next iteration may differ. At most `maxSteps`.
   */
  decodeRunLength(maxSteps = 0x7fffffff): number {
    if (!this.core.pending) throw new Error("decodeRunLength() needs a batch from nextBatch()");
    return this.core.decodeRunLength(maxSteps);
  }

  /** Steps 6-9 for the batch returned by nextBatch(): advance the clock by `dtMs`, emit tokens, free. */
  commit(dtMs: number): void {
    const core = this.core;
    if (!core.pending) throw new Error("commit() called without a batch from nextBatch()");
    if (this.pendingTimes > 0) throw new Error("commit() with deferred times pending; use commitDeferred() and supplyTimes()");
    if (typeof dtMs !== "number" || !Number.isFinite(dtMs) || dtMs <= 0) throw badTime(dtMs, core.ledger.iterations);
    core.commitSteps(1);
    this.supplyTime(dtMs);
  }

  /** commit() without the time (only while timesNeeded is false); supply it later with supplyTimes(). */
  commitDeferred(): void {
    if (!this.core.pending) throw new Error("commitDeferred() called without a batch from nextBatch()");
    if (this.timesNeeded) throw new Error("commitDeferred(): arrivals depend on the clock; commit with the time");
    this.core.commitSteps(1);
  }

  /**
   * Commits the first iterations of the decode run that starts with the pending batch, with `times[i]`
   * the time of iteration i, up to `steps` (≤ decodeRunLength()). With arrivals in time it stops after
   * the iteration whose following schedule sees the next request (at the iteration's end, or with the
   * overlap strategy at its start). Returns the iterations committed (≥ 1).
   */
  commitDecodeRun(times: ArrayLike<number>, steps: number): number {
    const core = this.core;
    if (!core.pending) throw new Error("commitDecodeRun() called without a batch from nextBatch()");
    if (this.pendingTimes > 0) throw new Error("commitDecodeRun() with deferred times pending; use commitDecodeRunDeferred()");
    const k = this.checkedRunSteps(steps, times.length);
    let m = k;
    let clock = core.ledger.clock;
    const next = this.nextSubmitTime();
    const timing = core.timing;
    const atStart = timing.schedulesAtBatchStart;
    for (let i = 0; i < k; i++) {
      const dt = times[i]!;
      if (typeof dt !== "number" || !Number.isFinite(dt) || dt <= 0) throw badTime(dt, core.ledger.iterations + i);
      if (atStart && clock >= next) {
        m = i + 1;
        break;
      }
      clock += dt;
      if (!atStart && clock >= next) {
        m = i + 1;
        break;
      }
    }
    core.commitSteps(m);
    this.supplyTimes(times, 0, m);
    return m;
  }

  /** commitDecodeRun() without the times (only while timesNeeded is false): commits all `steps`. */
  commitDecodeRunDeferred(steps: number): void {
    if (!this.core.pending) throw new Error("commitDecodeRunDeferred() called without a batch from nextBatch()");
    if (this.timesNeeded) throw new Error("commitDecodeRunDeferred(): arrivals depend on the clock; use commitDecodeRun()");
    this.core.commitSteps(this.checkedRunSteps(steps, steps));
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
        throw badTime(dt, this.discardTimes > 0 ? -1 : this.core.ledger.timed);
      }
      if (this.discardTimes > 0) this.discardTimes--;
      else this.supplyTime(dt);
    }
  }

  /** The run's outcome; available once nextBatch() has returned null and every time is supplied. */
  result(): SimulationResult {
    if (this.phase !== PHASE_DONE) throw new Error("result() is only available after nextBatch() returned null");
    if (this.pendingTimes > 0) throw new Error(`result(): ${this.pendingTimes} iteration times are still pending`);
    const fe = this.frontEnd;
    if (fe) fe.advance(this.core.ledger.iterEnd, this.core.ledger.responses, this.core.ledger.timed);
    this.cachedResult ??= simulationResult(this.core, this.numMeasured, fe?.delivered);
    return this.cachedResult;
  }

  private checkedRunSteps(steps: number, available: number): number {
    const k = this.core.decodeRunLength(0x7fffffff);
    if (!Number.isInteger(steps) || steps < 1 || steps > k) {
      throw new Error(`a decode run of ${String(steps)} iterations was committed, but this one has ${k} at most`);
    }
    if (available < steps) throw new Error(`a decode run of ${steps} iterations needs ${steps} times (got ${available})`);
    return steps;
  }

  /** The time of the oldest untimed iteration of this phase (already checked). */
  private supplyTime(dtMs: number): void {
    const core = this.core;
    const i = core.ledger.supply(dtMs);
    if (this.waitingHead < this.waitingRecords.length) {
      const rec = this.waitingRecords[this.waitingHead]!;
      if (rec.iter === i) {
        rec.iterLatencyMS = dtMs;
        rec.simTimeMs = core.ledger.clock;
        this.waitingRecords[this.waitingHead++] = undefined as unknown as IterationStats;
        if (this.waitingHead === this.waitingRecords.length) {
          this.waitingRecords.length = 0;
          this.waitingHead = 0;
        }
        this.onIteration!(rec);
      }
    }
  }

  /** Ends the warm-up (or starts directly): clock, counters and stats reset; KV pool and prefix cache kept. */
  private startMeasured(): void {
    const core = this.core;
    this.phase = PHASE_MEASURED;
    // Warm-up times still to come only get checked: the measured run restarts the clock.
    this.discardTimes += core.ledger.untimed;
    core.restartStats();
    core.table.submitMs.set(this.plan.submitMs);
    core.admission.restart(this.plan.order, this.plan.initiallySubmitted);
    core.clockFree = this.clockFreeArrivals;
    this.concurrency = this.plan.concurrency;
    if (this.plan.reactive) {
      this.reactive = this.plan.reactive;
      core.admission.restart(new Int32Array(Math.min(this.numMeasured, 1 << 16)), 0);
      this.reactive.begin(this.submitLater);
    }
  }

  /** Submit time of the next request not yet released, Infinity when none. */
  private nextSubmitTime(): number {
    return Math.min(this.core.admission.nextSubmitTime(), this.later.peekTime());
  }

  /**
   * Reports the requests that ended to the reactive process (their end times are known by now: its runs
   * need the clock), then hands the submissions due by the schedule time to admission.
   */
  private feedReactive(): void {
    const ended = this.ended;
    for (let i = 0; i < ended.length; i += 2) this.reportEnd(ended[i]!, ended[i + 1]!);
    ended.length = 0;
    this.admitDue();
  }

  private reportEnd(r: number, iter: number): void {
    const core = this.core;
    // A request failed on release ends at its release: not before its submission. Behind the front end, the
    // client sees the end when the thread has sent the last token's chunk.
    const fe = this.frontEnd;
    if (fe) fe.advance(core.ledger.iterEnd, core.ledger.responses, core.ledger.timed);
    const endMs = Math.max(iter >= 0 ? (fe ? fe.delivered : core.ledger.iterEnd)[iter]! : 0, core.table.submitMs[r]!);
    this.reactive!.ended(r, endMs, this.submitLater);
  }

  /** Submissions due by the schedule time enter admission, in time order (a release in progress sees them). */
  private admitDue(): void {
    const core = this.core;
    const now = core.timing.scheduleTimeMs();
    const later = this.later;
    while (later.length > 0 && later.peekTime() <= now) {
      const t = later.peekTime();
      const r = later.pop();
      core.table.submitMs[r] = t;
      core.admission.append(r);
    }
  }

  /**
   * A request finished or failed at the end of iteration `iter` (-1: the start of the run): under a
   * concurrency limit the next one is submitted then.
   */
  private onRequestEnded(r: number, iter: number): void {
    if (this.reactive && this.phase === PHASE_MEASURED && r < this.numMeasured) {
      // An end whose time is known (a failure on release, a batch processed in flight) is reported at once,
      // so what it submits can join this schedule, as under a concurrency limit; the ends of a commit wait
      // for the commit's time (feedReactive, before the next schedule), and keep their order.
      if (this.ended.length === 0 && iter < this.core.ledger.timed) {
        this.reportEnd(r, iter);
        this.admitDue();
      } else {
        this.ended.push(r, iter);
      }
      return;
    }
    const adm = this.core.admission;
    if (this.concurrency > 0 && adm.submitted < adm.order.length) {
      this.core.table.submitIter[adm.order[adm.submitted++]!] = iter;
    }
  }
}
