export { ANONYMOUS, type Authenticator, createAuthenticator, type Principal, parseTokenFile } from "./auth.js";
export { type CallContext, createCallContext, unaryHandler } from "./callContext.js";
export { authEnabled, DAY_MS, DEFAULT_PORTS, isLoopback, loadServerConfig, readPem, type ServerConfig, serverSettings } from "./config.js";
export { type CatalogNames, confinePredictorConfig, DataRoots, MAX_PATH_LENGTH, type PathKind, withoutFileContent } from "./dataRoots.js";
export { GRPC_STATUS, INTERNAL_DETAILS, toGrpcStatus, toServiceError } from "./grpcErrors.js";
export { healthProtoPath } from "./health.js";
export { createLogger, type Logger, silentLogger } from "./logger.js";
export { CallPipeline, type Middleware, type PipelineCall } from "./pipeline.js";
export { type GuardOptions, guardDefinition, requestErrorOf } from "./requestGuard.js";
export { handleShutdownSignals, type ServerHandle, type ServiceRegistration, startGrpcServer } from "./server.js";
export {
  booleanSetting,
  byteSizeSetting,
  enumSetting,
  integerSetting,
  listSetting,
  nonEmptySetting,
  optionalSetting,
  resolveSettings,
  type Setting,
  type SettingsSources,
  type SettingsSpec,
  type SettingsValues,
  setting,
} from "./settings.js";
export { WireChecker } from "./wireCheck.js";
