import { makeBatch, type OpTime } from "@servesim/core";
import { type ConfigPartial, config } from "@servesim/testkit";
import { PredictorKind } from "@servesim/wire/predictor";
import { describe, expect, it } from "vitest";
import { ComposedPredictor } from "../src/compose.js";
import { AIC_EMPIRICAL_EFFICIENCY, ZERO_OVERHEADS } from "../src/efficiency.js";
import { createPredictor, type LocalPredictor } from "../src/factory.js";
import { buildPlan } from "../src/plan.js";
import { resolveRun } from "../src/resolve.js";
import { RooflineKernels, weightTrafficBytes } from "../src/roofline.js";

const cfg8b = (tp: number, extra: ConfigPartial = {}) =>
  config({ kind: PredictorKind.PREDICTOR_KIND_ROOFLINE, model: { name: "llama-3.1-8b" }, deviceName: "h100_sxm", parallelism: { tp, pp: 1, ep: 1 }, ...extra });

/** The roofline predictor with AIC's empirical factors (independent of later calibration). */
async function roofline(tp: number, extra: ConfigPartial = {}): Promise<LocalPredictor> {
  return (await createPredictor(cfg8b(tp, extra), { efficiency: AIC_EMPIRICAL_EFFICIENCY, overheads: ZERO_OVERHEADS })) as LocalPredictor;
}

function kernels(tp: number): RooflineKernels {
  return new RooflineKernels(buildPlan(resolveRun(cfg8b(tp))), AIC_EMPIRICAL_EFFICIENCY);
}

const byOp = (ops: OpTime[]): Record<string, OpTime> => Object.fromEntries(ops.map((o) => [o.op, o]));
const ctx = (inputLength: number, pastKvLength = 0) => ({ context: true, inputLength, pastKvLength });
const gen = (pastKvLength: number) => ({ context: false, inputLength: 1, pastKvLength });

describe("op decomposition of Llama-3.1-8B (FLOPs and bytes over all layers, x = 512 tokens)", () => {
  it("TP1", async () => {
    const ops = byOp((await roofline(1)).breakdown(makeBatch([ctx(512)])) as OpTime[]);
    expect([ops.qkv_gemm!.flops, ops.qkv_gemm!.bytes]).toEqual([824_633_720_832, 1_946_157_056]);
    expect([ops.proj_gemm!.flops, ops.proj_gemm!.bytes]).toEqual([549_755_813_888, 1_342_177_280]);
    expect([ops.gate_ffn1_gemm!.flops, ops.gate_ffn1_gemm!.bytes]).toEqual([3_848_290_697_216, 8_589_934_592]);
    expect([ops.ffn2_gemm!.flops, ops.ffn2_gemm!.bytes]).toEqual([1_924_145_348_608, 4_362_076_160]);
    expect(ops.embedding!.bytes).toBe(512 * 4096 * 2);
    expect(ops.add_norm_1!.bytes).toBe(512 * 32_768 * 32);
    expect(ops.act_gate!.bytes).toBe(512 * 86_016 * 32);
    // LM head on the one sequence, not on 512 tokens.
    expect([ops.logits_gemm!.flops, ops.logits_gemm!.bytes]).toEqual([1_050_673_152, 1_050_937_856]);
    expect([ops.context_attention!.flops, ops.context_attention!.bytes]).toEqual([68_719_476_736, 335_544_320]);
    expect(ops.all_reduce).toBeUndefined();
    expect(ops.generation_attention).toBeUndefined();
  });

  it("TP2 shards heads and FFN and adds two all-reduces per layer", async () => {
    const ops = byOp((await roofline(2)).breakdown(makeBatch([ctx(512)])) as OpTime[]);
    expect([ops.qkv_gemm!.flops, ops.qkv_gemm!.bytes]).toEqual([412_316_860_416, 1_040_187_392]);
    expect([ops.proj_gemm!.flops, ops.proj_gemm!.bytes]).toEqual([274_877_906_944, 738_197_504]);
    expect([ops.gate_ffn1_gemm!.flops, ops.gate_ffn1_gemm!.bytes]).toEqual([1_924_145_348_608, 4_362_076_160]);
    expect([ops.ffn2_gemm!.flops, ops.ffn2_gemm!.bytes]).toEqual([962_072_674_304, 2_248_146_944]);
    expect([ops.logits_gemm!.flops, ops.logits_gemm!.bytes]).toEqual([525_336_576, 525_473_024]);
    expect([ops.context_attention!.flops, ops.context_attention!.bytes]).toEqual([34_359_738_368, 167_772_160]);
    // 64 all-reduces of 512·4096 bf16 elements; a ring sends 2·size·2 B·(t−1)/t each.
    expect(ops.all_reduce!.bytes).toBe(268_435_456);
    expect(ops.all_reduce!.ms).toBeCloseTo((64 * 1000 * 4_194_304) / (450e9 * 0.8), 9);
  });

  it("shapes per GPU match the spec table", () => {
    const shapes = (model: string, tp: number) =>
      buildPlan(resolveRun(config({ model: { name: model }, deviceName: "h100_sxm", parallelism: { tp, pp: 1, ep: 1 } })))
        .gemms.map((g) => `${g.n}x${g.k}`)
        .join(" ");
    expect(shapes("llama-3.1-8b", 1)).toBe("6144x4096 4096x4096 28672x4096 4096x14336");
    expect(shapes("llama-3.1-70b", 4)).toBe("2560x8192 8192x2048 14336x8192 8192x7168");
    expect(shapes("llama-3.1-70b", 8)).toBe("1280x8192 8192x1024 7168x8192 8192x3584");
    expect(shapes("qwen2.5-7b", 1)).toBe("4608x3584 3584x3584 37888x3584 3584x18944");
    expect(shapes("tinyllama", 1)).toBe("2560x2048 2048x2048 11264x2048 2048x5632");
    expect(shapes("mixtral-8x7b", 1)).toBe("6144x4096 4096x4096");
    const lm = (model: string, tp: number) =>
      buildPlan(resolveRun(config({ model: { name: model }, deviceName: "h100_sxm", parallelism: { tp, pp: 1, ep: 1 } }))).logits.n;
    expect([lm("llama-3.1-70b", 8), lm("qwen2.5-7b", 1), lm("mixtral-8x7b", 1)]).toEqual([16_032, 152_064, 32_000]);
  });

  it("a decode step reads the weights once (15.0 GB for the 8B model)", () => {
    expect(weightTrafficBytes(buildPlan(resolveRun(cfg8b(1)))) / 1e9).toBeCloseTo(15.01, 2);
  });
});

describe("roofline op times", () => {
  const k = kernels(1);
  it("GEMM: max(FLOPs/(peak·0.8), bytes/(BW·0.8))", () => {
    const qkv = k.plan.gemms[0]!;
    expect(k.gemmOpMs(qkv, 512)).toBeCloseTo((1000 * 824_633_720_832) / 32 / (989e12 * 0.8), 12); // compute-bound
    expect(k.gemmOpMs(qkv, 1)).toBeCloseTo((1000 * 2 * (6144 + 4096 + 6144 * 4096)) / (3.35e12 * 0.8), 12); // memory-bound
  });
  it("memory ops: bytes/(0.8·BW) + 3 µs", () => {
    expect(k.memoryOpMs(512 * 32_768)).toBeCloseTo((1000 * 512 * 32_768) / (3.35e12 * 0.8) + 0.003, 12);
  });
  it("attention follows the SOL formulas with prefix and KV precision", () => {
    expect(k.ctxAttnMs(1, 1024, 0)).toBeCloseTo((1000 * 2 * 1024 * 1024 * 32 * 128) / (989e12 * 0.6), 12);
    expect(k.ctxAttnMs(1, 1024, 512)).toBeCloseTo((1000 * 2 * (1024 * 1024 - 512 * 512) * 32 * 128) / (989e12 * 0.6), 12);
    const bytes = 8 * (2 * 4096 + 2 * 8 * 1023 * 128 * 2 + 2 * 4096);
    expect(k.genAttnMs(8, 1024)).toBeCloseTo((1000 * bytes) / (3.35e12 * 0.8), 12);
  });
  it("fp8 weights halve GEMM bytes and double the FLOP rate; an fp8 KV cache halves KV reads", async () => {
    const fp8 = new RooflineKernels(buildPlan(resolveRun(cfg8b(1, { weightDtype: 3, kvCacheDtype: 3 }))), AIC_EMPIRICAL_EFFICIENCY);
    const qkv = fp8.plan.gemms[0]!;
    expect(fp8.gemmOpMs(qkv, 4096)).toBeCloseTo(k.gemmOpMs(k.plan.gemms[0]!, 4096) / 2, 12);
    expect(fp8.gemmOpMs(qkv, 1)).toBeCloseTo(k.gemmOpMs(k.plan.gemms[0]!, 1) / 2, 12);
    expect(fp8.plan.logits.dtype).toBe("bf16");
    const bytes = 8 * (2 * 4096 + 2 * 8 * 1023 * 128 * 1 + 2 * 4096);
    expect(fp8.genAttnMs(8, 1024)).toBeCloseTo((1000 * bytes) / (3.35e12 * 0.8), 12);
  });
});

describe("batch composition (per-request aware, docs/performance-models.md)", () => {
  it("mixed batch = dense on all tokens + LM head on sequences + grouped context + generation attention", async () => {
    const p = await roofline(1);
    const k = kernels(1);
    const batch = makeBatch([ctx(512), ctx(256, 256), gen(999), gen(1000), gen(1001)]);
    // Context group: n = 2, ē = 384, p̄ = 128, full_s = 512; r = (512² + 768·256) / (2·640·384).
    const g = ComposedPredictor.contextGroup(batch);
    expect(g).toEqual({ n: 2, fullS: 512, meanPast: 128, ratio: 458_752 / 491_520 });
    const expected = k.denseMs(771) + k.logitsMs(5) + 32 * k.ctxAttnMs(2, 512, 128) * g.ratio + 32 * k.genAttnMs(3, 1001);
    expect(p.predict(batch)).toBeCloseTo(expected, 10);
  });

  it("pure prefill and pure decode use only their attention kernel", async () => {
    const p = await roofline(1);
    const k = kernels(1);
    expect(p.predict(makeBatch([ctx(1024)]))).toBeCloseTo(k.denseMs(1024) + k.logitsMs(1) + 32 * k.ctxAttnMs(1, 1024, 0), 10);
    expect(p.predict(makeBatch([gen(100), gen(201)]))).toBeCloseTo(k.denseMs(2) + k.logitsMs(2) + 32 * k.genAttnMs(2, 152), 10);
  });

  it("a skewed batch: grouped+correction and per-request both exceed the averaged price by the causal-area ratio", async () => {
    const batch = makeBatch([ctx(4096), ctx(128)]);
    const g = ComposedPredictor.contextGroup(batch);
    // (4096² + 128²) / (2·2112²) = 8,396,800 / 4,460,544 (what averaging all lengths, as PR #12700's AIC predictor did, misses).
    expect(g.ratio).toBeCloseTo(8_396_800 / 4_460_544, 12);
    const k = kernels(1);
    const averaged = 32 * k.ctxAttnMs(2, 2112, 0);
    const grouped = byOp((await roofline(1)).breakdown(batch) as OpTime[]).context_attention!.ms;
    const perRequest = byOp((await roofline(1, { ctxAttention: "per-request" })).breakdown(batch) as OpTime[]).context_attention!.ms;
    expect(grouped).toBeCloseTo(averaged * 1.8825, 2);
    expect(perRequest).toBeCloseTo(32 * (k.ctxAttnMs(1, 4096, 0) + k.ctxAttnMs(1, 128, 0)), 10);
    expect(perRequest).toBeGreaterThan(1.8 * averaged);
    // Compute-bound attention: the corrected group is within 1 % of the exact per-request sum.
    expect(Math.abs(grouped / perRequest - 1)).toBeLessThan(0.01);
  });

  it("the imbalance correction is skipped below r = 0.4", () => {
    const g = ComposedPredictor.contextGroup(makeBatch([ctx(1, 10_000), ctx(1000, 0)]));
    expect(g.ratio).toBe(1);
  });

  it("scale factors apply to kernels, overheads are added per step, request and layer", async () => {
    const base = await roofline(1);
    const tuned = (await createPredictor(
      cfg8b(1, { prefillScaleFactor: 2, decodeScaleFactor: 0.5, stepOverheadUs: 100, perRequestOverheadUs: 10, perLayerOverheadUs: 2 }),
      {
        efficiency: AIC_EMPIRICAL_EFFICIENCY,
      },
    )) as LocalPredictor;
    const overhead = 0.1 + 0.002 * 32;
    const prefill = makeBatch([ctx(300), gen(50)]);
    expect(tuned.predict(prefill)).toBeCloseTo(2 * base.predict(prefill) + overhead + 0.02, 10);
    const decode = makeBatch([gen(50), gen(60), gen(70)]);
    expect(tuned.predict(decode)).toBeCloseTo(0.5 * base.predict(decode) + overhead + 0.03, 10);
    const ops = tuned.breakdown(prefill) as OpTime[];
    expect(ops.reduce((s, o) => s + o.ms, 0)).toBeCloseTo(tuned.predict(prefill), 10);
    expect(ops.map((o) => o.op)).toEqual(expect.arrayContaining(["prefill_scale_factor", "step_overhead", "request_overhead", "layer_overhead"]));
  });

  it("breakdown sums to predict", async () => {
    for (const tp of [1, 2, 8]) {
      const p = await roofline(tp);
      for (const batch of [makeBatch([ctx(700, 300), ctx(20), gen(5), gen(4000)]), makeBatch([gen(17)]), makeBatch([ctx(1)])]) {
        const sum = (p.breakdown(batch) as OpTime[]).reduce((s, o) => s + o.ms, 0);
        expect(sum).toBeCloseTo(p.predict(batch), 10);
      }
    }
  });

  it("predictDecodeRun equals step-by-step predict", async () => {
    const p = await roofline(2, { decodeScaleFactor: 1.3, stepOverheadUs: 50, perRequestOverheadUs: 7, perLayerOverheadUs: 1 });
    const past = [100, 251, 3001];
    const run = p.predictDecodeRun(past, 3, 6);
    expect(run).toHaveLength(6);
    // Exactly equal: the engine substitutes decode runs for step-by-step pricing.
    run.forEach((t, i) => expect(t).toBe(p.predict(makeBatch(past.map((x) => gen(x + i))))));
  });

  it("rejects an empty batch", async () => {
    const p = await roofline(1);
    expect(() => p.predict(makeBatch([]))).toThrow(/empty batch/);
  });

  it("Mixtral prices experts through the MoE op and PP adds hand-offs", async () => {
    const mixtral = (await createPredictor(config({ model: { name: "mixtral-8x7b" }, deviceName: "h100_sxm" }), {
      efficiency: AIC_EMPIRICAL_EFFICIENCY,
    })) as LocalPredictor;
    const ops = byOp(mixtral.breakdown(makeBatch([ctx(64)])) as OpTime[]);
    // 64 tokens × top-2 × 4096 × 14336 × 3 × 2 FLOPs per layer.
    expect(ops.moe!.flops).toBe(32 * 64 * 2 * 4096 * 14_336 * 6);
    expect(ops.gate_ffn1_gemm).toBeUndefined();
    const pp = (await createPredictor(cfg8b(1, { parallelism: { tp: 1, pp: 2, ep: 1 } }), { efficiency: AIC_EMPIRICAL_EFFICIENCY })) as LocalPredictor;
    const p2p = byOp(pp.breakdown(makeBatch([ctx(64)])) as OpTime[]).p2p!;
    expect(p2p.bytes).toBe(64 * 4096 * 2);
    expect(p2p.ms).toBeCloseTo((1000 * 64 * 4096 * 2) / 50e9 + 0.01, 12);
  });
});
