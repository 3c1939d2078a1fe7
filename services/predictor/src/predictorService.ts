import type { FileRegistry } from "@bufbuild/protobuf";
import { createPredictor } from "@servesim/perf";
import { type Authenticator, CallPipeline, DataRoots, guardDefinition, type ServiceRegistration } from "@servesim/server-common";
import { type PredictorKind, type PredictorServiceServer, PredictorServiceService } from "@servesim/wire/predictor";
import type { Logger } from "pino";
import { availableKinds } from "./catalog.js";
import { PREDICTOR_SERVICE_NAME, type PredictorLimits } from "./config.js";
import { describePredictor } from "./handlers/describePredictor.js";
import { listCatalog } from "./handlers/listCatalog.js";
import { predict } from "./handlers/predict.js";
import { type PredictorBuilder, PredictorCache } from "./predictorCache.js";
import { PredictStreamRegistry } from "./predictStream.js";
import type { PredictorDeps } from "./serviceDeps.js";

export interface PredictorServiceOptions {
  logger: Logger;
  limits: PredictorLimits;
  /** Builds a predictor from a configuration (default: services/perf createPredictor). */
  build?: PredictorBuilder;
  /** Who may call (default: everyone, as ANONYMOUS). */
  authenticator?: Authenticator;
  /** Where request fields may name server files (default: nowhere). */
  roots?: DataRoots;
  /** The proto schema: undecodable requests name the field they get wrong. */
  registry?: FileRegistry;
}

/** servesim.v1.PredictorService, ready to host with startGrpcServer: one handler per file under handlers/. */
export function createPredictorService(opts: PredictorServiceOptions): ServiceRegistration & { cache: PredictorCache; streams: PredictStreamRegistry } {
  const { logger, limits } = opts;
  const build = opts.build ?? createPredictor;
  const cache = new PredictorCache(limits.predictorCacheSize, build);
  const deps: PredictorDeps = {
    cache,
    roots: opts.roots ?? DataRoots.none(),
    batchLimits: { maxEntries: limits.maxBatchEntries, maxSteps: limits.maxDecodeSteps },
    logger,
  };
  const pipeline = new CallPipeline({ logger, ...(opts.authenticator ? { authenticator: opts.authenticator } : {}) });
  const streams = new PredictStreamRegistry({ deps, limits: deps.batchLimits, logger });
  let kinds: Promise<PredictorKind[]> | undefined;

  const implementation: PredictorServiceServer = {
    predict: pipeline.unary("Predict", (req, ctx) => predict(deps, req, ctx)),
    predictStream: pipeline.duplex("PredictStream", (call, ctx) => streams.open(call, ctx)),
    listCatalog: pipeline.unary("ListCatalog", (req) => listCatalog(deps, (kinds ??= availableKinds(build)), req)),
    describePredictor: pipeline.unary("DescribePredictor", (req) => describePredictor(deps, req)),
  };

  return {
    name: PREDICTOR_SERVICE_NAME,
    definition: guardDefinition(PredictorServiceService, PREDICTOR_SERVICE_NAME, opts.registry ? { registry: opts.registry } : {}),
    implementation,
    drain: () => streams.drain(),
    close: () => cache.close(),
    cache,
    streams,
  };
}
