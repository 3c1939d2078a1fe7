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
export { type JobOutcome, type RunJobOptions, runResolvedJob, toJobResult } from "./runJob.js";
export type { ReplaySettings, ValidationPredictor } from "./validation/replay.js";
export { parseSiliconCsv, type ReplayableRow, type SiliconRow, selectReplayableRows } from "./validation/silicon.js";
export { formatValidationTable, type ValidateOptions, type ValidationReport, type ValidationRow, validateAgainstSilicon } from "./validation/validate.js";
export { DEFAULT_WARMUP } from "./warmup.js";
export type { ResolvedWorkload } from "./workloadSpec.js";
