import type { EngineProfile } from "./engineProfile.js";

/**
 * TensorRT-LLM's PyTorch backend: `PyExecutor` (tensorrt_llm/_torch/pyexecutor/py_executor.py) with the
 * capacity and micro-batch schedulers of tensorrt_llm/_torch/pyexecutor/scheduler.py and the KV cache of
 * tensorrt_llm/_torch/pyexecutor/resource_manager.py. servesim's default loop is the non-overlap one
 * (`disable_overlap_scheduler: true`); the overlap scheduler is TensorRT-LLM's own default and is
 * chosen with `overlap` / `timing: "overlap"`.
 */
export const trtllmPyExecutor: EngineProfile = {
  name: "trtllm_pyexecutor",
  description: "TensorRT-LLM PyExecutor (PyTorch backend)",
  capacityPolicies: ["guaranteed_no_evict", "max_utilization", "static_batch"],
  timingStrategies: ["non_overlap", "overlap"],
  defaultTiming: "non_overlap",
  defaultQueueOrder: "fcfs",
  queueOrders: ["fcfs"],
  chunkingPolicies: ["first_come_first_served", "equal_progress"],
};
