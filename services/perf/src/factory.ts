import type { BatchPredictor, SimBatch } from "@servesim/core";
import type { CatalogModel, DescribePredictorResponse, ListCatalogResponse, PredictorConfig } from "@servesim/wire/predictor";
import { listTableSets } from "./aic/database.js";
import { GPU_CATALOG, toGpuHardware } from "./catalog/gpus.js";
import { MODEL_CATALOG, paramCount, toModelArchitecture } from "./catalog/models.js";
import { dtypeFromPrecision } from "./dtypes.js";
import { kvBytesPerTokenPerRank, type WeightLayout, weightBytesPerRank } from "./memory.js";
import type { CatalogOptions, LocalPredictor, PredictorOptions } from "./predictors/entry.js";
import { PREDICTORS, requirePredictorEntry } from "./predictors/registry.js";
import { describeParallelism, type ResolvedRun, runPrecisions } from "./resolve.js";

export { aicPredictorWith } from "./predictors/aic.js";
export type { LocalPredictor, PredictorOptions } from "./predictors/entry.js";
export { composeParams } from "./predictors/params.js";

/** Validates a predictor configuration and builds the predictor its kind names (predictors/registry.ts). */
export async function createPredictor(config: PredictorConfig, opts: PredictorOptions = {}): Promise<BatchPredictor> {
  return requirePredictorEntry(config.kind).build(config, opts);
}

/**
 * Times of `steps` decode-only iterations (step i: every request at pastKv[j] + i). Uses the predictor's
 * own O(count + steps) method when it has one, else prices each step as a batch.
 */
export async function predictDecodeRun(predictor: BatchPredictor, pastKv: ArrayLike<number>, count: number, steps: number): Promise<number[]> {
  const fast = (predictor as Partial<LocalPredictor>).predictDecodeRun;
  if (typeof fast === "function") return fast.call(predictor, pastKv, count, steps);
  const past = new Array<number>(count);
  const ones = new Array<number>(count).fill(1);
  const batch: SimBatch = { numContext: 0, numGeneration: count, inputLength: ones, pastKvLength: past, numContextTokens: 0 };
  const out: number[] = [];
  for (let s = 0; s < steps; s++) {
    for (let j = 0; j < count; j++) past[j] = pastKv[j]! + s;
    out.push(await predictor.predict(batch));
  }
  return out;
}

/** How a resolved run's weights spread over its GPUs (memory accounting). */
export function weightLayout(run: ResolvedRun): WeightLayout {
  return { attentionDp: run.attentionDp, precisions: run.precisions, uniform: run.uniformWeights };
}

const NO_RUN_FACTS: Omit<DescribePredictorResponse, "description"> = {
  model: undefined,
  gpu: undefined,
  paramCount: 0,
  weightBytesPerGpu: 0,
  kvBytesPerTokenPerGpu: 0,
  weightDtype: 0,
  kvCacheDtype: 0,
};

/**
 * DescribePredictor: validates a configuration and resolves it without pricing anything or reading AIC
 * tables. Model/GPU facts are filled when the configuration names a model and a GPU (always for roofline
 * and aic). The description is `built`'s when the caller has built the predictor (it may say more, e.g.
 * where the tables came from), else the kind's own.
 */
export function describePredictor(config: PredictorConfig, built?: BatchPredictor): DescribePredictorResponse {
  const described = requirePredictorEntry(config.kind).describe(config);
  const facts = described.run ? resolvedRunFacts(described.run) : NO_RUN_FACTS;
  const out: DescribePredictorResponse = { description: built?.description ?? described.description, ...facts };
  if (out.details) {
    if (described.tableVersion) out.details.tableVersion = described.tableVersion;
    if (described.notes) out.details.notes.push(...described.notes);
    const coverage = (built as { coverageNotes?: () => string[] } | undefined)?.coverageNotes?.();
    if (coverage) out.details.notes.push(...coverage);
  }
  return out;
}

/** What DescribePredictor reports about a resolved model, GPU and parallelism (all but the description). */
export function resolvedRunFacts(run: ResolvedRun): Omit<DescribePredictorResponse, "description"> {
  const layout = weightLayout(run);
  return {
    model: toModelArchitecture(run.model),
    gpu: toGpuHardware(run.gpu),
    paramCount: paramCount(run.model),
    weightBytesPerGpu: weightBytesPerRank(run.model, run.weightDtype, run.tp, run.pp, layout),
    kvBytesPerTokenPerGpu: kvBytesPerTokenPerRank(run.model, run.kvDtype, run.tp, run.pp, layout),
    weightDtype: dtypeFromPrecision(run.weightDtype),
    kvCacheDtype: dtypeFromPrecision(run.kvDtype),
    details: {
      tableVersion: "",
      opPrecisions: runPrecisions(run),
      moeCommunication: run.moe?.communication ?? "",
      parallelism: describeParallelism(run),
      notes: [...run.notes],
    },
  };
}

/** The built-in models: one entry per architecture (bf16) plus one per quantized checkpoint id. */
export function catalogModels(): CatalogModel[] {
  const models: CatalogModel[] = [];
  for (const e of MODEL_CATALOG) {
    const architecture = toModelArchitecture(e.spec);
    const params = paramCount(e.spec);
    models.push({
      name: e.spec.name,
      aliases: [...e.aliases],
      architecture,
      paramCount: params,
      defaultWeightDtype: dtypeFromPrecision(e.native?.weight ?? "bf16"),
      defaultKvCacheDtype: dtypeFromPrecision(e.native?.kv ?? "bf16"),
    });
    for (const q of e.quantizedAliases.filter((a) => a.id.includes("/"))) {
      models.push({
        name: q.id.slice(q.id.indexOf("/") + 1),
        aliases: [q.id],
        architecture,
        paramCount: params,
        defaultWeightDtype: dtypeFromPrecision(q.weight),
        defaultKvCacheDtype: dtypeFromPrecision(q.kv),
      });
    }
  }
  return models;
}

/**
 * Everything built in (ListCatalog): predictor kinds (all of the registry unless `kinds` narrows them),
 * models and GPUs.
 */
export function listCatalog(kinds: readonly number[] = PREDICTORS.map((e) => e.kind), opts: CatalogOptions = {}): ListCatalogResponse {
  const entries = kinds.map((k) => requirePredictorEntry(k).catalog(opts));
  return {
    predictors: entries.map((e) => e.info.kind),
    predictorInfo: entries.map((e) => e.info),
    models: catalogModels(),
    gpus: GPU_CATALOG.map((g) => ({ name: g.name, hardware: toGpuHardware(g) })),
    tableSets: entries.flatMap((e) => e.tableSets ?? []),
  };
}

export { listTableSets };
