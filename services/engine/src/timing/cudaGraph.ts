/**
 * CUDA graphs of TensorRT-LLM's PyTorch backend (`cuda_graph_config` in the LLM API,
 * tensorrt_llm/llmapi/llm_args.py `CudaGraphConfig`; captured and replayed by
 * tensorrt_llm/_torch/pyexecutor/cuda_graph_runner.py).
 *
 * A graph is captured per batch size at start-up and replayed for decode-only iterations of exactly that
 * size: one launch instead of one per kernel. An iteration with any context request, or a decode batch of
 * a size that has no graph, runs eagerly: the host launches every kernel itself. With `enable_padding` a
 * decode batch is rounded up to the next captured size (dummy requests fill it), so it always replays a
 * graph, at the price of computing the padded rows.
 */

export interface CudaGraphSettings {
  /** Captured batch sizes, ascending, distinct, each >= 1. */
  batchSizes: readonly number[];
  enablePadding: boolean;
}

/** TensorRT-LLM's default `cuda_graph_config.max_batch_size` (0 there means 128). */
export const DEFAULT_CUDA_GRAPH_MAX_BATCH_SIZE = 128;

/**
 * The batch sizes TensorRT-LLM captures when `cuda_graph_config.batch_sizes` is not given
 * (`CudaGraphConfig._generate_cuda_graph_batch_sizes`): with padding 1, 2, 4 and multiples of 8 up to 128;
 * without, every size up to 31, then 32, 64 and 128; then powers of two from 256 below the maximum, and the
 * maximum itself; all capped at the maximum.
 */
export function defaultCudaGraphBatchSizes(maxBatchSize: number = DEFAULT_CUDA_GRAPH_MAX_BATCH_SIZE, enablePadding = false): number[] {
  if (!(Number.isInteger(maxBatchSize) && maxBatchSize >= 1)) throw new RangeError(`cuda graph max batch size must be an integer >= 1 (got ${maxBatchSize})`);
  const sizes: number[] = enablePadding
    ? [1, 2, 4, ...Array.from({ length: 16 }, (_, i) => (i + 1) * 8)]
    : [...Array.from({ length: 31 }, (_, i) => i + 1), 32, 64, 128];
  for (let p = 256; p < maxBatchSize; p *= 2) sizes.push(p);
  const kept = sizes.filter((s) => s <= maxBatchSize);
  if (kept[kept.length - 1] !== maxBatchSize) kept.push(maxBatchSize);
  return [...new Set(kept)].sort((a, b) => a - b);
}

/** TensorRT-LLM's default: graphs on, default sizes, no padding. */
export const TRTLLM_DEFAULT_CUDA_GRAPHS: CudaGraphSettings = Object.freeze({
  batchSizes: Object.freeze(defaultCudaGraphBatchSizes()),
  enablePadding: false,
});

/**
 * How a decode-only batch of `n` requests runs: the graph size it replays (n itself, or the next captured
 * size with padding), or 0 when it runs eagerly. `settings` null = CUDA graphs off (always eager).
 */
export function graphBatchSize(n: number, settings: CudaGraphSettings | null): number {
  if (settings === null || n <= 0) return 0;
  const sizes = settings.batchSizes;
  // Binary search for the first captured size >= n.
  let lo = 0;
  let hi = sizes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sizes[mid]! < n) lo = mid + 1;
    else hi = mid;
  }
  if (lo === sizes.length) return 0;
  const s = sizes[lo]!;
  if (s === n) return n;
  return settings.enablePadding ? s : 0;
}

/** Validates user-given settings (batch sizes from `cuda_graph_config.batch_sizes`). */
export function checkCudaGraphSettings(s: CudaGraphSettings, field: string): string | null {
  if (s.batchSizes.length === 0) return `${field}.batch_sizes must not be empty`;
  let prev = 0;
  for (const b of s.batchSizes) {
    if (!(Number.isInteger(b) && b >= 1 && b <= 1 << 20)) return `${field}.batch_sizes must hold integers in [1, 1048576] (got ${String(b)})`;
    if (b <= prev) return `${field}.batch_sizes must be ascending and distinct`;
    prev = b;
  }
  return null;
}
