import { config } from "@servesim/testkit";
import { PredictorKind } from "@servesim/wire/predictor";
import { describe, expect, it } from "vitest";
import { buildPlan } from "../src/plan.js";
import { resolveRun } from "../src/resolve.js";

const plan = (name: string, tp: number) =>
  buildPlan(resolveRun(config({ kind: PredictorKind.PREDICTOR_KIND_ROOFLINE, model: { name }, deviceName: "h100_sxm", parallelism: { tp, pp: 1, ep: 1 } })));

describe("QK-norm kernel (TensorRT-LLM's fused_qk_norm_rope)", () => {
  it("Qwen3-32B runs one per layer, reading and writing the rank's q and k heads", () => {
    const op = plan("Qwen/Qwen3-32B", 8).memoryOps.filter((o) => o.op === "qk_norm_rope");
    // 64 / 8 query heads and 8 / 8 KV heads of 128 bf16 values, each read and written: 2 × 9 × 128 × 2 bytes.
    expect(op).toEqual([{ op: "qk_norm_rope", bytesPerToken: 4608, scale: 64 }]);
    // TP 1: 2 × (64 + 8) × 128 × 2 bytes.
    expect(plan("Qwen/Qwen3-32B", 1).memoryOps.find((o) => o.op === "qk_norm_rope")?.bytesPerToken).toBe(36864);
  });

  it("models without QK norm have no such kernel (their rotary embedding is fused into attention)", () => {
    expect(plan("meta-llama/Llama-3.1-8B-Instruct", 1).memoryOps.map((o) => o.op)).not.toContain("qk_norm_rope");
  });
});
