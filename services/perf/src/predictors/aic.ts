import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError } from "@servesim/core";
import { type PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import { type AicDatabase, listTableSets, openAicDatabase, tableVersions } from "../aic/database.js";
import { AicKernels } from "../aic/kernels.js";
import { nearestVersion, newestVersion } from "../aic/versions.js";
import { gpuFromYaml } from "../catalog/gpus.js";
import { ComposedPredictor } from "../compose.js";
import { defaultEfficiency, defaultOverheads } from "../efficiency.js";
import { buildPlan, type PlanScope } from "../plan.js";
import { describeRun, type ResolvedRun, resolveRun } from "../resolve.js";
import { RooflineKernels } from "../roofline.js";
import { definePredictor, type PredictorEntry, type PredictorOptions, predictorInfo } from "./entry.js";
import { composeParams } from "./params.js";
import { composeExtras, stageScopes } from "./roofline.js";

/** The AIC system (table directory) name: device_name, else the GPU's name. */
function aicDevice(config: PredictorConfig, run: ResolvedRun): string {
  return config.deviceName.trim() || run.gpu.name;
}

/** "aic (h100_sxm trtllm 1.2.0rc5, Llama-3.1-8B, TP1, bf16)". */
function aicDescription(config: PredictorConfig, run: ResolvedRun, version: string): string {
  return `aic (${describeRun(run).replace(run.gpu.name, `${aicDevice(config, run)} trtllm ${version}`)})`;
}

/** Checks the aic settings and resolves the run (the GPU may be a system of the systems directory). */
function resolveAic(config: PredictorConfig): ResolvedRun {
  const dir = config.databasePath.trim();
  if (!dir) throw new InvalidArgumentError("config.database_path", "required for the aic predictor (an AIConfigurator systems directory)");
  if (!config.deviceName.trim() && !config.gpu?.name?.trim()) {
    throw new InvalidArgumentError("config.device_name", "required for the aic predictor (the AIC system name, e.g. h100_sxm)");
  }
  return resolveRun(config, { systemsDir: dir });
}

const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/**
 * The table version a configuration prices with: backend_version, else the system's newest; with
 * nearest_table_version, a version without tables maps to the nearest one that has them. Reads directory
 * names only. Returns undefined when the systems directory cannot tell (opening the tables then reports why).
 */
export function tableVersionFor(config: PredictorConfig, device: string): { version: string; note?: string } | undefined {
  const dir = config.databasePath.trim();
  const wanted = config.backendVersion.trim();
  const yaml = join(dir, `${device}.yaml`);
  if (!existsSync(yaml)) return wanted ? { version: wanted } : undefined;
  let dataRoot: string;
  try {
    dataRoot = join(dir, gpuFromYaml(yaml).dataDir ?? join("data", device));
  } catch {
    return wanted ? { version: wanted } : undefined;
  }
  const available = isDir(dataRoot) ? tableVersions(dataRoot) : [];
  if (!wanted) {
    const newest = newestVersion(available);
    return newest ? { version: newest, note: `backend_version unset: the newest tables of ${device} (${newest})` } : undefined;
  }
  if (available.includes(wanted) || config.nearestTableVersion !== true) return { version: wanted };
  const near = nearestVersion(wanted, available);
  if (!near) return { version: wanted };
  return { version: near, note: `table version ${near} (${device} has no trtllm ${wanted} tables; the nearest version)` };
}

async function aicPredictor(config: PredictorConfig, opts: PredictorOptions): Promise<ComposedPredictor> {
  const run = resolveAic(config);
  const device = aicDevice(config, run);
  const version = tableVersionFor(config, device)?.version ?? config.backendVersion.trim();
  const db = await openAicDatabase(config.databasePath.trim(), device, version, {
    moe: run.model.family === "moe",
    mla: run.model.attention === "mla",
    dsa: run.model.dsa !== null,
    nccl: run.moe !== null && run.moe.communication !== "allreduce",
  });
  return aicPredictorWith(config, db, opts, run);
}

/**
 * An AIC predictor over an already opened database (in-memory rows in tests, or a shared instance).
 * `run` defaults to resolving the configuration.
 */
export function aicPredictorWith(
  config: PredictorConfig,
  db: AicDatabase,
  opts: PredictorOptions = {},
  run: ResolvedRun = resolveRun(config),
): ComposedPredictor & { coverageNotes(): string[] } {
  const eff = opts.efficiency ?? defaultEfficiency(run.gpu);
  const kernelsFor = (scope: PlanScope = {}): AicKernels => {
    const plan = buildPlan(run, scope);
    return new AicKernels(plan, db, new RooflineKernels(plan, eff));
  };
  const kernels = kernelsFor();
  const params = composeParams(config, opts.overheads ?? defaultOverheads(run.gpu, "aic"));
  const version = db.version || config.backendVersion.trim() || "?";
  const description = aicDescription(config, run, version);
  const predictor = new ComposedPredictor(
    `${description.slice(0, -1)}; tables ${db.origin})`,
    kernels,
    params,
    composeExtras(run, kernelsFor, () => stageScopes(run).map(kernelsFor)),
  );
  return Object.assign(predictor, { coverageNotes: () => kernels.coverageNotes() });
}

const definition = {
  name: "aic",
  kind: PredictorKind.PREDICTOR_KIND_AIC,
  aliases: ["aiconfigurator"],
  summary: "AIConfigurator's measured per-kernel tables from a systems directory, interpolated",
  requires: "model, GPU, an AIC systems directory (tables: backend_version, else the newest)",
  needsModelAndGpu: true,
  build: aicPredictor,
  describe(config: PredictorConfig) {
    composeParams(config);
    const run = resolveAic(config);
    const t = tableVersionFor(config, aicDevice(config, run));
    const version = t?.version ?? config.backendVersion.trim();
    return { description: aicDescription(config, run, version), run, tableVersion: version, ...(t?.note ? { notes: [t.note] } : {}) };
  },
} satisfies Omit<PredictorEntry, "catalog">;

export const aicEntry: PredictorEntry = definePredictor({
  ...definition,
  catalog(opts) {
    const info = predictorInfo(definition);
    if (!opts.databasePath) return { info };
    return { info, tableSets: listTableSets(opts.databasePath) };
  },
});
