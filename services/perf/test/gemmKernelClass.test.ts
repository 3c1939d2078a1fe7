import { config } from "@servesim/testkit";
import { PredictorKind } from "@servesim/wire/predictor";
import { describe, expect, it } from "vitest";
import { AIC_EMPIRICAL_EFFICIENCY, defaultEfficiency, type Efficiency } from "../src/efficiency.js";
import { gemmKernelClass } from "../src/gemmKernelClass.js";
import { buildPlan } from "../src/plan.js";
import { resolveRun } from "../src/resolve.js";
import { RooflineKernels } from "../src/roofline.js";

describe("GEMM kernel classes", () => {
  it("DeepSeek's min-latency kernels up to 16 unquantized tokens, NVFP4/FP8-block GEMMs, the rest plain", () => {
    expect(gemmKernelClass({ dtype: "bf16", minLatency: true }, 1)).toBe("minLatency");
    expect(gemmKernelClass({ dtype: "bf16", minLatency: true }, 16)).toBe("minLatency");
    expect(gemmKernelClass({ dtype: "bf16", minLatency: true }, 17)).toBe("plain");
    expect(gemmKernelClass({ dtype: "fp8_block", minLatency: true }, 4)).toBe("lowPrecision");
    expect(gemmKernelClass({ dtype: "nvfp4" }, 8)).toBe("lowPrecision");
    expect(gemmKernelClass({ dtype: "fp8" }, 8)).toBe("plain");
    expect(gemmKernelClass({ dtype: "bf16" }, 8)).toBe("plain");
  });

  it("the roofline prices each GEMM with its class's floor (NVIDIA's DeepSeek-R1 NVFP4 checkpoint on B200, one token)", () => {
    const op = (floorUs: number) => ({ compute: 0.8, memory: 0.6, floorUs, launchUs: 0 });
    const eff: Efficiency = { ...AIC_EMPIRICAL_EFFICIENCY, gemm: op(100), gemmKernels: { lowPrecision: op(50), minLatency: op(10) } };
    const run = resolveRun(
      config({
        kind: PredictorKind.PREDICTOR_KIND_ROOFLINE,
        model: { name: "nvidia/DeepSeek-R1-0528-FP4" },
        deviceName: "b200_sxm",
        parallelism: { tp: 8, pp: 1, ep: 8 },
      }),
    );
    const plan = buildPlan(run);
    const k = new RooflineKernels(plan, eff);
    const g = (name: string) => plan.gemms.find((x) => x.op === name)!;
    // Every weight read at m = 1 is far below these floors, so each call costs its class's floor.
    expect(k.gemmOpMs(g("mla_fused_a_gemm"), 1)).toBe(0.01);
    expect(k.gemmOpMs(g("router_gemm"), 1)).toBe(0.01);
    expect(k.gemmOpMs(g("shared_gate_up_gemm"), 1)).toBe(0.05);
    expect(k.gemmOpMs(g("mla_q_b_gemm"), 1)).toBe(0.1);
    expect(k.gemmOpMs(g("mla_fused_a_gemm"), 32)).toBe(0.1);
  });

  it("only DeepSeek-V3's modeling marks its fused-A and router GEMMs (gpt-oss's router is a plain GEMM)", () => {
    const marked = (name: string) =>
      buildPlan(
        resolveRun(config({ kind: PredictorKind.PREDICTOR_KIND_ROOFLINE, model: { name }, deviceName: "b200_sxm", parallelism: { tp: 8, pp: 1, ep: 8 } })),
      )
        .gemms.filter((x) => x.minLatency)
        .map((x) => x.op);
    expect(marked("deepseek-ai/DeepSeek-R1")).toEqual(["mla_fused_a_gemm", "router_gemm"]);
    expect(marked("openai/gpt-oss-120b")).toEqual([]);
  });

  it("families without class factors price every GEMM with the GEMM factors", () => {
    const hopper = defaultEfficiency({ name: "h100_sxm", smVersion: 90 } as Parameters<typeof defaultEfficiency>[0]);
    expect(hopper.gemmKernels).toBeUndefined();
  });
});
