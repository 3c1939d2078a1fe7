import { InvalidArgumentError } from "@servesim/core";
import { type PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import { type AicDatabase, openAicDatabase } from "../aic/database.js";
import { AicKernels } from "../aic/kernels.js";
import { ComposedPredictor } from "../compose.js";
import { defaultEfficiency, defaultOverheads } from "../efficiency.js";
import { buildPlan } from "../plan.js";
import { describeRun, type ResolvedRun, resolveRun } from "../resolve.js";
import { RooflineKernels } from "../roofline.js";
import { definePredictor, type PredictorEntry, type PredictorOptions } from "./entry.js";
import { composeParams } from "./params.js";

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
  if (!config.backendVersion.trim()) throw new InvalidArgumentError("config.backend_version", "required for the aic predictor (e.g. 1.2.0rc5)");
  if (!config.deviceName.trim() && !config.gpu?.name?.trim()) {
    throw new InvalidArgumentError("config.device_name", "required for the aic predictor (the AIC system name, e.g. h100_sxm)");
  }
  return resolveRun(config, { systemsDir: dir });
}

async function aicPredictor(config: PredictorConfig, opts: PredictorOptions): Promise<ComposedPredictor> {
  const run = resolveAic(config);
  const db = await openAicDatabase(config.databasePath.trim(), aicDevice(config, run), config.backendVersion.trim(), { moe: run.model.family === "moe" });
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
): ComposedPredictor {
  const plan = buildPlan(run);
  const fallback = new RooflineKernels(plan, opts.efficiency ?? defaultEfficiency(run.gpu));
  const kernels = new AicKernels(plan, db, fallback);
  const params = composeParams(config, opts.overheads ?? defaultOverheads(run.gpu, "aic"));
  const description = aicDescription(config, run, config.backendVersion.trim() || "?");
  return new ComposedPredictor(`${description.slice(0, -1)}; tables ${db.origin})`, kernels, params);
}

export const aicEntry: PredictorEntry = definePredictor({
  name: "aic",
  kind: PredictorKind.PREDICTOR_KIND_AIC,
  aliases: ["aiconfigurator"],
  summary: "AIConfigurator's measured per-kernel tables from a systems directory, interpolated",
  requires: "model, GPU, an AIC systems directory, a table version",
  needsModelAndGpu: true,
  build: aicPredictor,
  describe(config) {
    composeParams(config);
    const run = resolveAic(config);
    return { description: aicDescription(config, run, config.backendVersion.trim()), run };
  },
});
