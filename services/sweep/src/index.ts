export {
  type DeployArtifacts,
  type DeployOptions,
  type DisaggDeployArtifacts,
  type DisaggDeployOptions,
  deployArtifacts,
  disaggDeployArtifacts,
  disaggServeConfig,
  llmApiOptions,
  serveArgs,
} from "./deploy.js";
export { DIMENSIONS, type Dimension, dimension, pointLabel, type SettingValue } from "./dimensions.js";
export { CONFIGMAP_LIMIT_BYTES, RESULTS_MOUNT, SWEEP_FILE_MOUNT, type SweepJobOptions, sweepJobObjects, sweepJobYaml } from "./k8s.js";
export { type LocalSweepOptions, runSweepLocal, sharedWorkloads } from "./pool.js";
export { PredictorCache } from "./predictors.js";
export { dimensionNames, displayColumns, type PresentOptions, paretoPng, sweepHtmlInput, textTable } from "./present.js";
export { formatRankingTable, MIN_ROWS, type RankedRow, type RankingCase, type RankingSummary, rankingCheck, TOLERANCE, tokensPerGpu } from "./rankingCheck.js";
export { parseSweepJsonl, settingColumns, sweepCsv, sweepJsonLine } from "./results.js";
export { failedRow, type MetricValue, metricColumns, type RowContext, rowOf, rowOfOutcome, type SweepRow } from "./row.js";
export { isPointError, type PointReports, type PointResult, type PredictorFactory, runPoint } from "./runPoint.js";
export { DEFAULT_BATCH_SIZES, DEFAULT_MAX_NUM_TOKENS, DEFAULT_TP, type RankedSearch, rankCandidates, type SearchSpec, searchPlan } from "./search.js";
export { baseFingerprint, expandPoints, MAX_POINTS, parseSweepFile, pointSpec, type SweepFileOptions, type SweepPlan, type SweepPoint } from "./space.js";
export { type PreparedSweep, prepareSweepJob, runSweepJob, type SweepRunOptions } from "./sweepJob.js";
export { type SearchChoices, TOPOLOGIES, type Topology, topology } from "./topologies.js";
export { pointFromWire, pointToWire, rowFromWire, rowToWire } from "./wire.js";
