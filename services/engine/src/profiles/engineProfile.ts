import type { TimingProfile } from "../timing/profile.js";

/**
 * A serving engine servesim can replay: which mechanisms it has and its defaults. The profile decides
 * what EngineOptions may ask for (a policy the engine does not have is an invalid argument) and fills
 * in what they leave out. One file per profile, registered in profiles/registry.ts.
 */
export interface EngineProfile {
  readonly name: string;
  readonly description: string;
  /** Capacity policies (capacity/ registry names) the engine implements. */
  readonly capacityPolicies: readonly string[];
  /** Timing strategies (timing/ registry names) that model the engine's loop. */
  readonly timingStrategies: readonly string[];
  /** The strategy used when EngineSettings name none (the engine library's default). */
  readonly defaultTiming: string;
  /**
   * Host/device timing defaults of the engine (its default loop on a simulated GPU, CUDA-graph sizes, host
   * costs per GPU family), which a job's timing model starts from (runner/timingSpec.ts).
   */
  readonly timing: TimingProfile;
  /** The waiting-queue order (queue/ registry name) used when EngineOptions name none. */
  readonly defaultQueueOrder: string;
  readonly queueOrders: readonly string[];
  /** Context-chunking policies the engine implements (EngineOptions.chunking). */
  readonly chunkingPolicies: readonly string[];
}
