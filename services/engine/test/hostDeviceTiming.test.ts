import { type BatchPredictor, makeBatch, type SimBatch } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { defaultCudaGraphBatchSizes, graphBatchSize, TRTLLM_DEFAULT_CUDA_GRAPHS } from "../src/timing/cudaGraph.js";
import { eagerLaunchMs, hostTimeMs } from "../src/timing/hostCost.js";
import { describeTiming, type TimingSettings, withHostDeviceTiming } from "../src/timing/hostDeviceTiming.js";

/** Device time: 1 ms + 0.01 ms per request + 0.001 ms per KV token (decode), 0.002 ms per prompt token. */
class LinearDevice implements BatchPredictor {
  readonly description = "linear";
  calls: number[] = [];
  predict(b: SimBatch): number {
    let t = 1 + 0.01 * (b.numContext + b.numGeneration) + 0.002 * b.numContextTokens;
    for (let i = b.numContext; i < b.numContext + b.numGeneration; i++) t += 0.001 * b.pastKvLength[i]!;
    this.calls.push(b.numContext + b.numGeneration);
    return t;
  }
  predictDecodeRun(pastKv: ArrayLike<number>, count: number, steps: number): number[] {
    return Array.from({ length: steps }, (_, s) =>
      this.predict(makeBatch(Array.from({ length: count }, (_, j) => ({ context: false, inputLength: 1, pastKvLength: pastKv[j]! + s })))),
    );
  }
}

const decode = (n: number, kv = 100): SimBatch => makeBatch(Array.from({ length: n }, () => ({ context: false, inputLength: 1, pastKvLength: kv })));
const host = { stepUs: 500, perRequestUs: 10, launchUsPerLayer: 100 };
const settings = (model: TimingSettings["model"], over: Partial<TimingSettings> = {}): TimingSettings => ({
  model,
  host,
  cudaGraphs: TRTLLM_DEFAULT_CUDA_GRAPHS,
  layers: 32,
  ...over,
});

describe("CUDA graph batch sizes (CudaGraphConfig._generate_cuda_graph_batch_sizes)", () => {
  it("default: 1..31, 32, 64, 128 without padding; 1, 2, 4 and multiples of 8 with", () => {
    expect(defaultCudaGraphBatchSizes()).toEqual([...Array.from({ length: 31 }, (_, i) => i + 1), 32, 64, 128]);
    expect(defaultCudaGraphBatchSizes(128, true)).toEqual([1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128]);
    expect(defaultCudaGraphBatchSizes(1024, true).slice(-4)).toEqual([128, 256, 512, 1024]);
    expect(defaultCudaGraphBatchSizes(1024, false).slice(-4)).toEqual([128, 256, 512, 1024]);
    expect(defaultCudaGraphBatchSizes(40, false).slice(-3)).toEqual([31, 32, 40]);
    expect(() => defaultCudaGraphBatchSizes(0)).toThrow(/>= 1/);
  });

  it("a decode batch replays its own graph, the padded one, or runs eagerly", () => {
    expect(graphBatchSize(17, TRTLLM_DEFAULT_CUDA_GRAPHS)).toBe(17);
    expect(graphBatchSize(33, TRTLLM_DEFAULT_CUDA_GRAPHS)).toBe(0);
    expect(graphBatchSize(129, TRTLLM_DEFAULT_CUDA_GRAPHS)).toBe(0);
    const padded = { batchSizes: defaultCudaGraphBatchSizes(128, true), enablePadding: true };
    expect(graphBatchSize(33, padded)).toBe(40);
    expect(graphBatchSize(3, padded)).toBe(4);
    expect(graphBatchSize(129, padded)).toBe(0);
    expect(graphBatchSize(5, null)).toBe(0);
  });
});

describe("host cost", () => {
  it("step + per request; eager launches per layer", () => {
    expect(hostTimeMs(decode(8), host)).toBeCloseTo(0.58, 12);
    expect(eagerLaunchMs(32, host)).toBeCloseTo(3.2, 12);
  });
});

describe("host/device timing", () => {
  it("whole-iteration returns the predictor itself", () => {
    const d = new LinearDevice();
    expect(withHostDeviceTiming(d, settings("whole-iteration"))).toBe(d);
  });

  it("non-overlap adds host to device; overlap hides the smaller behind the larger", () => {
    const d = new LinearDevice();
    // 8 requests at KV 100: device 1 + 0.08 + 0.8 = 1.88 ms (graph 8 captured, no launch floor); host 0.58 ms.
    expect(withHostDeviceTiming(d, settings("non-overlap")).predict(decode(8))).toBeCloseTo(1.88 + 0.58, 12);
    expect(withHostDeviceTiming(d, settings("overlap")).predict(decode(8))).toBeCloseTo(1.88, 12);
    const big = { stepUs: 5000, perRequestUs: 0, launchUsPerLayer: 0 };
    expect(withHostDeviceTiming(d, settings("overlap", { host: big })).predict(decode(8))).toBeCloseTo(5, 12);
  });

  it("attention DP: the busiest rank's host; eager when any rank has a context or the largest rank batch has no graph", () => {
    const d = new LinearDevice();
    // Ranks 0, 0, 0, 1: 4 requests at KV 100, device 1 + 0.04 + 0.4 = 1.44 ms; host of rank 0: 0.5 + 3 × 0.01 = 0.53 ms.
    const ranked: SimBatch = { ...decode(4), attentionDpRank: [0, 0, 0, 1] };
    expect(withHostDeviceTiming(d, settings("non-overlap")).predict(ranked)).toBeCloseTo(1.44 + 0.53, 12);
    expect(withHostDeviceTiming(d, settings("overlap")).predict(ranked)).toBeCloseTo(1.44, 12);
    // 40 requests on rank 0 (no graph of 40): eager; the launches (32 × 0.1 = 3.2 ms) exceed the kernels (1.82 ms).
    const wide: SimBatch = { ...decode(41, 10), attentionDpRank: [...Array.from({ length: 40 }, () => 0), 1] };
    expect(withHostDeviceTiming(d, settings("overlap")).predict(wide)).toBeCloseTo(3.2, 12);
  });

  it("an eager iteration costs at least its kernel launches; a captured one does not", () => {
    const d = new LinearDevice();
    const t = withHostDeviceTiming(d, settings("overlap", { host: { stepUs: 0, perRequestUs: 0, launchUsPerLayer: 100 } }));
    // 33 requests: no graph of that size → eager; device 1 + 0.33 + 3.3 = 4.63 ms exceeds the 3.2 ms of launches.
    expect(t.predict(decode(33))).toBeCloseTo(4.63, 12);
    // KV 0: device 1.33 ms < launches 3.2 ms.
    expect(t.predict(decode(33, 0))).toBeCloseTo(3.2, 12);
    expect(t.predict(decode(32, 0))).toBeCloseTo(1.32, 12);
    // A context iteration is always eager.
    expect(t.predict(makeBatch([{ context: true, inputLength: 100, pastKvLength: 0 }]))).toBeCloseTo(3.2, 12);
    // CUDA graphs off: every iteration eager.
    const off = withHostDeviceTiming(d, settings("overlap", { cudaGraphs: null, host: { stepUs: 0, perRequestUs: 0, launchUsPerLayer: 100 } }));
    expect(off.predict(decode(8, 0))).toBeCloseTo(3.2, 12);
  });

  it("padding prices the padded batch (dummies at one KV token); decode runs equal step-by-step pricing", () => {
    const d = new LinearDevice();
    const cg = { batchSizes: defaultCudaGraphBatchSizes(128, true), enablePadding: true };
    const t = withHostDeviceTiming(d, settings("non-overlap", { cudaGraphs: cg }));
    // 33 → 40: device 1 + 0.40 + 0.001 × (33 × 100 + 7 × 1) = 4.707; host 0.5 + 0.33.
    expect(t.predict(decode(33))).toBeCloseTo(4.707 + 0.83, 12);
    const pastKv = Int32Array.from({ length: 33 }, (_, i) => 50 + i);
    const run = t.predictDecodeRun!(pastKv, 33, 4) as ArrayLike<number>;
    for (let s = 0; s < 4; s++) {
      const b = makeBatch(Array.from({ length: 33 }, (_, j) => ({ context: false, inputLength: 1, pastKvLength: pastKv[j]! + s })));
      expect(run[s]).toBe(t.predict(b));
    }
    // Unpadded runs use the inner decode run.
    const plain = withHostDeviceTiming(d, settings("non-overlap"));
    const r2 = plain.predictDecodeRun!(pastKv.subarray(0, 16), 16, 3) as ArrayLike<number>;
    for (let s = 0; s < 3; s++) {
      const b = makeBatch(Array.from({ length: 16 }, (_, j) => ({ context: false, inputLength: 1, pastKvLength: pastKv[j]! + s })));
      expect(r2[s]).toBe(plain.predict(b));
    }
  });

  it("asynchronous predictors are timed the same way", async () => {
    const d = new LinearDevice();
    const remote: BatchPredictor = { description: "remote", predict: (b) => Promise.resolve(d.predict(b)) };
    const t = withHostDeviceTiming(remote, settings("non-overlap"));
    await expect(t.predict(decode(8))).resolves.toBeCloseTo(2.46, 12);
  });

  it("describes itself for reports", () => {
    expect(describeTiming(settings("overlap"))).toBe(
      "overlap (host 500 µs + 10 µs/request, eager launch 100 µs/layer; CUDA graphs 34 sizes 1–128, no padding)",
    );
    expect(describeTiming(settings("whole-iteration"))).toBe("whole-iteration (the predictor's times are wall times)");
  });
});
