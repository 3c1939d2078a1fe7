export { type CallContext, createCallContext, unaryHandler } from "./callContext.js";
export { DAY_MS, DEFAULT_PORTS, loadServerConfig, readPem, type ServerConfig, serverSettings } from "./config.js";
export { ServerError, toServiceError } from "./grpcErrors.js";
export { healthProtoPath } from "./health.js";
export { createLogger, type Logger, silentLogger } from "./logger.js";
export { handleShutdownSignals, type ServerHandle, type ServiceRegistration, startGrpcServer } from "./server.js";
export {
  byteSizeSetting,
  enumSetting,
  integerSetting,
  nonEmptySetting,
  optionalSetting,
  resolveSettings,
  type Setting,
  type SettingsSources,
  type SettingsSpec,
  type SettingsValues,
  setting,
} from "./settings.js";
