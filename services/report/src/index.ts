export { PERCENTILE_KEYS, type PercentileStats, percentileStats } from "@servesim/core";
export {
  type IterationLogFormat,
  type IterationLogStats,
  iterationLogLine,
  simTimestamp,
} from "./iterationLog.js";
export {
  computeMetrics,
  type FailureSummary,
  type RequestMetrics,
  type RunMetrics,
  requestMetrics,
} from "./metrics.js";
export { formatExp, formatFixed, pyFloatRepr } from "./pyFormat.js";
export { countIterationKinds, DEFAULT_EMULATED_VERSION, type ReportInput, worldSize } from "./reportInput.js";
export { buildReportJson, datasetJson, renderReportJson } from "./reportJson.js";
export { type RequestJsonOptions, requestJsonLine, requestJsonObject } from "./requestJson.js";
export {
  backendSection,
  datasetCell,
  datasetSection,
  performanceSection,
  RULE,
  renderTextReport,
  requestSection,
  simBanner,
  simulationSection,
  worldSection,
} from "./textReport.js";
