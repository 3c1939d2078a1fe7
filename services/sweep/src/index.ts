export { DIMENSIONS, type Dimension, dimension, pointLabel, type SettingValue } from "./dimensions.js";
export { type LocalSweepOptions, runSweepLocal, sharedWorkloads } from "./pool.js";
export { PredictorCache } from "./predictors.js";
export { parseSweepJsonl, settingColumns, sweepCsv, sweepJsonLine } from "./results.js";
export { failedRow, type MetricValue, metricColumns, type RowContext, rowOf, rowOfOutcome, type SweepRow } from "./row.js";
export { isPointError, type PointReports, type PointResult, type PredictorFactory, runPoint } from "./runPoint.js";
export { baseFingerprint, expandPoints, MAX_POINTS, parseSweepFile, pointSpec, type SweepFileOptions, type SweepPlan, type SweepPoint } from "./space.js";
export { TOPOLOGIES, type Topology, topology } from "./topologies.js";
export { dimensionNames, displayColumns, type PresentOptions, paretoPng, sweepHtmlInput, textTable } from "./present.js";
