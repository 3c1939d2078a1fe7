import type { FrontEndSettings } from "../frontEnd.js";
import { type CudaGraphSettings, TRTLLM_DEFAULT_CUDA_GRAPHS } from "./cudaGraph.js";
import { type HostCostParams, ZERO_HOST_COST } from "./hostCost.js";
import type { TimingModelName } from "./hostDeviceTiming.js";

/**
 * The timing side of an engine profile: which loop TensorRT-LLM runs by default, its CUDA-graph
 * defaults and its host costs per GPU family. Host costs are the engine's, not the predictor's: the
 * predictor service prices device time only and stays stateless.
 */
export interface TimingProfile {
  name: string;
  /** The default loop on a simulated GPU. */
  model: Exclude<TimingModelName, "whole-iteration">;
  cudaGraphs: CudaGraphSettings | null;
  /** Host costs per GPU family ("hopper", "blackwell", ...); `other` for families without a fit. */
  host: Readonly<Record<string, HostCostParams>> & { other: HostCostParams };
  /**
   * The serving front end of the engine's server (trtllm-serve, frontEnd.ts), for jobs that say they go
   * through it (`servesim validate`'s benchmark replays, EngineConfig.front_end); trtllm-bench runs have none.
   */
  serveFrontEnd: FrontEndSettings;
}

/**
 * TensorRT-LLM's PyTorch backend (PyExecutor): the overlap scheduler on (`disable_overlap_scheduler`
 * false), CUDA graphs on with the default sizes and no padding (tensorrt_llm/llmapi/llm_args.py).
 * Hopper's host costs were fitted on silicon_sample.csv's TensorRT-LLM rows (`servesim validate --fit`;
 * docs/timing.md gives in-sample and out-of-sample errors); other families use Hopper's (the host is the
 * same class of CPU running the same Python executor).
 */
export const TRTLLM_PYTORCH_TIMING: TimingProfile = Object.freeze({
  name: "trtllm-pytorch",
  model: "overlap",
  cudaGraphs: TRTLLM_DEFAULT_CUDA_GRAPHS,
  host: Object.freeze({
    // validate --fit's in-sample pick (24 candidates); the loss is flat in these terms on the silicon rows,
    // where overlap hides the host behind the device: docs/timing.md.
    hopper: Object.freeze({ stepUs: 1000, perRequestUs: 0, launchUsPerLayer: 0 }),
    other: Object.freeze({ stepUs: 1000, perRequestUs: 0, launchUsPerLayer: 0 }),
  }),
  // validate --fit's in-sample pick (docs/timing.md, "The serving front end").
  serveFrontEnd: Object.freeze({ perRequestUs: 0, perPromptTokenUs: 2, perResponseUs: 110 }),
});

/** Host costs of a profile for a GPU family (the family's fit, else `other`). */
export function hostCostFor(profile: TimingProfile, family: string): HostCostParams {
  return profile.host[family] ?? profile.host.other ?? ZERO_HOST_COST;
}
