import type { SimBatch } from "@servesim/core";
import { FailedPreconditionError, InvalidArgumentError } from "@servesim/core";
import { toEngineConfig } from "../engineConfig.js";
import type { EngineSettings, IterationStats, SimRequest } from "../types.js";
import { validateSettings } from "../validation.js";
import { EngineCore } from "./engineCore.js";
import { checkSubmit, type EngineLoop, type FirstTokenEvent, type LoopEvents, type LoopLoad, type RequestDoneEvent, type SubmitOptions } from "./engineLoop.js";
import { iterationRecord } from "./results.js";

export interface EngineLoopOptions extends EngineSettings {
  /** Build an IterationStats record for every commit (LoopEvents.iteration). Default false. */
  iterationStats?: boolean;
}

const NO_TIMES = new Float64Array(0);

/**
 * One engine instance (EngineCore) behind the EngineLoop interface: the caller owns the clock and
 * supplies every iteration's time at commit(), so iterations are timed at once (no deferred times and
 * no decode-run skipping: a shared clock needs every iteration's end).
 */
export class SingleEngineLoop implements EngineLoop {
  private readonly core: EngineCore;
  private readonly tokensPerBlock: number;
  private lastSubmitMs = 0;
  /** Requests that ended since the last commit() or takeEnded(), in order, each followed by its iteration. */
  private ended: number[] = [];
  private readonly firstTokenRequests: number[] = [];
  private record: IterationStats | null = null;
  private readonly iterationStats: boolean;
  private readonly events: LoopEvents = { startMs: 0, endMs: 0, firstTokens: [], done: [], iteration: null };

  constructor(options: EngineLoopOptions) {
    validateSettings(options);
    if (options.iterationStats !== undefined && typeof options.iterationStats !== "boolean") {
      throw new InvalidArgumentError("options.iterationStats", `must be a boolean (got ${String(options.iterationStats)})`);
    }
    const cfg = toEngineConfig(options);
    this.tokensPerBlock = cfg.tokensPerBlock;
    const core = new EngineCore(cfg, { requests: [], countBelow: Infinity, mayTrackLater: true, queueCapacity: 16 });
    this.core = core;
    this.iterationStats = options.iterationStats === true;
    core.onEnded = (r, iter) => {
      this.ended.push(r, iter);
    };
    core.onFirstToken = (r) => {
      this.firstTokenRequests.push(r);
    };
    if (options.iterationStats === true) {
      core.onCommitted = (iter, completed) => {
        this.record = iterationRecord(core, iter, completed);
      };
    }
  }

  submit(req: SimRequest, tMs: number, opts?: SubmitOptions): number {
    const kvReady = checkSubmit(req, tMs, this.lastSubmitMs, this.tokensPerBlock, opts);
    const core = this.core;
    const t = core.table;
    const r = t.add(req, core.cfg.reuse);
    core.kv.tableGrew();
    if (kvReady) {
      // Its blocks arrive by transfer: they are not matched against (nor stored into) this pool's prefix cache.
      t.tracked[r] = 0;
      t.tokenBase[r] = 1;
      t.emitted[r] = 1;
      t.genSincePrompt[r] = 1;
    }
    t.submitMs[r] = tMs;
    core.admission.append(r);
    this.lastSubmitMs = tMs;
    return r;
  }

  nextEventTime(): number {
    const core = this.core;
    const adm = core.admission;
    const clock = core.ledger.clock;
    if (adm.activeCount > 0 || adm.queue.size > 0 || core.timing.inFlight()) return clock;
    const next = adm.nextSubmitTime();
    return Math.max(next, clock);
  }

  schedule(tMs: number): SimBatch | null {
    const core = this.core;
    if (core.pending) throw new Error("schedule() called again before commit() of the scheduled iteration");
    if (typeof tMs !== "number" || Number.isNaN(tMs) || tMs < core.ledger.clock) {
      throw new Error(`schedule(${String(tMs)}): the iteration cannot start before the loop's clock (${core.ledger.clock} ms)`);
    }
    // The engine waited (idle, or held back by the caller) until tMs.
    if (tMs !== Infinity) core.ledger.clock = tMs;
    return core.build();
  }

  /**
   * What schedule(tMs) would schedule (EngineCore.scheduledCounts), for attention-DP balancing; call only
   * when nextEventTime() <= tMs.
   */
  scheduledCounts(tMs: number): { context: number; generation: number } {
    const core = this.core;
    if (core.pending) throw new Error("scheduledCounts() called before commit() of the scheduled iteration");
    if (!(tMs >= core.ledger.clock)) throw new Error(`scheduledCounts(${String(tMs)}): before the loop's clock (${core.ledger.clock} ms)`);
    if (tMs !== Infinity) core.ledger.clock = tMs;
    return core.scheduledCounts();
  }

  /** The next schedule() runs its generation requests without its context requests (attention-DP balancing). */
  holdContexts(): void {
    this.core.holdContexts = true;
  }

  commit(iterMs: number): LoopEvents {
    const core = this.core;
    if (!core.pending) throw new Error("commit() called without an iteration from schedule()");
    if (typeof iterMs !== "number" || !Number.isFinite(iterMs) || iterMs <= 0) {
      throw new FailedPreconditionError(
        `the predictor returned ${String(iterMs)} ms for iteration ${core.ledger.iterations}; a batch time must be finite and > 0`,
      );
    }
    core.commitSteps(1);
    const ledger = core.ledger;
    ledger.supply(iterMs);
    const events = this.events;
    events.startMs = ledger.lastStartMs;
    events.endMs = ledger.clock;
    const firstTokens: FirstTokenEvent[] = [];
    for (const r of this.firstTokenRequests) firstTokens.push({ handle: r, timeMs: ledger.clock });
    this.firstTokenRequests.length = 0;
    events.firstTokens = firstTokens;
    events.done = this.takeEnded();
    const rec = this.record;
    if (rec !== null) {
      rec.iterLatencyMS = iterMs;
      rec.simTimeMs = ledger.clock;
      this.record = null;
    }
    events.iteration = rec;
    return events;
  }

  /**
   * After schedule(): the iterations, this one included, that form a decode run (the same generation requests,
   * every KV length + 1 per iteration) if nothing is submitted meanwhile (EngineCore.decodeRunLength); 1 without
   * one, and with iteration records on (a run has no per-iteration record). At most `maxSteps`.
   */
  decodeRunLength(maxSteps: number): number {
    const core = this.core;
    if (!core.pending) throw new Error("decodeRunLength() needs an iteration from schedule()");
    return this.iterationStats ? 1 : core.decodeRunLength(maxSteps);
  }

  /**
   * Completes the first `steps` iterations (≤ decodeRunLength()) of the decode run that starts with the scheduled
   * iteration, iteration i starting at `startMs[i]` (the first at the schedule() time) and taking `iterMs[i]`:
   * the same state, times and events as schedule(startMs[i]) and commit(iterMs[i]) for each in turn. Nothing may
   * be submitted meanwhile. The events are those of the last iteration (no first tokens in a decode run).
   */
  commitRun(startMs: ArrayLike<number>, iterMs: ArrayLike<number>, steps: number): LoopEvents {
    const core = this.core;
    if (!core.pending) throw new Error("commitRun() called without an iteration from schedule()");
    const k = this.decodeRunLength(0x7fffffff);
    if (!Number.isInteger(steps) || steps < 1 || steps > k) throw new Error(`commitRun(): ${String(steps)} iterations, but this decode run has ${k}`);
    for (let i = 0; i < steps; i++) {
      const dt = iterMs[i]!;
      if (typeof dt !== "number" || !Number.isFinite(dt) || dt <= 0) {
        throw new FailedPreconditionError(
          `the predictor returned ${String(dt)} ms for iteration ${core.ledger.iterations + i}; a batch time must be finite and > 0`,
        );
      }
    }
    core.commitSteps(steps);
    const ledger = core.ledger;
    for (let i = 0; i < steps; i++) {
      ledger.clock = startMs[i]!;
      ledger.supply(iterMs[i]!);
    }
    const events = this.events;
    events.startMs = ledger.lastStartMs;
    events.endMs = ledger.clock;
    events.firstTokens = [];
    events.done = this.takeEnded();
    events.iteration = null;
    return events;
  }

  takeEnded(): RequestDoneEvent[] {
    const ended = this.ended;
    if (ended.length === 0) return [];
    this.ended = [];
    const t = this.core.table;
    const iterEnd = this.core.ledger.iterEnd;
    const done: RequestDoneEvent[] = [];
    for (let i = 0; i < ended.length; i += 2) {
      const r = ended[i]!;
      const iter = ended[i + 1]!;
      const error = t.errors.get(r);
      const submitMs = t.submitMs[r]!;
      const atIter = iter >= 0 ? iterEnd[iter]! : 0;
      const e: RequestDoneEvent = {
        handle: r,
        request: t.requests[r]!,
        submitMs,
        // A request failing on release may have arrived while the engine idled after that iteration.
        endMs: Math.max(atIter, submitMs),
        tokenTimesMs: error === undefined ? t.localTokenTimes(r, iterEnd) : NO_TIMES,
        pausedCount: t.pausedCount[r]!,
        reusedTokens: t.reusedTokens[r]!,
      };
      if (error !== undefined) e.error = error;
      done.push(e);
    }
    return done;
  }

  load(): LoopLoad {
    const core = this.core;
    const adm = core.admission;
    const pool = core.kv.pool;
    return {
      queued: adm.submitted - adm.released + adm.queue.size,
      active: adm.activeCount,
      kvUsedBlocks: pool.usedBlocks,
      kvTotalBlocks: pool.numBlocks,
    };
  }
}

/** A single-engine EngineLoop for `options` (validated: InvalidArgumentError naming the field). */
export function createEngineLoop(options: EngineLoopOptions): SingleEngineLoop {
  return new SingleEngineLoop(options);
}
