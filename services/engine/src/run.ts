import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { BatchPredictor, SimBatch } from "@servesim/core";
import { CancelledError, FailedPreconditionError } from "@servesim/core";
import type { SimulationProgress, SimulationResult } from "./types.js";

/**
 * What the drivers need from a run: Simulation implements it. Batches come from nextBatch(); a decode run
 * or a batch is committed with its time(s), or (while timesNeeded is false) without, the times following
 * in order through supplyTimes().
 */
export interface SteppedRun {
  readonly timesNeeded: boolean;
  readonly progress: SimulationProgress;
  nextBatch(): SimBatch | null;
  decodeRunLength(maxSteps?: number): number;
  commit(dtMs: number): void;
  commitDeferred(): void;
  commitDecodeRun(times: ArrayLike<number>, steps: number): number;
  commitDecodeRunDeferred(steps: number): void;
  supplyTimes(times: ArrayLike<number>, offset: number, count: number): void;
  result(): SimulationResult;
}

export interface RunOptions {
  /** Aborting throws a CancelledError at the next iteration boundary. */
  signal?: AbortSignal;
  onProgress?: (p: SimulationProgress) => void;
  /** Wall-clock interval between onProgress calls (default 250 ms); a final call is always made. */
  progressEveryMs?: number;
  /** Wall-clock budget of synchronous work before yielding to the event loop (default 20 ms). */
  yieldEveryMs?: number;
  /**
   * Price each decode run with one predictDecodeRun() call when the predictor has that method
   * (default true). false prices every iteration with predict() (the plain path; same results).
   */
  decodeRuns?: boolean;
  /**
   * Predictions outstanding at once while the batch sequence does not depend on the clock (default: the
   * predictor's maxInFlight, else 1). Only asynchronous predictors benefit.
   */
  maxInFlight?: number;
}

export interface SyncRunOptions {
  /** As RunOptions.decodeRuns. */
  decodeRuns?: boolean;
}

type Prediction = number | number[] | Float64Array;

const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";

const noop = (): void => undefined;

function checkedTime(v: unknown, predictor: BatchPredictor): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new FailedPreconditionError(`predictor "${predictor.description}" returned ${String(v)} ms for a batch; batch times must be finite and > 0`);
  }
  return v;
}

function checkedTimes(v: unknown, steps: number, predictor: BatchPredictor): ArrayLike<number> {
  const times = v as ArrayLike<number> | null;
  if (times === null || typeof times !== "object" || times.length !== steps) {
    const got = times !== null && typeof times === "object" && typeof times.length === "number" ? `${times.length} times` : String(v);
    throw new FailedPreconditionError(`predictor "${predictor.description}" returned ${got} for a decode run of ${steps} iterations`);
  }
  for (let i = 0; i < steps; i++) {
    const t = times[i];
    if (typeof t !== "number" || !Number.isFinite(t) || t <= 0) {
      throw new FailedPreconditionError(
        `predictor "${predictor.description}" returned ${String(t)} ms for step ${i} of a decode run; batch times must be finite and > 0`,
      );
    }
  }
  return times;
}

function cancelled(signal: AbortSignal): CancelledError {
  const reason: unknown = signal.reason;
  const detail = reason instanceof Error ? reason.message : typeof reason === "string" ? reason : "";
  return new CancelledError(detail ? `simulation cancelled: ${detail}` : "simulation cancelled");
}

const usesDecodeRuns = (predictor: BatchPredictor, opt: boolean | undefined): boolean => opt !== false && typeof predictor.predictDecodeRun === "function";

/** A prediction whose time is not yet given to the simulation: one batch (steps 0) or a decode run. */
interface Flight {
  value: Prediction | Promise<Prediction>;
  steps: number;
}

/**
 * Runs a simulation to the end with a predictor that may be synchronous or asynchronous. Synchronous
 * stretches yield to the event loop every `yieldEveryMs` of wall time so a server stays responsive.
 *
 * Decode runs are priced with one predictDecodeRun() call. With an asynchronous predictor and a batch
 * sequence that does not depend on the clock (requests all at t = 0, or a concurrency limit), up to
 * `maxInFlight` predictions are outstanding while the engine builds the next batches; with arrivals in
 * time every prediction is awaited before the next batch (ping-pong). All paths give the same results.
 */
export async function runSimulation(sim: SteppedRun, predictor: BatchPredictor, opts: RunOptions = {}): Promise<SimulationResult> {
  const { signal, onProgress } = opts;
  const yieldEvery = opts.yieldEveryMs ?? 20;
  const progressEvery = opts.progressEveryMs ?? 250;
  const runs = usesDecodeRuns(predictor, opts.decodeRuns);
  const window = Math.max(1, Math.floor(opts.maxInFlight ?? predictor.maxInFlight ?? 1));
  const one = new Float64Array(1);
  const flights: Flight[] = [];
  let head = 0;
  let lastYield = performance.now();
  let lastProgress = lastYield;
  let sinceCheck = 0;

  /** Waits for the oldest outstanding prediction and hands its time(s) to the simulation. */
  const settleOldest = async (): Promise<void> => {
    const f = flights[head]!;
    flights[head++] = undefined as unknown as Flight;
    if (head === flights.length) {
      flights.length = 0;
      head = 0;
    }
    let v: unknown = f.value;
    if (isThenable(v)) {
      v = await v;
      if (signal?.aborted) throw cancelled(signal);
      lastYield = performance.now();
    }
    if (f.steps === 0) {
      one[0] = checkedTime(v, predictor);
      sim.supplyTimes(one, 0, 1);
    } else {
      sim.supplyTimes(checkedTimes(v, f.steps, predictor), 0, f.steps);
    }
  };
  const defer = (value: Prediction | PromiseLike<Prediction>, steps: number): void => {
    let held: Prediction | Promise<Prediction>;
    if (isThenable(value)) {
      const p = Promise.resolve(value);
      p.catch(noop); // awaited in order later; a failure behind an earlier one must not go unhandled
      held = p;
    } else {
      held = value;
    }
    flights.push({ value: held, steps });
  };

  if (signal?.aborted) throw cancelled(signal);
  for (;;) {
    const batch = sim.nextBatch();
    if (batch === null) break;
    // Arrivals in time (the measured run after a pipelined warm-up): every earlier time first.
    if (head < flights.length && sim.timesNeeded) {
      while (head < flights.length) await settleOldest();
    }
    const idle = head === flights.length;
    const k = runs && batch.numContext === 0 ? sim.decodeRunLength() : 1;
    if (k > 1) {
      const v = predictor.predictDecodeRun!(batch.pastKvLength, batch.numGeneration, k);
      if (idle && !isThenable(v)) {
        sim.commitDecodeRun(checkedTimes(v, k, predictor), k);
      } else if (!sim.timesNeeded) {
        sim.commitDecodeRunDeferred(k);
        defer(v, k);
      } else {
        const times = checkedTimes(await v, k, predictor);
        if (signal?.aborted) throw cancelled(signal);
        sim.commitDecodeRun(times, k);
        lastYield = performance.now();
      }
    } else {
      const v = predictor.predict(batch);
      if (idle && !isThenable(v)) {
        sim.commit(checkedTime(v, predictor));
      } else if (!sim.timesNeeded) {
        sim.commitDeferred();
        defer(v, 0);
      } else {
        const dt = checkedTime(await v, predictor);
        if (signal?.aborted) throw cancelled(signal);
        sim.commit(dt);
        lastYield = performance.now();
      }
    }
    while (flights.length - head >= window) await settleOldest();
    if (signal?.aborted) throw cancelled(signal);
    if (++sinceCheck >= 16 || k > 1) {
      sinceCheck = 0;
      const now = performance.now();
      if (onProgress !== undefined && now - lastProgress >= progressEvery) {
        lastProgress = now;
        onProgress(sim.progress);
      }
      if (now - lastYield >= yieldEvery) {
        await yieldToEventLoop();
        lastYield = performance.now();
        if (signal?.aborted) throw cancelled(signal);
      }
    }
  }
  while (head < flights.length) await settleOldest();
  onProgress?.(sim.progress);
  return sim.result();
}

/** Runs a simulation with a synchronous predictor; throws if the predictor returns a Promise. */
export function runSimulationSync(sim: SteppedRun, predictor: BatchPredictor, opts: SyncRunOptions = {}): SimulationResult {
  const runs = usesDecodeRuns(predictor, opts.decodeRuns);
  const asyncError = () => new FailedPreconditionError(`predictor "${predictor.description}" is asynchronous; use runSimulation instead of runSimulationSync`);
  for (;;) {
    const batch = sim.nextBatch();
    if (batch === null) break;
    if (runs && batch.numContext === 0) {
      const k = sim.decodeRunLength();
      if (k > 1) {
        const v = predictor.predictDecodeRun!(batch.pastKvLength, batch.numGeneration, k);
        if (isThenable(v)) throw asyncError();
        sim.commitDecodeRun(checkedTimes(v, k, predictor), k);
        continue;
      }
    }
    const v = predictor.predict(batch);
    if (isThenable(v)) throw asyncError();
    sim.commit(checkedTime(v, predictor));
  }
  return sim.result();
}
