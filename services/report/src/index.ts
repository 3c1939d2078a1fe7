export { PERCENTILE_KEYS, percentileStats, type PercentileStats } from "./percentiles.js";
export {
  computeMetrics,
  requestMetrics,
  type FailureSummary,
  type RequestMetrics,
  type RunMetrics,
} from "./metrics.js";
export { DEFAULT_EMULATED_VERSION, countIterationKinds, worldSize, type ReportInput } from "./reportInput.js";
export {
  RULE,
  backendSection,
  datasetCell,
  datasetSection,
  performanceSection,
  renderTextReport,
  requestSection,
  simBanner,
  simulationSection,
  worldSection,
} from "./textReport.js";
export { buildReportJson, datasetJson, renderReportJson } from "./reportJson.js";
export { requestJsonLine, requestJsonObject, type RequestJsonOptions } from "./requestJson.js";
export {
  iterationLogLine,
  simTimestamp,
  type IterationLogFormat,
  type IterationLogStats,
} from "./iterationLog.js";
export { formatExp, formatFixed, pyFloatRepr } from "./pyFormat.js";
