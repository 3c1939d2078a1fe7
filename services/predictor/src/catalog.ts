import type { BatchPredictor } from "@servesim/core";
import { InvalidArgumentError } from "@servesim/core";
import { dtypeFromPrecision, GPU_CATALOG, MODEL_CATALOG, paramCount, resolvedRunFacts, resolveRun, toGpuHardware, toModelArchitecture } from "@servesim/perf";
import {
  type CatalogModel,
  type DescribePredictorResponse,
  DType,
  type ListCatalogResponse,
  type PredictorConfig,
  PredictorKind,
} from "@servesim/wire/predictor";
import type { PredictorBuilder } from "./predictorCache.js";

const ALL_KINDS = [
  PredictorKind.PREDICTOR_KIND_CONSTANT,
  PredictorKind.PREDICTOR_KIND_ROOFLINE,
  PredictorKind.PREDICTOR_KIND_AIC,
  PredictorKind.PREDICTOR_KIND_CALIBRATED,
];

/**
 * The predictor kinds the factory implements. The factory is the source of truth: a kind is available
 * unless building it is rejected on `config.kind` itself (an empty config failing on another field,
 * e.g. a missing model, still proves the kind exists).
 */
export async function availableKinds(build: PredictorBuilder): Promise<PredictorKind[]> {
  const kinds: PredictorKind[] = [];
  for (const kind of ALL_KINDS) {
    try {
      const p = await build({ kind, deviceName: "", databasePath: "", backendVersion: "", weightDtype: 0, kvCacheDtype: 0, ctxAttention: "" });
      await p.close?.();
      kinds.push(kind);
    } catch (err) {
      if (!(err instanceof InvalidArgumentError && err.field === "config.kind")) kinds.push(kind);
    }
  }
  return kinds;
}

/** The built-in models (quantized checkpoints listed under their own id) and GPUs. */
export function catalogEntries(): Pick<ListCatalogResponse, "models" | "gpus"> {
  const models: CatalogModel[] = [];
  for (const entry of MODEL_CATALOG) {
    const architecture = toModelArchitecture(entry.spec);
    const params = paramCount(entry.spec);
    models.push({
      name: entry.spec.name,
      aliases: [...entry.aliases],
      architecture,
      paramCount: params,
      defaultWeightDtype: DType.D_TYPE_BF16,
      defaultKvCacheDtype: DType.D_TYPE_BF16,
    });
    for (const q of entry.quantizedAliases) {
      models.push({
        name: q.id,
        aliases: [],
        architecture,
        paramCount: params,
        defaultWeightDtype: dtypeFromPrecision(q.weight),
        defaultKvCacheDtype: dtypeFromPrecision(q.kv),
      });
    }
  }
  const gpus = GPU_CATALOG.map((g) => ({ name: g.name, hardware: toGpuHardware(g) }));
  return { models, gpus };
}

/**
 * DescribePredictor's answer: the predictor's description plus, for predictors that price a model on a
 * GPU (config.model set), the resolved model, GPU, precisions and memory footprint.
 */
export function describePredictor(config: PredictorConfig, predictor: BatchPredictor): DescribePredictorResponse {
  const response: DescribePredictorResponse = {
    description: predictor.description,
    model: undefined,
    gpu: undefined,
    paramCount: 0,
    weightBytesPerGpu: 0,
    kvBytesPerTokenPerGpu: 0,
    weightDtype: DType.D_TYPE_UNSPECIFIED,
    kvCacheDtype: DType.D_TYPE_UNSPECIFIED,
  };
  if (config.kind === PredictorKind.PREDICTOR_KIND_CONSTANT || config.model === undefined) return response;
  const run = resolveRun(config, { systemsDir: config.databasePath || undefined });
  return { ...response, ...resolvedRunFacts(run) };
}
