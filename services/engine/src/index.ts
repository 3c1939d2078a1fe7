export * from "@servesim/core";
export type { ArrivalPlan, ArrivalProcessDef } from "./arrivals/arrivalProcess.js";
export type { ReactiveArrivals, Submit } from "./arrivals/reactive.js";
export { ARRIVAL_KINDS, ARRIVAL_PROCESSES, arrivalProcess, planArrivals, validateArrivals } from "./arrivals/registry.js";
export type { ScheduleArrivals } from "./arrivals/schedules.js";
export type { SessionTurns } from "./arrivals/sessionLoop.js";
export { type RampUp, type VllmRateSpec, vllmArrivalTimesMs } from "./arrivals/vllmSchedule.js";
export { AttentionDpLoop, createAttentionDpLoop } from "./attentionDp/attentionDpLoop.js";
export { ADP_BALANCE_DEFAULTS, AdpBalance, type AdpBalanceSettings, type RankCounts } from "./attentionDp/balance.js";
export { type RankLoad, routeToRanks } from "./attentionDp/router.js";
export { type AttentionDpRunOptions, runAttentionDp } from "./attentionDp/run.js";
export type { BatchWaitSettings } from "./batchWaiting.js";
export type { CapacityPolicyDef } from "./capacity/capacityPolicy.js";
export { CAPACITY_POLICIES, CAPACITY_POLICY_NAMES, capacityPolicy, capacityPolicyByTrtllmName, DEFAULT_CAPACITY_POLICY } from "./capacity/registry.js";
export { choiceList } from "./choices.js";
export type { ChunkingPolicyDef } from "./chunking/chunkingPolicy.js";
export { CHUNKING_POLICIES, CHUNKING_POLICY_NAMES, chunkingPolicy, chunkingPolicyByTrtllmName } from "./chunking/registry.js";
export { describeFrontEnd, FrontEndServer, type FrontEndSettings, frontEndRequestMs } from "./frontEnd.js";
export type { EngineLoop, FirstTokenEvent, LoopEvents, LoopLoad, RequestDoneEvent, SubmitOptions } from "./loop/engineLoop.js";
export { priceOn } from "./loop/engineLoop.js";
export { createEngineLoop, type EngineLoopOptions, SingleEngineLoop } from "./loop/singleEngineLoop.js";
export { createPipelineLoop, PipelineLoop, type PipelineLoopOptions } from "./pipeline/pipelineLoop.js";
export { type PipelineRunOptions, runPipeline } from "./pipeline/run.js";
export { StageSplit } from "./pipeline/stageSplit.js";
export type { EngineProfile } from "./profiles/engineProfile.js";
export { DEFAULT_ENGINE_PROFILE, ENGINE_PROFILE_NAMES, ENGINE_PROFILES, engineProfile } from "./profiles/registry.js";
export type { QueueOrderDef, WaitingQueue } from "./queue/queueOrder.js";
export { DEFAULT_QUEUE_ORDER, QUEUE_ORDER_NAMES, QUEUE_ORDERS, queueOrder } from "./queue/registry.js";
export { SeededRandom } from "./random.js";
export { type RunOptions, runSimulation, runSimulationSync, type SteppedRun } from "./run.js";
export { Simulation, type SimulationInit } from "./simulation.js";
export { AcceptanceSampler, type AcceptanceSpec, acceptanceRates, MAX_DRAFT_LEN, meanAcceptedOf, ratesFromMean } from "./speculative/acceptance.js";
export { DraftTokensPredictor } from "./speculative/draftTokens.js";
export {
  type CudaGraphSettings,
  checkCudaGraphSettings,
  DEFAULT_CUDA_GRAPH_MAX_BATCH_SIZE,
  defaultCudaGraphBatchSizes,
  graphBatchSize,
  TRTLLM_DEFAULT_CUDA_GRAPHS,
} from "./timing/cudaGraph.js";
export { checkHostCost, eagerLaunchMs, type HostCostParams, hostTimeMs, ZERO_HOST_COST } from "./timing/hostCost.js";
export { describeTiming, TIMING_MODEL_NAMES, type TimingModelName, type TimingSettings, withHostDeviceTiming } from "./timing/hostDeviceTiming.js";
export { hostCostFor, type TimingProfile, TRTLLM_PYTORCH_TIMING } from "./timing/profile.js";
export { TIMING_STRATEGIES, TIMING_STRATEGY_NAMES, timingStrategy } from "./timing/registry.js";
export type { TimingDef, TimingHost, TimingStrategy } from "./timing/timingStrategy.js";
export * from "./types.js";
export { validateSettings } from "./validation.js";
