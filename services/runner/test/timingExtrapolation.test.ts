import { makeBatch, type SimBatch } from "@servesim/core";
import { eagerLaunchMs, hostCostFor, TRTLLM_DEFAULT_CUDA_GRAPHS, TRTLLM_PYTORCH_TIMING, withHostDeviceTiming } from "@servesim/engine";
import { createPredictor, gpuFamily, type LocalPredictor, resolveRun } from "@servesim/perf";
import { DType, PredictorConfig, PredictorKind } from "@servesim/wire/predictor";
import { describe, expect, it } from "vitest";

/**
 * trtllm-bench's heuristic gives max_batch_size up to 4,096 for 8B-class models; max_num_tokens reaches
 * 16,384. At those sizes every host term of the default profile must stay below the device work it hides
 * behind under the overlap scheduler, so that host time never dominates an extrapolated prediction.
 */
const SETUPS = [
  { name: "Llama-3.1-8B bf16, H100, TP1", model: "llama-3.1-8b", gpu: "h100_sxm", tp: 1, dtype: DType.D_TYPE_BF16 },
  { name: "Qwen3-32B fp8, H100, TP1", model: "qwen3-32b", gpu: "h100_sxm", tp: 1, dtype: DType.D_TYPE_FP8 },
  { name: "Llama-3.1-70B fp8, H200, TP4", model: "llama-3.1-70b", gpu: "h200_sxm", tp: 4, dtype: DType.D_TYPE_FP8 },
];

const decode = (n: number, kv: number): SimBatch => makeBatch(Array.from({ length: n }, () => ({ context: false, inputLength: 1, pastKvLength: kv })));
const context = (tokens: number, prompt: number): SimBatch =>
  makeBatch(Array.from({ length: tokens / prompt }, () => ({ context: true, inputLength: prompt, pastKvLength: 0 })));

describe("host terms extrapolate sanely (max_batch_size 4,096, max_num_tokens 16,384)", () => {
  for (const s of SETUPS) {
    it(s.name, async () => {
      {
        const kind = PredictorKind.PREDICTOR_KIND_ROOFLINE;
        const config = {
          ...PredictorConfig.fromPartial({}),
          kind,
          deviceName: s.gpu,
          model: { name: s.model },
          parallelism: { tp: s.tp, pp: 1, ep: 1 },
          weightDtype: s.dtype,
          kvCacheDtype: s.dtype,
        };
        const p = (await createPredictor(config)) as LocalPredictor;
        const run = resolveRun(config);
        const host = hostCostFor(TRTLLM_PYTORCH_TIMING, gpuFamily(run.gpu));
        const layers = run.model.numLayers;
        const timing = { model: "overlap" as const, host, cudaGraphs: TRTLLM_DEFAULT_CUDA_GRAPHS, layers };
        const timed = withHostDeviceTiming(p, timing);
        for (const b of [decode(4096, 128), decode(4096, 2048), decode(128, 128), context(16384, 1024), context(16384, 16384)]) {
          const device = p.predict(b);
          const n = b.numContext + b.numGeneration;
          const terms = { step: host.stepUs / 1000, perRequest: (host.perRequestUs * n) / 1000, launch: eagerLaunchMs(layers, host) };
          for (const [term, ms] of Object.entries(terms)) {
            expect(ms, `${s.name}: ${term} host term at ${n} requests vs device ${device.toFixed(2)} ms`).toBeLessThan(device);
          }
          // Hidden behind the device: the wall time is the device time.
          expect(timed.predict(b)).toBe(device);
        }
      }
    });
  }
});
