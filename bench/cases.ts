/** The benchmark's workloads, as job specs (the same spec drives the embedded, predictor and scheduler modes). */
import { DType, PredictorKind } from "@servesim/wire/predictor";
import { ChunkingPolicy, Distribution, JobSpec, SchedulerPolicy } from "@servesim/wire/scheduler";

export interface WorkloadShape {
  numRequests: number;
  isl: number;
  osl: number;
  /** Poisson arrivals (requests/s); 0 = all at t = 0. */
  requestRate?: number;
}

/**
 * Llama-3.1-8B on one H100 SXM, fp8 weights and KV cache, roofline predictor; max_batch_size 512,
 * max_num_tokens 8192, GUARANTEED_NO_EVICT, chunked context (FCFS); KV pool sized from GPU memory;
 * trtllm-bench defaults otherwise (block reuse on, 2 warm-up requests). Token-norm-dist workload with
 * stdev 0 (every request exactly ISL / OSL tokens), token ids included.
 */
export function benchSpec(name: string, w: WorkloadShape): JobSpec {
  return JobSpec.fromPartial({
    name,
    engine: {
      maxBatchSize: 512,
      maxNumTokens: 8192,
      schedulerPolicy: SchedulerPolicy.SCHEDULER_POLICY_GUARANTEED_NO_EVICT,
      enableChunkedContext: true,
      chunkingPolicy: ChunkingPolicy.CHUNKING_POLICY_FIRST_COME_FIRST_SERVED,
      requestRate: w.requestRate ?? 0,
      seed: 0,
    },
    predictor: {
      kind: PredictorKind.PREDICTOR_KIND_ROOFLINE,
      model: { name: "llama-3.1-8b" },
      gpu: { name: "h100_sxm" },
      parallelism: { tp: 1, pp: 1, ep: 1 },
      weightDtype: DType.D_TYPE_FP8,
      kvCacheDtype: DType.D_TYPE_FP8,
    },
    workload: {
      synthetic: {
        distribution: Distribution.DISTRIBUTION_TOKEN_NORM_DIST,
        numRequests: w.numRequests,
        inputMean: w.isl,
        inputStdev: 0,
        outputMean: w.osl,
        outputStdev: 0,
      },
    },
  });
}

/**
 * Case M: nvidia/DeepSeek-R1-0528-FP4 (NVFP4 experts, FP8 KV) on B200, TP8 EP8, roofline predictor;
 * max_batch_size 896, max_num_tokens 8192, concurrency 7,168, chunked context, 100,000 requests of
 * ISL 1024 / OSL 2048 (issue 12's speed case without attention DP, which the engine does not schedule yet).
 */
export function moeBenchSpec(numRequests = 100_000): JobSpec {
  return JobSpec.fromPartial({
    name: "bench G",
    engine: {
      maxBatchSize: 896,
      maxNumTokens: 8192,
      schedulerPolicy: SchedulerPolicy.SCHEDULER_POLICY_GUARANTEED_NO_EVICT,
      enableChunkedContext: true,
      chunkingPolicy: ChunkingPolicy.CHUNKING_POLICY_FIRST_COME_FIRST_SERVED,
      concurrency: 7168,
      seed: 0,
    },
    predictor: {
      kind: PredictorKind.PREDICTOR_KIND_ROOFLINE,
      model: { name: "nvidia/DeepSeek-R1-0528-FP4" },
      gpu: { name: "b200_sxm" },
      parallelism: { tp: 8, pp: 1, ep: 8 },
    },
    workload: {
      synthetic: { distribution: Distribution.DISTRIBUTION_TOKEN_NORM_DIST, numRequests, inputMean: 1024, inputStdev: 0, outputMean: 2048, outputStdev: 0 },
    },
  });
}

/**
 * Case W: case M with attention DP (issue 12's speed case): eight ranks of max_batch_size 896 each, a
 * KV pool per rank, the closed loop of 7,168 spread over the ranks, every iteration priced over all
 * ranks' batches.
 */
export function adpBenchSpec(numRequests = 100_000): JobSpec {
  const spec = moeBenchSpec(numRequests);
  spec.name = "bench W";
  spec.predictor!.parallelism = { tp: 8, pp: 1, ep: 8, attentionDp: true };
  return spec;
}

/**
 * Case V: case W with pipeline parallelism 2 (16 GPUs): every stage's attention data-parallel over eight
 * ranks, two micro-batch slots of 896 per rank, the closed loop of 7,168 on one PipelineLoop (a slot skips
 * its scheduler through decode runs; every micro-batch is still priced, and split over the stages by the
 * predictor's per-stage times). Issue 12 item 8: 100,000 requests within 30 s and 4 GiB.
 */
export function ppAdpBenchSpec(numRequests = 100_000): JobSpec {
  const spec = moeBenchSpec(numRequests);
  spec.name = "bench V";
  spec.predictor!.parallelism = { tp: 8, pp: 2, ep: 8, attentionDp: true };
  return spec;
}

export const SHAPES = {
  /** Cases A, B, C. */
  A: { numRequests: 10_000, isl: 1000, osl: 1000 },
  /** The linearity check against A. */
  A40k: { numRequests: 40_000, isl: 1000, osl: 1000 },
  D: { numRequests: 1_000_000, isl: 128, osl: 128 },
  E: { numRequests: 5_000, isl: 512, osl: 256, requestRate: 40 },
} as const satisfies Record<string, WorkloadShape>;

/**
 * Case K: a 72-GPU GB200 NVL72 disaggregated DeepSeek-R1 cluster (nvidia/DeepSeek-R1-0528-FP4, NVFP4
 * experts, FP8 KV): 2 prefill workers of TP4 EP4 (max_batch_size 8, max_num_tokens 8192, overlap off) and
 * 8 decode workers of TP8 EP8 (max_batch_size 256), roofline predictor; 200,000 requests of ISL 1024 /
 * OSL 1024 at concurrency 2,048 (the decode pool's slots), block reuse off.
 */
export function clusterBenchSpec(numRequests = 200_000): JobSpec {
  return JobSpec.fromPartial({
    name: "bench K",
    // Block reuse off: random synthetic prompts share no prefix, so hashing 200M prompt tokens would only cost time.
    engine: { concurrency: 2048, seed: 0, warmup: 0, enableBlockReuse: false, schedulerPolicy: SchedulerPolicy.SCHEDULER_POLICY_GUARANTEED_NO_EVICT },
    predictor: {
      kind: PredictorKind.PREDICTOR_KIND_ROOFLINE,
      model: { name: "nvidia/DeepSeek-R1-0528-FP4" },
      gpu: { name: "gb200" },
      parallelism: { tp: 8, pp: 1, ep: 8 },
    },
    workload: {
      synthetic: { distribution: Distribution.DISTRIBUTION_TOKEN_NORM_DIST, numRequests, inputMean: 1024, inputStdev: 0, outputMean: 1024, outputStdev: 0 },
    },
    cluster: {
      prefill: { numWorkers: 2, parallelism: { tp: 4, pp: 1, ep: 4 }, maxBatchSize: 8, maxNumTokens: 8192, disableOverlapScheduler: true },
      decode: { numWorkers: 8, parallelism: { tp: 8, pp: 1, ep: 8 }, maxBatchSize: 256, maxNumTokens: 256, router: { type: "least_loaded", weights: {} } },
    },
  });
}
