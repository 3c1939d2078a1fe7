export { CALIBRATION_FEATURES, type CalibrationFit, calibratedCoefficients, calibratedModel, fitCalibration } from "./calibrated.js";
export { type HfModel, loadHfConfig, toInlineArchitecture } from "./catalog/architecture.js";
export { GPU_CATALOG, type GpuSpec, lookupGpu, toGpuHardware } from "./catalog/gpus.js";
export { lookupModel, MODEL_CATALOG, type ModelSpec, paramCount, toModelArchitecture } from "./catalog/models.js";
export { ConstantPredictor } from "./constant.js";
export { dtypeFromPrecision, dtypeName, type Precision, parsePrecision, precisionFromDType } from "./dtypes.js";
export { AIC_EMPIRICAL_EFFICIENCY, type Efficiency, type GpuFamily, gpuFamily, type Overheads, ZERO_OVERHEADS } from "./efficiency.js";
export { createPredictor, describePredictor, type LocalPredictor, listCatalog, type PredictorOptions, resolvedRunFacts, weightLayout } from "./factory.js";
export { parseIterationLog } from "./iterationLog.js";
export { type BenchHeuristic, benchHeuristic, type KvCapacity, kvCapacity } from "./memory.js";
export { OP_SOURCES, type OpSource } from "./opSource.js";
export type { PredictorEntry } from "./predictors/entry.js";
export {
  PREDICTORS,
  predictorByName,
  predictorChoiceList,
  predictorEntryOf,
  predictorInfo,
  predictorNameList,
  requirePredictorEntry,
} from "./predictors/registry.js";
export { type ResolvedRun, resolveGpu, resolveModel, resolveRun } from "./resolve.js";
