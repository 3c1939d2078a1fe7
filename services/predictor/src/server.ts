import { createAuthenticator, DataRoots, type ServerHandle, startGrpcServer, WireChecker } from "@servesim/server-common";
import { descriptorSetPath } from "@servesim/wire";
import type { Logger } from "pino";
import type { PredictorServerConfig } from "./config.js";
import type { PredictorBuilder } from "./predictorCache.js";
import { createPredictorService } from "./predictorService.js";

/**
 * Starts the predictor service (PredictorService + health + reflection) and returns its handle; the
 * caller decides about signals (handleShutdownSignals) so tests can run several servers on port 0.
 */
export async function startPredictorServer(config: PredictorServerConfig, logger: Logger, build?: PredictorBuilder): Promise<ServerHandle> {
  const roots = await DataRoots.open(config.dataRoots, config.maxDataFileBytes);
  const descriptorSet = config.descriptorSet ?? descriptorSetPath();
  const registry = descriptorSet ? WireChecker.registry(descriptorSet) : undefined;
  const service = createPredictorService({
    logger,
    limits: config,
    build,
    authenticator: createAuthenticator(config),
    roots,
    ...(registry ? { registry } : {}),
  });
  return startGrpcServer({ config, logger, services: [service] });
}
