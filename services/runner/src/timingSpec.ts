import { InvalidArgumentError } from "@servesim/core";
import { DEFAULT_ENGINE_PROFILE, engineProfile, type HostCostParams, hostCostFor, type TimingSettings } from "@servesim/engine";
import { gpuFamily } from "@servesim/perf";
import { type EngineConfig, TimingModel } from "@servesim/wire/scheduler";
import type { ResolvedPredictor } from "./predictorSpec.js";

const F = "spec.engine";

/** Predictors whose times are whole iterations (host included): PR #12700's constant, a fit to measured iterations. */
const WHOLE_ITERATION_KINDS: ReadonlySet<string> = new Set(["constant", "calibrated"]);

export interface TimingResolution {
  timing: TimingSettings;
  /** The engine runs the overlap loop (`_executor_loop_overlap`). */
  overlapLoop: boolean;
}

function hostField(v: number | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!(typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 1e6)) {
    throw new InvalidArgumentError(`${F}.host_cost.${name}`, `must be a number of microseconds in [0, 1000000] (got ${String(v)})`);
  }
  return v;
}

/**
 * The job's timing model. Unset, a simulated GPU (roofline, aic, a remote predictor of those kinds) runs
 * TensorRT-LLM's PyTorch defaults: the overlap loop, CUDA graphs with the default sizes, the engine
 * profile's host costs for the GPU family; the constant and calibrated predictors keep their
 * whole-iteration semantics and the non-overlap loop. `disable_overlap_scheduler`, `disable_cuda_graphs`,
 * `timing_model` and `host_cost` override each part.
 */
export function resolveTiming(e: EngineConfig | undefined, p: ResolvedPredictor): TimingResolution {
  const tm = e?.timingModel ?? TimingModel.TIMING_MODEL_UNSPECIFIED;
  if (tm !== TimingModel.TIMING_MODEL_UNSPECIFIED && tm !== TimingModel.TIMING_MODEL_WHOLE_ITERATION && tm !== TimingModel.TIMING_MODEL_HOST_DEVICE) {
    throw new InvalidArgumentError(`${F}.timing_model`, `unknown timing model ${String(tm)} (WHOLE_ITERATION or HOST_DEVICE)`);
  }
  const wholeIteration = tm === TimingModel.TIMING_MODEL_WHOLE_ITERATION || (tm === TimingModel.TIMING_MODEL_UNSPECIFIED && WHOLE_ITERATION_KINDS.has(p.kind));
  // The loop: TensorRT-LLM's default (overlap) except for whole-iteration predictors, unless asked.
  const overlapLoop = e?.disableOverlapScheduler === undefined ? !wholeIteration : !e.disableOverlapScheduler;
  // The engine profile's timing defaults (TensorRT-LLM PyExecutor's).
  const profile = engineProfile(DEFAULT_ENGINE_PROFILE).timing;
  const defaults = p.gpu ? hostCostFor(profile, gpuFamily(p.gpu)) : profile.host.other;
  const h = e?.hostCost;
  const host: HostCostParams = {
    stepUs: hostField(h?.stepUs, "step_us", defaults.stepUs),
    perRequestUs: hostField(h?.perRequestUs, "per_request_us", defaults.perRequestUs),
    launchUsPerLayer: hostField(h?.launchUsPerLayer, "launch_us_per_layer", defaults.launchUsPerLayer),
  };
  const layers = p.model ? Math.ceil(p.model.numLayers / Math.max(1, p.pp)) : 0;
  return {
    overlapLoop,
    timing: {
      model: wholeIteration ? "whole-iteration" : overlapLoop ? "overlap" : "non-overlap",
      host,
      cudaGraphs: e?.disableCudaGraphs === true ? null : profile.cudaGraphs,
      layers,
    },
  };
}
