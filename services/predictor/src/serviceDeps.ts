import { type BatchPredictor, InvalidArgumentError } from "@servesim/core";
import { lookupGpu, lookupModel } from "@servesim/perf";
import { type CatalogNames, confinePredictorConfig, type DataRoots, withoutFileContent } from "@servesim/server-common";
import type { PredictorConfig } from "@servesim/wire/predictor";
import type { Logger } from "pino";
import type { PredictorCache } from "./predictorCache.js";

/** What the predictor's handlers share. */
export interface PredictorDeps {
  cache: PredictorCache;
  roots: DataRoots;
  batchLimits: { maxEntries: number; maxSteps: number };
  logger: Logger;
}

export const CATALOG_NAMES: CatalogNames = {
  isModel: (name) => lookupModel(name) !== undefined,
  isGpu: (name) => lookupGpu(name) !== undefined,
};

export function requireConfig(config: PredictorConfig | undefined, field = "config"): PredictorConfig {
  if (config === undefined) throw new InvalidArgumentError(field, "is required");
  return config;
}

/**
 * The predictor of a request's config: its server-file references confined to the data roots first
 * (so nothing outside them is read), then built or taken from the cache; errors about files carry no
 * file content.
 */
export async function predictorFor(deps: PredictorDeps, config: PredictorConfig, field = "config"): Promise<BatchPredictor> {
  const confined = await confinePredictorConfig(config, deps.roots, CATALOG_NAMES, field);
  try {
    return await deps.cache.get(confined);
  } catch (err) {
    const clean = withoutFileContent(err);
    if (clean !== err) deps.logger.warn({ err }, "predictor config file rejected");
    throw clean;
  }
}
