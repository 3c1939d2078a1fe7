import { type BatchPredictor, snapshotBatch } from "@servesim/core";
import type { EngineOptions, IterationStats, SimRequest, SimulationResult } from "@servesim/engine";
import { Simulation, type SimulationInit } from "@servesim/engine";

/** The worked examples' predictor (docs/engine.md): 10 ms if the batch has a context request, else 5 ms. */
export const constant10x5 = (): BatchPredictor & { predictDecodeRun(pastKv: ArrayLike<number>, count: number, steps: number): number[] } => ({
  description: "constant (prefill 10 ms, decode 5 ms)",
  predict: (batch) => (batch.numContext > 0 ? 10 : 5),
  predictDecodeRun: (_pastKv, _count, steps) => new Array<number>(steps).fill(5),
});

export function options(over: Partial<EngineOptions> = {}): EngineOptions {
  return {
    maxBatchSize: 8,
    maxNumTokens: 8192,
    maxSeqLen: 1 << 20,
    ppSize: 1,
    capacityPolicy: "guaranteed_no_evict",
    chunking: null,
    tokensPerBlock: 32,
    numBlocks: 100_000,
    enableBlockReuse: false,
    arrivals: { kind: "all_at_once" },
    ...over,
  };
}

export const req = (taskId: number, inputLength: number, outputTokens: number, inputIds?: number[]): SimRequest =>
  inputIds === undefined ? { taskId, inputLength, outputTokens } : { taskId, inputLength, outputTokens, inputIds };

export interface BatchLog {
  isContext: boolean[];
  inputLength: number[];
  pastKvLength: number[];
  numContextTokens: number;
}

export interface Traced {
  result: SimulationResult;
  batches: BatchLog[];
  iterations: IterationStats[];
}

/** Runs to the end, recording every batch and iteration record. */
export function trace(
  opts: EngineOptions,
  requests: SimRequest[],
  predictor: BatchPredictor = constant10x5(),
  init: Omit<SimulationInit, "onIteration"> = {},
): Traced {
  const iterations: IterationStats[] = [];
  const sim = new Simulation(opts, requests, { ...init, onIteration: (s) => iterations.push(s) });
  const batches: BatchLog[] = [];
  for (let b = sim.nextBatch(); b !== null; b = sim.nextBatch()) {
    batches.push(snapshotBatch(b));
    sim.commit(predictor.predict(b) as number);
  }
  return { result: sim.result(), batches, iterations };
}

/** Token times of a record as a plain array. */
export const times = (r: { tokenTimesMs: Float64Array }): number[] => Array.from(r.tokenTimesMs);
