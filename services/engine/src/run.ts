import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { CancelledError, FailedPreconditionError } from "../../common/src/errors.js";
import type { BatchPredictor } from "./simBatch.js";
import type { Simulation } from "./simulation.js";
import type { SimulationProgress, SimulationResult } from "./types.js";

export interface RunOptions {
  /** Aborting throws a CancelledError at the next iteration boundary. */
  signal?: AbortSignal;
  onProgress?: (p: SimulationProgress) => void;
  /** Wall-clock interval between onProgress calls (default 250 ms); a final call is always made. */
  progressEveryMs?: number;
  /** Wall-clock budget of synchronous work before yielding to the event loop (default 20 ms). */
  yieldEveryMs?: number;
}

const isThenable = (v: unknown): v is PromiseLike<number> =>
  typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";

function checkedTime(v: unknown, predictor: BatchPredictor): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new FailedPreconditionError(
      `predictor "${predictor.description}" returned ${String(v)} ms for a batch; batch times must be finite and > 0`,
    );
  }
  return v;
}

function cancelled(signal: AbortSignal): CancelledError {
  const reason: unknown = signal.reason;
  const detail = reason instanceof Error ? reason.message : typeof reason === "string" ? reason : "";
  return new CancelledError(detail ? `simulation cancelled: ${detail}` : "simulation cancelled");
}

/**
 * Runs a simulation to the end with a predictor that may be synchronous or asynchronous. Synchronous
 * stretches yield to the event loop every `yieldEveryMs` of wall time so a server stays responsive.
 */
export async function runSimulation(sim: Simulation, predictor: BatchPredictor, opts: RunOptions = {}): Promise<SimulationResult> {
  const { signal, onProgress } = opts;
  const yieldEvery = opts.yieldEveryMs ?? 20;
  const progressEvery = opts.progressEveryMs ?? 250;
  let lastYield = performance.now();
  let lastProgress = lastYield;
  let sinceCheck = 0;
  if (signal?.aborted) throw cancelled(signal);
  for (;;) {
    const batch = sim.nextBatch();
    if (batch === null) break;
    const v = predictor.predict(batch);
    if (typeof v === "number") {
      sim.commit(checkedTime(v, predictor));
    } else if (isThenable(v)) {
      const dt = await v;
      if (signal?.aborted) throw cancelled(signal);
      sim.commit(checkedTime(dt, predictor));
      lastYield = performance.now();
    } else {
      sim.commit(checkedTime(v, predictor));
    }
    if (signal?.aborted) throw cancelled(signal);
    if (++sinceCheck >= 16) {
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
  onProgress?.(sim.progress);
  return sim.result();
}

/** Runs a simulation with a synchronous predictor; throws if the predictor returns a Promise. */
export function runSimulationSync(sim: Simulation, predictor: BatchPredictor): SimulationResult {
  for (;;) {
    const batch = sim.nextBatch();
    if (batch === null) break;
    const v = predictor.predict(batch);
    if (isThenable(v)) {
      throw new FailedPreconditionError(
        `predictor "${predictor.description}" is asynchronous; use runSimulation instead of runSimulationSync`,
      );
    }
    sim.commit(checkedTime(v, predictor));
  }
  return sim.result();
}
