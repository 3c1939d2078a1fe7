import { expectInvalid } from "@servesim/testkit";
import { describe, expect, it } from "vitest";
import { lookupGpu } from "../src/catalog/gpus.js";
import { lookupModel } from "../src/catalog/models.js";
import { benchHeuristic, kvCapacity } from "../src/memory.js";

const llama8b = lookupModel("llama-3.1-8b")!.spec;
const h100 = lookupGpu("h100_sxm")!;

describe("KV capacity from GPU memory (KvCacheCreator, tensorrt_llm/_torch/pyexecutor/_util.py)", () => {
  it("Llama-3.1-8B bf16 TP1 on H100, 8192 tokens / 2048 requests", () => {
    const c = kvCapacity({ model: llama8b, gpu: h100, tp: 1, pp: 1, weightDtype: "bf16", kvDtype: "bf16", maxNumTokens: 8192, maxBatchSize: 2048 });
    expect(c.weights).toBe(16_060_522_496);
    expect(c.activations).toBe(8192 * 4096 * 2 * 12);
    expect(c.logits).toBe(2048 * 128_256 * 4);
    expect(c.reserved).toBe(3_758_096_384);
    expect(c.kvMem).toBe(57_802_272_768);
    expect(c.kvBytesPerToken).toBe(131_072);
    expect(c.maxTokens).toBe(440_996);
    expect(c.numBlocks).toBe(13_781);
  });

  it("FP8 weights and KV at TP2 add NCCL memory and halve per-GPU weights", () => {
    const c = kvCapacity({ model: llama8b, gpu: h100, tp: 2, pp: 1, weightDtype: "fp8", kvDtype: "fp8", maxNumTokens: 8192, maxBatchSize: 2048 });
    expect(c.reserved).toBe(3_758_096_384 + 358_612_992);
    expect(c.kvBytesPerToken).toBe(32_768);
    expect(c.numBlocks).toBe(65_155);
  });

  it("max_tokens caps the pool; no memory left gives zero blocks", () => {
    const capped = kvCapacity({
      model: llama8b,
      gpu: h100,
      tp: 1,
      pp: 1,
      weightDtype: "bf16",
      kvDtype: "bf16",
      maxNumTokens: 8192,
      maxBatchSize: 2048,
      maxTokens: 1000,
      tokensPerBlock: 64,
    });
    expect([capped.maxTokens, capped.numBlocks]).toEqual([1000, 15]);
    const l40s = lookupGpu("l40s")!;
    const none = kvCapacity({
      model: lookupModel("llama-3.1-70b")!.spec,
      gpu: l40s,
      tp: 1,
      pp: 1,
      weightDtype: "bf16",
      kvDtype: "bf16",
      maxNumTokens: 8192,
      maxBatchSize: 256,
    });
    expect([none.kvMem, none.numBlocks]).toEqual([0, 0]);
  });

  it("validates its knobs", () => {
    const base = { model: llama8b, gpu: h100, tp: 1, pp: 1, weightDtype: "bf16" as const, kvDtype: "bf16" as const, maxNumTokens: 8192, maxBatchSize: 2048 };
    expectInvalid(() => kvCapacity({ ...base, freeGpuMemoryFraction: 1.5 }), "free_gpu_memory_fraction");
    expectInvalid(() => kvCapacity({ ...base, tokensPerBlock: 0 }), "tokens_per_block");
  });
});

describe("trtllm-bench max_batch_size / max_num_tokens heuristic (tensorrt_llm/bench/build/tuning.py)", () => {
  const base = { model: llama8b, tp: 1, pp: 1, deviceMemBytes: h100.memCapacity, avgIsl: 128, avgOsl: 128, maxIsl: 128, chunkedPrefill: false };

  it("Llama-3.1-8B BF16 → 2048 / 3840", () => {
    const h = benchHeuristic({ ...base, weightDtype: "bf16", kvDtype: "bf16" });
    expect(h.bytePerTokenGiB).toBeCloseTo(1.2207e-4, 8);
    expect(h.engineSizeGiB).toBeCloseTo(14.958, 3);
    expect(h.cacheMemGiB).toBeCloseTo(58.54, 2);
    expect(h.kvMaxRequests).toBeCloseTo(1873.2, 1);
    expect([h.maxBatchSize, h.maxNumTokens]).toEqual([2048, 3840]);
  });

  it("Llama-3.1-8B FP8 weights + FP8 KV → 4096 / 8192", () => {
    const h = benchHeuristic({ ...base, weightDtype: "fp8", kvDtype: "fp8" });
    expect(h.kvMaxRequests).toBeCloseTo(4177.2, 1);
    expect([h.maxBatchSize, h.maxNumTokens]).toEqual([4096, 8192]);
  });

  it("without chunking, max_num_tokens covers the longest prompt plus a full batch", () => {
    const h = benchHeuristic({ ...base, weightDtype: "bf16", kvDtype: "bf16", avgIsl: 1024, avgOsl: 128, maxIsl: 8000 });
    // kv_max_req = 58.54 / (1.2207e-4 × 1152) = 416.3 → 512; raw_tok = 416.3 × 9 = 3746.4 → 3840; 8000 + 512 wins.
    expect([h.maxBatchSize, h.maxNumTokens]).toEqual([512, 8512]);
    const chunked = benchHeuristic({ ...base, weightDtype: "bf16", kvDtype: "bf16", avgIsl: 1024, avgOsl: 128, maxIsl: 8000, chunkedPrefill: true });
    expect([chunked.maxBatchSize, chunked.maxNumTokens]).toEqual([512, 3840]);
  });

  it("a value the user gives wins; the heuristic fills the other", () => {
    expect(benchHeuristic({ ...base, weightDtype: "bf16", kvDtype: "bf16", maxBatchSize: 64 })).toMatchObject({ maxBatchSize: 64, maxNumTokens: 3840 });
    expect(benchHeuristic({ ...base, weightDtype: "bf16", kvDtype: "bf16", maxNumTokens: 16384 })).toMatchObject({ maxBatchSize: 2048, maxNumTokens: 16384 });
    expect(benchHeuristic({ ...base, weightDtype: "bf16", kvDtype: "bf16", maxBatchSize: 8, maxNumTokens: 1024 })).toMatchObject({
      maxBatchSize: 8,
      maxNumTokens: 1024,
    });
  });

  it("small batches round up to 64 and to multiples of 32", () => {
    const llama70b = lookupModel("llama-3.1-70b")!.spec;
    const opts = { ...base, model: llama70b, weightDtype: "bf16" as const, kvDtype: "bf16" as const, avgIsl: 4096, avgOsl: 1024, maxIsl: 4096 };
    // TP2: cache (160 − 131.42)·0.9 = 25.73 GiB; 3.05e-4 GiB/token × 5120 tokens → 16.5 requests → 64.
    const tp2 = benchHeuristic({ ...opts, tp: 2 });
    expect(tp2.kvMaxRequests).toBeCloseTo(16.46, 2);
    expect([tp2.maxBatchSize, tp2.maxNumTokens]).toEqual([64, 4096 + 64]);
    // TP4: (320 − 131.42)·0.9 = 169.7 GiB → 108.6 requests → 128.
    const tp4 = benchHeuristic({ ...opts, tp: 4 });
    expect(tp4.kvMaxRequests).toBeCloseTo(108.6, 1);
    expect([tp4.maxBatchSize, tp4.maxNumTokens]).toEqual([128, 4096 + 128]);
  });

  it("errors when the model or one request does not fit", () => {
    expectInvalid(
      () => benchHeuristic({ ...base, model: lookupModel("llama-3.1-70b")!.spec, weightDtype: "bf16", kvDtype: "bf16" }),
      "config.parallelism.tp",
      /The model requires at least 131\.42 GiB/,
    );
    expectInvalid(
      () => benchHeuristic({ ...base, weightDtype: "bf16", kvDtype: "bf16", deviceMemBytes: 15.5 * 2 ** 30, avgIsl: 100000, avgOsl: 100000 }),
      "config.parallelism.tp",
      /insufficient memory for the KV cache/,
    );
    expectInvalid(() => benchHeuristic({ ...base, weightDtype: "bf16", kvDtype: "bf16", avgOsl: 0 }), "dataset");
  });
});
