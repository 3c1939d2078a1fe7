export {
  BlockKeyBuilder,
  blockKey,
  blockStateH1,
  blockStateH2,
  KeySlabs,
  mixTokenH1,
  mixTokenH2,
  type PromptBlocks,
  promptBlocks,
} from "./blockKeys.js";
export {
  AlreadyExistsError,
  CancelledError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  isStatusError,
  MAX_ERROR_MESSAGE,
  NotFoundError,
  PermissionDeniedError,
  quoteInput,
  ResourceExhaustedError,
  type StatusCodeName,
  StatusError,
  truncateText,
  UnauthenticatedError,
  UnavailableError,
} from "./errors.js";
export { paretoFrontier } from "./pareto.js";
export { PERCENTILE_KEYS, type PercentileStats, percentileStats, percentileStatsInPlace } from "./percentiles.js";
export { failedRequestRecord, type IterationStats, type RequestRecord, type SimRequest, type SimulationResult } from "./records.js";
export { correctlyRoundedLog } from "./rng/correctlyRoundedLog.js";
export { correctlyRoundedPow } from "./rng/correctlyRoundedPow.js";
export { MT19937 } from "./rng/mt19937.js";
export { NumpyLegacyRandom } from "./rng/numpyLegacy.js";
export { type BatchPredictor, makeBatch, type OpTime, type SimBatch, snapshotBatch } from "./simBatch.js";
export {
  checkPercentiles,
  checkSlos,
  DEFAULT_PERCENTILES,
  describeSlo,
  formatSlo,
  MAX_PERCENTILES,
  MAX_SLOS,
  parsePercentiles,
  parseSlo,
  parseSlos,
  percentileOfSorted,
  SLO_METRICS,
  type Slo,
  type SloMetric,
  statisticLabel,
} from "./slo.js";
export { startWorker, workerExecArgv, workerScriptUrl } from "./workerThread.js";
