import { InvalidArgumentError } from "@servesim/core";
import { createPredictor, describePredictor, listCatalog } from "@servesim/perf";
import type { ServiceRegistration } from "@servesim/server-common";
import { unaryHandler } from "@servesim/server-common";
import { decodeSimBatch } from "@servesim/wire";
import {
  type DescribePredictorRequest,
  type DescribePredictorResponse,
  type ListCatalogRequest,
  type ListCatalogResponse,
  type PredictorConfig,
  type PredictorKind,
  type PredictorServiceServer,
  PredictorServiceService,
  type PredictRequest,
  type PredictResponse,
} from "@servesim/wire/predictor";
import type { Logger } from "pino";
import { availableKinds } from "./catalog.js";
import { PREDICTOR_SERVICE_NAME, type PredictorLimits } from "./config.js";
import { type PredictorBuilder, PredictorCache } from "./predictorCache.js";
import { PredictStreamRegistry } from "./predictStream.js";
import { breakdownOf, priceBatch } from "./pricing.js";

export interface PredictorServiceOptions {
  logger: Logger;
  limits: PredictorLimits;
  /** Builds a predictor from a configuration (default: services/perf createPredictor). */
  build?: PredictorBuilder;
}

function requireConfig(config: PredictorConfig | undefined, field = "config"): PredictorConfig {
  if (config === undefined) throw new InvalidArgumentError(field, "is required");
  return config;
}

/** servesim.v1.PredictorService, ready to host with startGrpcServer. */
export function createPredictorService(opts: PredictorServiceOptions): ServiceRegistration & { cache: PredictorCache; streams: PredictStreamRegistry } {
  const { logger, limits } = opts;
  const build = opts.build ?? createPredictor;
  const cache = new PredictorCache(limits.predictorCacheSize, build);
  const batchLimits = { maxEntries: limits.maxBatchEntries, maxSteps: limits.maxDecodeSteps };
  const streams = new PredictStreamRegistry({ cache, limits: batchLimits, logger });
  let kinds: Promise<PredictorKind[]> | undefined;

  const implementation: PredictorServiceServer = {
    predict: unaryHandler("Predict", logger, async (req: PredictRequest, ctx): Promise<PredictResponse> => {
      const config = requireConfig(req.config);
      const batch = decodeSimBatch(req.batch, batchLimits, "batch");
      const predictor = await cache.get(config);
      ctx.throwIfCancelled();
      const timeMs = await priceBatch(predictor, batch);
      const breakdown = req.includeBreakdown ? await breakdownOf(predictor, batch) : [];
      return { timeMs, breakdown };
    }),

    predictStream: streams.handler,

    listCatalog: unaryHandler("ListCatalog", logger, async (req: ListCatalogRequest): Promise<ListCatalogResponse> => {
      kinds ??= availableKinds(build);
      const databasePath = req.databasePath?.trim();
      return listCatalog(await kinds, databasePath ? { databasePath } : {});
    }),

    describePredictor: unaryHandler("DescribePredictor", logger, async (req: DescribePredictorRequest): Promise<DescribePredictorResponse> => {
      const config = requireConfig(req.config);
      return describePredictor(config, await cache.get(config));
    }),
  };

  return {
    name: PREDICTOR_SERVICE_NAME,
    definition: PredictorServiceService,
    implementation,
    drain: () => streams.drain(),
    close: () => cache.close(),
    cache,
    streams,
  };
}
