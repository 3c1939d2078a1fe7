export { resolveJob, type ResolvedJob, type ResolveOptions } from "./resolveJob.js";
export { runResolvedJob, toJobResult, type JobOutcome, type RunJobOptions } from "./runJob.js";
export { DEFAULT_LIMITS, type RunnerLimits } from "./limits.js";
export { reportInput } from "./reportInput.js";
export type { ResolvedPredictor, PredictorKindName } from "./predictorSpec.js";
export type { EngineResolution, KvSource, Source } from "./engineSpec.js";
export { DEFAULT_WARMUP } from "./warmup.js";
