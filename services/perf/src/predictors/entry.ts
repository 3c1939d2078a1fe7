import type { BatchPredictor, OpTime, SimBatch } from "@servesim/core";
import type { PredictorConfig, PredictorInfo, PredictorKind, TableSet } from "@servesim/wire/predictor";
import type { Efficiency, Overheads } from "../efficiency.js";
import type { ResolvedRun } from "../resolve.js";

/** Options not carried by PredictorConfig (library callers, validation, tests). */
export interface PredictorOptions {
  /** Roofline efficiency factors (default: the GPU family's calibrated set). Also the AIC fallback's. */
  efficiency?: Efficiency;
  /** Overhead defaults used where the config leaves them unset (default: the family's calibrated values). */
  overheads?: Overheads;
}

/** A local predictor (roofline, aic, calibrated): synchronous times and breakdowns, decode runs in O(count + steps). */
export interface LocalPredictor extends BatchPredictor {
  predict(batch: SimBatch): number;
  breakdown(batch: SimBatch): OpTime[];
  predictDecodeRun(pastKv: ArrayLike<number>, count: number, steps: number): number[];
}

/** A configuration validated and resolved without building the predictor (no tables read, nothing priced). */
export interface DescribedConfig {
  /** One line, e.g. "roofline (h100_sxm, Llama-3.1-8B, TP1, bf16)". */
  description: string;
  /** The resolved model, GPU and parallelism, when the configuration names a model and a GPU. */
  run?: ResolvedRun;
  /** aic: the table version the predictor prices with. */
  tableVersion?: string;
  /** Kind-specific remarks (e.g. "backend_version 1.2.0rc6 has no tables: using 1.2.0rc5"). */
  notes?: string[];
}

/**
 * One predictor kind: a registry entry (predictors/registry.ts). Adding a predictor is a new file
 * exporting one of these, one registration line in the registry, and its PREDICTOR_KIND_<NAME> value in
 * proto/servesim/v1/predictor.proto (a test fails while they disagree).
 */
export interface PredictorEntry {
  /** Short name: the CLI's --predictor value and the proto enum's suffix (PREDICTOR_KIND_<NAME>). */
  readonly name: string;
  readonly kind: PredictorKind;
  /** Other accepted spellings (CLI, sim-config, Python client). */
  readonly aliases: readonly string[];
  /** What it prices with, in one line (catalog, docs). */
  readonly summary: string;
  /** What a configuration must give, in a few words (catalog, docs). */
  readonly requires: string;
  /** The configuration must name a model and a GPU. */
  readonly needsModelAndGpu: boolean;
  /** Validates the configuration and builds the predictor. */
  build(config: PredictorConfig, opts: PredictorOptions): BatchPredictor | Promise<BatchPredictor>;
  /** Validates the configuration and describes it without building (DescribePredictor, job resolution). */
  describe(config: PredictorConfig): DescribedConfig;
  /** What ListCatalog says about this kind. */
  catalog(opts: CatalogOptions): PredictorCatalog;
}

/** Where a catalog may look (a replica's configured data). */
export interface CatalogOptions {
  /** An AIConfigurator systems directory. */
  databasePath?: string;
}

/** One kind's part of ListCatalog. */
export interface PredictorCatalog {
  info: PredictorInfo;
  /** aic: the table sets of CatalogOptions.databasePath. */
  tableSets?: TableSet[];
}

/** An entry without its catalog method: `definePredictor` adds the default one (the entry's own facts). */
export type PredictorDefinition = Omit<PredictorEntry, "catalog"> & Partial<Pick<PredictorEntry, "catalog">>;

/** What ListCatalog says about an entry: kind, name, aliases, summary and requirements. */
export function predictorInfo(e: Omit<PredictorEntry, "catalog">): PredictorInfo {
  return { kind: e.kind, name: e.name, aliases: [...e.aliases], summary: e.summary, needsModelAndGpu: e.needsModelAndGpu, requires: e.requires };
}

/** A registry entry from its definition (the catalog defaults to the entry's own facts). */
export function definePredictor(d: PredictorDefinition): PredictorEntry {
  return { catalog: () => ({ info: predictorInfo(d) }), ...d };
}
