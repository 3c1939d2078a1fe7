import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { type BatchPredictor, CancelledError, FailedPreconditionError, type IterationStats, type SimBatch, type SimulationResult } from "@servesim/core";
import { Simulation } from "../simulation.js";
import type { SimulationProgress } from "../types.js";
import { mergeIterationStats, mergeResults, type Partition } from "./partition.js";

/** A partition's scheduler and what the driver knows of it. */
export interface PartitionState {
  partition: Partition;
  sim: Simulation | null;
  /** The batch scheduled and not yet run. */
  batch: SimBatch | null;
  /** The batch belongs to the measured run. */
  measured: boolean;
  done: boolean;
  /** Iteration records of the measured run not yet merged. */
  records: IterationStats[];
}

/** What one step of the driver committed. */
export interface StepOutcome {
  /** Iterations of the run this step adds (ADP: k lockstep iterations; PP: one per micro-batch). */
  iterations: number;
  /** The records to report for those iterations (merged over ranks, or one per micro-batch). */
  records: IterationStats[];
  /** End of the last committed iteration on the run's clock. */
  endMs: number;
  /** Counts by batch kind. */
  prefill: number;
  decode: number;
  mixed: number;
}

/**
 * How the batches of the partitions that have one become iteration times: attention-DP ranks run in
 * lockstep (one time for all), pipeline micro-batches flow through the stages.
 */
export interface PartitionTiming {
  step(states: PartitionState[], ready: number[], predictor: BatchPredictor, measured: boolean): StepOutcome | Promise<StepOutcome>;
  /** Before the partitions without a batch build their next one (attention-DP balancing). */
  beforeBuild?(states: PartitionState[]): void;
  /** The measured run starts: the clock restarts at 0. */
  reset(): void;
}

export interface PartitionedRunOptions {
  signal?: AbortSignal;
  onProgress?: (p: SimulationProgress) => void;
  progressEveryMs?: number;
  onIteration?: (s: IterationStats) => void;
}

export const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";

export function checkedTime(v: unknown, predictor: BatchPredictor): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new FailedPreconditionError(`predictor "${predictor.description}" returned ${String(v)} ms for a batch; batch times must be finite and > 0`);
  }
  return v;
}

function cancelled(signal: AbortSignal): CancelledError {
  const reason: unknown = signal.reason;
  const detail = reason instanceof Error ? reason.message : typeof reason === "string" ? reason : "";
  return new CancelledError(detail ? `simulation cancelled: ${detail}` : "simulation cancelled");
}

/**
 * Runs partitions (attention-DP ranks or pipeline micro-batch slots) together: each partition's scheduler
 * is TensorRT-LLM's loop (Simulation) on its own requests; the timing strategy turns their batches into
 * iteration times. Warm-up: the measured run starts when every partition has finished its warm-up (a
 * partition that gets there first waits with its first measured batch), as trtllm-bench runs the warm-up
 * requests to the end before the measured ones.
 */
export async function runPartitioned(
  parts: Partition[],
  total: number,
  predictor: BatchPredictor,
  timing: PartitionTiming,
  opts: PartitionedRunOptions = {},
): Promise<SimulationResult> {
  const { signal, onProgress, onIteration } = opts;
  const states: PartitionState[] = parts.map((partition) => {
    const s: PartitionState = { partition, sim: null, batch: null, measured: false, done: partition.requests.length === 0, records: [] };
    if (!s.done) {
      s.sim = new Simulation(partition.options, partition.requests, {
        ...(partition.warmup.length > 0 ? { warmup: partition.warmup } : {}),
        ...(onIteration ? { onIteration: (r: IterationStats) => s.records.push(r) } : {}),
      });
    }
    return s;
  });
  const counts = { all: 0, prefill: 0, decode: 0, mixed: 0 };
  let clock = 0;
  let measuredRun = false;
  let lastYield = performance.now();
  let lastProgress = lastYield;
  const progress = (): SimulationProgress => {
    let finished = 0;
    for (const s of states) if (s.sim && !s.sim.progress.warmingUp) finished += s.sim.progress.requestsFinished;
    return {
      iterations: measuredRun ? counts.all : 0,
      requestsFinished: measuredRun ? finished : 0,
      requestsTotal: total,
      simTimeMs: measuredRun ? clock : 0,
      warmingUp: !measuredRun,
    };
  };
  if (signal?.aborted) throw cancelled(signal);
  const ready: number[] = [];
  for (;;) {
    timing.beforeBuild?.(states);
    let anyWarm = false;
    for (const s of states) {
      if (s.done || s.batch !== null) {
        if (s.batch !== null && !s.measured) anyWarm = true;
        continue;
      }
      const b = s.sim!.nextBatch();
      if (b === null) {
        s.done = true;
        continue;
      }
      s.batch = b;
      s.measured = !s.sim!.progress.warmingUp;
      if (!s.measured) anyWarm = true;
    }
    ready.length = 0;
    for (let p = 0; p < states.length; p++) {
      const s = states[p]!;
      if (s.batch !== null && (!anyWarm || !s.measured)) ready.push(p);
    }
    if (ready.length === 0) break;
    if (!anyWarm && !measuredRun) {
      measuredRun = true;
      timing.reset();
    }
    const v = timing.step(states, ready, predictor, measuredRun);
    const out = isThenable(v) ? await v : v;
    if (signal?.aborted) throw cancelled(signal);
    for (const p of ready) states[p]!.batch = null;
    if (measuredRun) {
      counts.all += out.iterations;
      counts.prefill += out.prefill;
      counts.decode += out.decode;
      counts.mixed += out.mixed;
      clock = Math.max(clock, out.endMs);
      if (onIteration) for (const r of out.records) onIteration(r);
    }
    const now = performance.now();
    if (onProgress !== undefined && now - lastProgress >= (opts.progressEveryMs ?? 250)) {
      lastProgress = now;
      onProgress(progress());
    }
    if (now - lastYield >= 20) {
      await yieldToEventLoop();
      lastYield = performance.now();
      if (signal?.aborted) throw cancelled(signal);
    }
  }
  onProgress?.(progress());
  return mergeResults(
    states.map((s) => ({ partition: s.partition, result: s.sim ? s.sim.result() : null })),
    total,
    counts,
    clock,
  );
}

/** Takes the records the committed partitions produced for `k` iterations and merges them per iteration. */
export function takeMergedRecords(states: PartitionState[], ready: readonly number[], k: number, firstIter: number): IterationStats[] {
  const out: IterationStats[] = [];
  for (let j = 0; j < k; j++) {
    const recs: IterationStats[] = [];
    for (const p of ready) {
      const r = states[p]!.records[j];
      if (r) recs.push(r);
    }
    if (recs.length > 0) out.push(mergeIterationStats(recs, firstIter + j));
  }
  for (const p of ready) states[p]!.records.length = 0;
  return out;
}
