import { DEFAULT_PORTS, integerSetting, loadServerConfig, resolveSettings, type ServerConfig, type SettingsSources, setting } from "@servesim/server-common";

export const PREDICTOR_SERVICE_NAME = "servesim.v1.PredictorService";

/** Settings of the predictor service on top of the common server settings. */
export const predictorSettings = {
  maxBatchEntries: setting({
    env: "SERVESIM_MAX_BATCH_ENTRIES",
    flag: "max-batch-entries",
    arg: "<n>",
    description: "largest batch (entries) or decode run (requests) accepted",
    schema: integerSetting(1, 2 ** 24),
    default: 65_536,
  }),
  maxDecodeSteps: setting({
    env: "SERVESIM_MAX_DECODE_STEPS",
    flag: "max-decode-steps",
    arg: "<n>",
    description: "largest num_steps of a DecodeRun",
    schema: integerSetting(1, 2 ** 24),
    default: 1_048_576,
  }),
  predictorCacheSize: setting({
    env: "SERVESIM_PREDICTOR_CACHE_SIZE",
    flag: "predictor-cache-size",
    arg: "<n>",
    description: "built predictors kept per replica (least recently used evicted)",
    schema: integerSetting(1, 4096),
    default: 32,
  }),
};

export interface PredictorLimits {
  maxBatchEntries: number;
  maxDecodeSteps: number;
  predictorCacheSize: number;
}

export type PredictorServerConfig = ServerConfig & PredictorLimits;

export function loadPredictorServerConfig(sources: SettingsSources): PredictorServerConfig {
  return { ...loadServerConfig(DEFAULT_PORTS.predictor, sources), ...resolveSettings(predictorSettings, sources) };
}
