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
  /** The strategy used when EngineOptions name none. */
  readonly defaultTiming: string;
  /** The waiting-queue order (queue/ registry name) used when EngineOptions name none. */
  readonly defaultQueueOrder: string;
  readonly queueOrders: readonly string[];
  /** Context-chunking policies the engine implements (EngineOptions.chunking). */
  readonly chunkingPolicies: readonly string[];
}
