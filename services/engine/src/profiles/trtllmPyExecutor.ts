import { TRTLLM_PYTORCH_TIMING } from "../timing/profile.js";
import type { EngineProfile } from "./engineProfile.js";

/**
 * TensorRT-LLM's PyTorch backend: `PyExecutor` (tensorrt_llm/_torch/pyexecutor/py_executor.py) with the
 * capacity and micro-batch schedulers of tensorrt_llm/_torch/pyexecutor/scheduler.py and the KV cache of
 * tensorrt_llm/_torch/pyexecutor/resource_manager.py. The engine library's default loop is the non-overlap
 * one; jobs on a simulated GPU start from `timing` (TensorRT-LLM's defaults: the overlap scheduler, CUDA
 * graphs, fitted host costs) and select the overlap strategy through EngineSettings.overlap.
 */
export const trtllmPyExecutor: EngineProfile = {
  name: "trtllm_pyexecutor",
  description: "TensorRT-LLM PyExecutor (PyTorch backend)",
  capacityPolicies: ["guaranteed_no_evict", "max_utilization", "static_batch"],
  timingStrategies: ["non_overlap", "overlap"],
  defaultTiming: "non_overlap",
  timing: TRTLLM_PYTORCH_TIMING,
  defaultQueueOrder: "fcfs",
  queueOrders: ["fcfs"],
  chunkingPolicies: ["first_come_first_served", "equal_progress"],
};
