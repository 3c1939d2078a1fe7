export { loadPredictorServerConfig, type PredictorServerConfig, predictorSettings } from "./config.js";
export type { PredictorBuilder } from "./predictorCache.js";
export { startPredictorServer } from "./server.js";
