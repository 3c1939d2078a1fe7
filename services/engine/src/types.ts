/** Engine-facing configuration, inputs and outputs. All times are simulated milliseconds (float64). */

export type { Arrivals } from "./arrivals/registry.js";
export type { CapacityPolicy } from "./capacity/registry.js";
export type { ChunkingPolicy } from "./chunking/registry.js";

import type { Arrivals } from "./arrivals/registry.js";
import type { AdpBalanceSettings } from "./attentionDp/balance.js";
import type { BatchWaitSettings } from "./batchWaiting.js";
import type { CapacityPolicy } from "./capacity/registry.js";
import type { ChunkingPolicy } from "./chunking/registry.js";
import type { FrontEndSettings } from "./frontEnd.js";

/** Settings of one engine instance (no heuristics here: callers resolve them first). */
export interface EngineSettings {
  maxBatchSize: number;
  maxNumTokens: number;
  /** The attention window and max_input_len for a pause (TensorRT-LLM's max_seq_len). */
  maxSeqLen: number;
  ppSize: number;
  /** A name from the capacity/ registry. */
  capacityPolicy: CapacityPolicy;
  /** A name from the chunking/ registry; null = chunked context disabled. */
  chunking: ChunkingPolicy | null;
  tokensPerBlock: number;
  /** Size of the KV pool in blocks (per GPU rank). */
  numBlocks: number;
  enableBlockReuse: boolean;
  /**
   * Simulate TensorRT-LLM's overlap scheduler (`disable_overlap_scheduler: false`) instead of the
   * non-overlap loop: shorthand for `timing: "overlap"`. Default false.
   */
  overlap?: boolean;
  /** A timing strategy from the timing/ registry (default: the profile's, "non_overlap"). */
  timing?: string;
  /** The serving-engine profile from the profiles/ registry (default "trtllm_pyexecutor"). */
  profile?: string;
  /** The waiting-queue order from the queue/ registry (default: the profile's, "fcfs"). */
  queueOrder?: string;
  /**
   * Attention data parallelism (`enable_attention_dp`): this many ranks each schedule their own batch of
   * up to maxBatchSize requests with their own KV pool of numBlocks blocks; an iteration lasts as long as
   * the batch of every rank priced together. Unset or 1: one scheduler.
   */
  attentionDpRanks?: number;
  /**
   * Attention-DP context balancing (`attention_dp_config.enable_balance` with its `timeout_iters` and
   * `batching_wait_iters`; attentionDp/balance.ts). Unset: off (TensorRT-LLM's default).
   */
  attentionDpBalance?: AdpBalanceSettings;
  /** Speculative decoding (MTP, Eagle3): draft tokens per step and the acceptance model. Unset: none. */
  speculative?: SpeculativeOptions;
  /**
   * Context batch waiting (`batch_wait_timeout_iters`, `batch_wait_max_tokens_ratio`; batchWaiting.ts).
   * Default off (TensorRT-LLM's defaults are 0 and 0).
   */
  batchWait?: BatchWaitSettings;
  /**
   * The serving front end (trtllm-serve's event loop: tokenization and per-token stream post-processing,
   * frontEnd.ts) every measured request passes before the engine. Unset or all zero: none (trtllm-bench
   * feeds the executor directly). Single-engine runs only.
   */
  frontEnd?: FrontEndSettings;
}

/** Fully resolved settings of a whole run: the engine's and how requests arrive. */
export interface EngineOptions extends EngineSettings {
  arrivals: Arrivals;
}

/** Speculative decoding as the engine runs it. */
export interface SpeculativeOptions {
  kind: "mtp" | "eagle3";
  /** Draft tokens proposed per generation step. */
  maxDraftLen: number;
  /** P(draft i accepted | drafts 1..i-1 accepted), one per position. */
  acceptanceRates: readonly number[];
  /** Seed of the acceptance draws. */
  seed: number;
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
