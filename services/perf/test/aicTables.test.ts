import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { makeBatch, type OpTime } from "@servesim/core";
import { config, sharedDataPath } from "@servesim/testkit";
import { PredictorKind } from "@servesim/wire/predictor";
import { describe, expect, it } from "vitest";
import { ZERO_OVERHEADS } from "../src/efficiency.js";
import { createPredictor, type LocalPredictor } from "../src/factory.js";

const systemsDir = sharedDataPath("aic-systems");
const present = existsSync(resolve(systemsDir, "data/h100_sxm"));
if (!present) console.log(`skipping AIC table tests: ${systemsDir} not found`);

const noOverheads = { overheads: ZERO_OVERHEADS };

async function aic(device: string, model: string, tp = 1): Promise<LocalPredictor> {
  const cfg = config({
    kind: PredictorKind.PREDICTOR_KIND_AIC,
    model: { name: model },
    deviceName: device,
    databasePath: systemsDir,
    backendVersion: "1.2.0rc5",
    parallelism: { tp, pp: 1, ep: 1 },
  });
  return (await createPredictor(cfg, noOverheads)) as LocalPredictor;
}

/** Per-layer (per-call) latency of an op in a batch's breakdown. */
function perCall(p: LocalPredictor, entries: Parameters<typeof makeBatch>[0], op: string, calls: number): { ms: number; source: string } {
  const o = (p.breakdown(makeBatch(entries)) as OpTime[]).find((x) => x.op === op)!;
  return { ms: o.ms / calls, source: o.source };
}

const ctx = (inputLength: number) => ({ context: true, inputLength, pastKvLength: 0 });
const gen = (pastKvLength: number) => ({ context: false, inputLength: 1, pastKvLength });

// Per-call times read by hand from the AIConfigurator perf database tables (bf16, window 0), [H100, H200];
// the lookup mirrors aiconfigurator/sdk/perf_database.py.
const VECTORS = {
  gemm_m1_qkv: [0.021_020_8, 0.016_848],
  gemm_m4096_qkv: [0.293_912_5, 0.272_414_9],
  gemm_m1_proj: [0.015_980_8, 0.012_692_3],
  ctx_1024: [0.044_4, 0.042_992],
  ctx_4096: [0.382_288, 0.380_336],
  gen_b8: [0.027_882_7, 0.028_549_3],
  gen_b64: [0.083_301_3, 0.081_557_3],
  allreduce_tp2_4096: [0.003_505_6, 0.003_363_8],
  moe_mixtral_1: [0.263_909_3, 0.196_069_3],
};

describe.skipIf(!present)("AIC tables (../shared/aic-systems) reproduce the spec test vectors", () => {
  (["h100_sxm", "h200_sxm"] as const).forEach((device, idx) => {
    it(`${device}: GEMM, attention, all-reduce, MoE at grid points`, async () => {
      const p = await aic(device, "llama-3.1-8b");
      const near = (got: { ms: number; source: string }, want: number) => {
        expect(got.ms).toBeCloseTo(want, 7);
        expect(got.source).toBe("table");
      };
      near(perCall(p, [gen(1023)], "qkv_gemm", 32), VECTORS.gemm_m1_qkv[idx]!);
      near(perCall(p, [gen(1023)], "proj_gemm", 32), VECTORS.gemm_m1_proj[idx]!);
      near(perCall(p, [ctx(4096)], "qkv_gemm", 32), VECTORS.gemm_m4096_qkv[idx]!);
      near(perCall(p, [ctx(1024)], "context_attention", 32), VECTORS.ctx_1024[idx]!);
      near(perCall(p, [ctx(4096)], "context_attention", 32), VECTORS.ctx_4096[idx]!);
      near(
        perCall(
          p,
          Array.from({ length: 8 }, () => gen(1023)),
          "generation_attention",
          32,
        ),
        VECTORS.gen_b8[idx]!,
      );
      near(
        perCall(
          p,
          Array.from({ length: 64 }, () => gen(1023)),
          "generation_attention",
          32,
        ),
        VECTORS.gen_b64[idx]!,
      );
      const tp2 = await aic(device, "llama-3.1-8b", 2);
      near(perCall(tp2, [gen(100)], "all_reduce", 64), VECTORS.allreduce_tp2_4096[idx]!);
      const mixtral = await aic(device, "mixtral-8x7b");
      near(perCall(mixtral, [gen(100)], "moe", 32), VECTORS.moe_mixtral_1[idx]!);
    });
  });

  it("off-grid shapes interpolate or hold utilization, never below SOL", async () => {
    const p = await aic("h100_sxm", "llama-3.1-8b");
    const roof = (await createPredictor(config({ model: { name: "llama-3.1-8b" }, deviceName: "h100_sxm" }), {
      efficiency: {
        gemm: { compute: 1, memory: 1, floorUs: 0, launchUs: 0 },
        fp8ComputeScale: 1,
        contextAttention: { compute: 1, memory: 1, floorUs: 0, launchUs: 0 },
        generationAttention: { compute: 1, memory: 1, floorUs: 0, launchUs: 0 },
        moe: { compute: 1, memory: 1, floorUs: 0, launchUs: 0 },
        memoryOp: { compute: 1, memory: 1, floorUs: 0, launchUs: 0 },
        allReduce: { compute: 1, memory: 1, floorUs: 0, launchUs: 0 },
        p2p: { compute: 1, memory: 1, floorUs: 0, launchUs: 0 },
      },
      ...noOverheads,
    })) as LocalPredictor;
    for (const entries of [[ctx(3000)], [ctx(700), gen(5000), gen(20000)], Array.from({ length: 300 }, (_, i) => gen(100 + 37 * i))]) {
      const a = Object.fromEntries((p.breakdown(makeBatch(entries)) as OpTime[]).map((o) => [o.op, o]));
      const sol = Object.fromEntries((roof.breakdown(makeBatch(entries)) as OpTime[]).map((o) => [o.op, o]));
      for (const op of ["qkv_gemm", "gate_ffn1_gemm", "ffn2_gemm", "logits_gemm", "context_attention", "generation_attention"]) {
        if (!a[op]) continue;
        expect(["table", "interp", "util-extrapolated"]).toContain(a[op]!.source);
        expect(a[op]!.ms).toBeGreaterThanOrEqual(sol[op]!.ms * (1 - 1e-12));
      }
    }
    // The LM head (n = 128256 > 65536) holds the boundary utilization.
    expect(perCall(p, [gen(10)], "logits_gemm", 1).source).toBe("util-extrapolated");
  });

  it("orientation: Llama-3.1-8B bf16 TP1 decode step at KV 1024 is ≈ 6.4 ms (b = 1) … ≈ 10.5 ms (b = 128)", async () => {
    const p = await aic("h100_sxm", "llama-3.1-8b");
    const step = (b: number) => p.predict(makeBatch(Array.from({ length: b }, () => gen(1023))));
    expect(step(1)).toBeGreaterThan(5.8);
    expect(step(1)).toBeLessThan(7.0);
    expect(step(128)).toBeGreaterThan(9.5);
    expect(step(128)).toBeLessThan(12.5);
    const run = p.predictDecodeRun([1023, 1023], 2, 3);
    run.forEach((t, i) => expect(t).toBe(p.predict(makeBatch([gen(1023 + i), gen(1023 + i)]))));
  });

  it("fp8 weights and KV use the fp8 GEMM and attention tables", async () => {
    const p = await aic("h100_sxm", "nvidia/Llama-3.1-8B-Instruct-FP8");
    const ops = Object.fromEntries((p.breakdown(makeBatch([ctx(1024), gen(1023)])) as OpTime[]).map((o) => [o.op, o]));
    for (const op of ["qkv_gemm", "context_attention", "generation_attention"]) expect(ops[op]!.source).not.toBe("roofline-fallback");
    const bf16 = await aic("h100_sxm", "llama-3.1-8b");
    expect(p.predict(makeBatch([ctx(4096)]))).toBeLessThan(bf16.predict(makeBatch([ctx(4096)])));
  });

  it("per-tensor fp8 GEMMs at decode-sized m (≤ 64) take the lower envelope of the fp8 and fp8_block tables", async () => {
    const p = await aic("h200_sxm", "nvidia/Llama-3.1-70B-Instruct-FP8", 4);
    // 70B TP4: qkv n = (64 + 2·8)·128 / 4 = 2560, k = 8192. Table latencies (ms, 1.2.0rc5, H200) at m = 8:
    // fp8 0.0209, fp8_block 0.0155 → 0.0155 per layer; at m = 128 (above the threshold) the per-tensor table
    // alone: 0.0247.
    const decode = (b: number) =>
      perCall(
        p,
        Array.from({ length: b }, () => gen(1023)),
        "qkv_gemm",
        80,
      );
    expect(decode(8).ms).toBeCloseTo(0.0155, 4);
    expect(decode(128).ms).toBeCloseTo(0.0247, 4);
  });

  it("NVFP4 GEMMs at decode-sized m (≤ 64) fall back to the roofline where AIC's torch_flow rows sit on their ~19 µs per-call floor", async () => {
    const cfg = (kind: PredictorKind) =>
      config({
        kind,
        model: { name: "nvidia/Qwen3-32B-NVFP4" },
        deviceName: "b200_sxm",
        databasePath: kind === PredictorKind.PREDICTOR_KIND_AIC ? systemsDir : "",
        backendVersion: kind === PredictorKind.PREDICTOR_KIND_AIC ? "1.2.0rc5" : "",
        parallelism: { tp: 1, pp: 1, ep: 1 },
      });
    const p = (await createPredictor(cfg(PredictorKind.PREDICTOR_KIND_AIC), noOverheads)) as LocalPredictor;
    const roof = (await createPredictor(cfg(PredictorKind.PREDICTOR_KIND_ROOFLINE), noOverheads)) as LocalPredictor;
    const batch = (b: number) => Array.from({ length: b }, () => gen(1023));
    // Qwen3-32B qkv: n = (64 + 2·8)·128 = 10,240, k = 5,120; the table reads ≈ 0.019 ms at m = 8.
    const small = perCall(p, batch(8), "qkv_gemm", 64);
    expect(small.source).toBe("roofline-fallback");
    expect(small.ms).toBeCloseTo(perCall(roof, batch(8), "qkv_gemm", 64).ms, 12);
    expect(small.ms).toBeLessThan(0.019);
    expect(perCall(p, batch(128), "qkv_gemm", 64).source).not.toBe("roofline-fallback");
  });
});
