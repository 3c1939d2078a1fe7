/** Engine-facing configuration, inputs and outputs. All times are simulated milliseconds (float64). */

export type CapacityPolicy = "guaranteed_no_evict" | "max_utilization" | "static_batch";
export type ChunkingPolicy = "first_come_first_served" | "equal_progress";

export type Arrivals =
  /** Every request submitted at t = 0 (trtllm-bench's default). */
  | { kind: "all_at_once" }
  /** At most `concurrency` in flight; the next request starts when one ends (start = admission). */
  | { kind: "concurrency"; concurrency: number }
  /** Poisson arrivals at `rate` requests per second, seeded. */
  | { kind: "poisson"; rate: number; seed: number }
  /** Explicit submit times (ms), one per request, e.g. from a trace. */
  | { kind: "trace"; submitMs: ArrayLike<number> };

/** Fully resolved engine settings (no heuristics here: callers resolve them first). */
export interface EngineOptions {
  maxBatchSize: number;
  maxNumTokens: number;
  /** Used as max_input_len by pause (trtllm-scheduling.md §5.3). */
  maxSeqLen: number;
  ppSize: number;
  capacityPolicy: CapacityPolicy;
  /** null = chunked context disabled. */
  chunking: ChunkingPolicy | null;
  tokensPerBlock: number;
  /** Size of the KV pool in blocks (per GPU rank). */
  numBlocks: number;
  enableBlockReuse: boolean;
  arrivals: Arrivals;
  /**
   * Simulate TensorRT-LLM's overlap scheduler (`disable_overlap_scheduler: false`, trtllm-scheduling.md §10)
   * instead of the non-overlap loop. Default false.
   */
  overlap?: boolean;
}

export type { IterationStats, RequestRecord, SimRequest, SimulationResult } from "@servesim/core";

/** Where a run stands (Simulation.progress). */
export interface SimulationProgress {
  iterations: number;
  requestsFinished: number;
  requestsTotal: number;
  simTimeMs: number;
  /** True while the warm-up requests are being simulated (the other fields then stay 0). */
  warmingUp: boolean;
}
