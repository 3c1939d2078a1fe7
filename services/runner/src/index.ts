export { startWorker } from "@servesim/core";
export { MAX_CLUSTER_INSTANCES, poolSpec, type ResolvedCluster, type ResolvedPool } from "./cluster/resolveCluster.js";
export { type ConnectPredictor, runResolvedClusterJob } from "./cluster/runCluster.js";
export { type EngineResolution, type KvSource, reuseBlockSize, type Source } from "./engineSpec.js";
export { DEFAULT_LIMITS, type RunnerLimits } from "./limits.js";
export { type PackedWorkload, packWorkload, unpackWorkload } from "./packedWorkload.js";
export type { PredictorKindName, ResolvedPredictor } from "./predictorSpec.js";
export {
  DEFAULT_MAX_IN_FLIGHT,
  PredictorChannels,
  RemotePredictor,
  type RemotePredictorOptions,
  type RemotePredictorStreamOptions,
  readStageTimes,
} from "./remotePredictor.js";
export { reportInput } from "./reportInput.js";
export {
  type ResolvedJob,
  type ResolvedReport,
  type ResolveOptions,
  resolveJob,
  resolveReportOptions,
  resolveSharedWorkload,
  sharedWorkloadKey,
} from "./resolveJob.js";
export { type JobOutcome, type RunJobOptions, runJob, runResolvedJob, toJobResult } from "./runJob.js";
export { resolveTiming, type TimingResolution } from "./timingSpec.js";
export {
  type AllRowsGroup,
  type AllRowsLoad,
  type AllRowsOptions,
  type AllRowsPredictor,
  type AllRowsReport,
  type AllRowsRow,
  formatAllRowsTable,
  validateAllRows,
} from "./validation/allRows.js";
export {
  AIC_GAP_ANALYSIS_EVERY_SLOT_METHOD,
  AIC_GAP_ANALYSIS_METHOD,
  BENCHMARK_METHODS,
  type BenchmarkMethod,
  type BenchmarkWorkload,
  benchmarkWorkload,
  INFERENCEX_METHOD,
  INFERENCEX_NO_WARMUP_METHOD,
  inferencexAdpBalance,
  inferencexServer,
  methodForRow,
  type ServerSettings,
} from "./validation/benchmarkMethod.js";
export { type Coverage, type CoverageLine, formatCoverage, siliconCoverage } from "./validation/coverage.js";
export {
  type DisaggRow,
  type DisaggValidationReport,
  type DisaggValidationRow,
  disaggJobSpec,
  disaggSkipReason,
  formatDisaggValidation,
  parseDisaggRows,
  validateDisaggregated,
} from "./validation/disagg.js";
export { type CandidateErrors, type FoldResult, inSample, kFold, leaveOneGroupOut, pickCandidate } from "./validation/folds.js";
export {
  fitRequestOverhead,
  formatOverheadFit,
  OVERHEAD_CANDIDATES_MS,
  type OverheadFit,
  type OverheadFitResult,
  type OverheadFitRow,
} from "./validation/overheadFit.js";
export {
  engineOptionsFor,
  predictorConfigFor,
  type ReplayResult,
  type ReplaySettings,
  type ReplayTiming,
  RowPredictors,
  replayRow,
  timingFor,
  type ValidationPredictor,
} from "./validation/replay.js";
export { notReplayableReason, parseSiliconCsv, type ReplayableRow, type SiliconRow, selectReplayableRows } from "./validation/silicon.js";
export { type SlotSignature, type SlotSignatures, slotSignatures, sourceFile } from "./validation/slotSignature.js";
export {
  FIT_CANDIDATES,
  type FitCandidate,
  type FitSummary,
  formatValidationTable,
  TARGETS,
  type ValidateOptions,
  type ValidationReport,
  type ValidationRow,
  validateAgainstSilicon,
} from "./validation/validate.js";
export { DEFAULT_WARMUP } from "./warmup.js";
export type { ResolvedWorkload } from "./workloadSpec.js";
