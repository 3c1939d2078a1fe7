export { PERCENTILE_KEYS, type PercentileStats, percentileStats } from "@servesim/core";
export {
  computeGoodput,
  type GoodputMetrics,
  type LatencyPercentiles,
  maxInterTokenGaps,
  type RequestColumns,
  type SloOutcome,
} from "./goodput.js";
export { interTokenGapDistribution, interTokenGapStats } from "./interTokenGaps.js";
export {
  type IterationLogFormat,
  type IterationLogStats,
  iterationLogLine,
  simTimestamp,
} from "./iterationLog.js";
export {
  computeMetrics,
  type FailureSummary,
  type MetricsOptions,
  type RequestMetrics,
  type RunMetrics,
  requestMetrics,
} from "./metrics.js";
export { formatExp, formatFixed, pyFloatRepr } from "./pyFormat.js";
export { countIterationKinds, DEFAULT_EMULATED_VERSION, type ReportInput, worldSize } from "./reportInput.js";
export { buildReportJson, datasetJson, goodputJson, renderReportJson } from "./reportJson.js";
export { type RequestJsonOptions, requestJsonLine, requestJsonObject } from "./requestJson.js";
export {
  backendSection,
  datasetCell,
  datasetSection,
  latencySection,
  performanceSection,
  RULE,
  renderTextReport,
  requestSection,
  simBanner,
  simulationSection,
  worldSection,
} from "./textReport.js";
