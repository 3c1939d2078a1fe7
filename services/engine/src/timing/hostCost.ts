import type { SimBatch } from "@servesim/core";

/**
 * Host (CPU) work of one PyExecutor iteration, in microseconds: what the Python executor loop does
 * around the kernels (tensorrt_llm/_torch/pyexecutor/py_executor.py).
 *
 * - `stepUs`: once per iteration, whatever the batch: fetching new requests, the capacity and
 *   micro-batch schedulers, building the batch's input tensors and launching the sampler. A fixed cost
 *   because these are a handful of Python calls and tensor copies whose size hardly matters.
 * - `perRequestUs`: once per scheduled request: its per-request Python bookkeeping (position ids and
 *   KV block offsets in the inputs, appending the sampled token, the response object sent to the
 *   server process). Linear in the requests of the batch, because each is a Python object visited in
 *   a loop; not in the tokens, which travel as tensors.
 * - `launchUsPerLayer`: kernel launches of one decoder layer when the iteration runs eagerly (a batch
 *   with context requests, or a decode batch without a CUDA graph): the host issues every kernel
 *   itself (~10–15 per layer, a few µs each). The launches run ahead of the GPU asynchronously, so they
 *   only cost time when the GPU finishes the kernels faster than the host issues them:
 *   device time becomes max(kernel time, launch time). A CUDA-graph replay is one launch (in stepUs).
 */
export interface HostCostParams {
  stepUs: number;
  perRequestUs: number;
  launchUsPerLayer: number;
}

export const ZERO_HOST_COST: HostCostParams = Object.freeze({ stepUs: 0, perRequestUs: 0, launchUsPerLayer: 0 });

/** The iteration's host time (ms): the fixed step cost plus the per-request cost of every scheduled request. */
export function hostTimeMs(batch: Pick<SimBatch, "numContext" | "numGeneration">, p: HostCostParams): number {
  return (p.stepUs + p.perRequestUs * (batch.numContext + batch.numGeneration)) / 1000;
}

/** Host time of issuing one eager iteration's kernels (ms) for `layers` decoder layers on this rank. */
export function eagerLaunchMs(layers: number, p: HostCostParams): number {
  return (p.launchUsPerLayer * layers) / 1000;
}

/** Validates host parameters (finite, >= 0, at most 1 s each); returns the problem or null. */
export function checkHostCost(p: HostCostParams, field: string): string | null {
  for (const [k, v] of [
    ["step_us", p.stepUs],
    ["per_request_us", p.perRequestUs],
    ["launch_us_per_layer", p.launchUsPerLayer],
  ] as const) {
    if (!(typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 1e6)) return `${field}.${k} must be a number in [0, 1000000] µs (got ${String(v)})`;
  }
  return null;
}
