import { makeBatch, type OpTime, type SimBatch } from "@servesim/core";
import { config, expectInvalid } from "@servesim/testkit";
import { DType, type PredictorConfig } from "@servesim/wire/predictor";
import { describe, expect, it } from "vitest";
import type { ComposedPredictor } from "../src/compose.js";
import { ZERO_OVERHEADS } from "../src/efficiency.js";
import { createPredictor } from "../src/factory.js";
import { powerLawRankLoad } from "../src/moeLoad.js";
import { buildPlan } from "../src/plan.js";
import { stageScopes } from "../src/predictors/roofline.js";
import { resolveRun } from "../src/resolve.js";
import { causalArea, genKeys, mlaBmmFlops, mlaCtxFlops, mlaGenBytes, mlaGenFlops, windowCtxAttnFlops } from "../src/sol.js";

type Partial = Parameters<typeof config>[0];
const ds = (extra: Partial = {}) =>
  config({ model: { name: "deepseek-ai/DeepSeek-R1" }, deviceName: "b200_sxm", parallelism: { tp: 8, pp: 1, ep: 8 }, ...extra });
const ctx = (e: number, p = 0) => ({ context: true, inputLength: e, pastKvLength: p });
const gen = (p: number) => ({ context: false, inputLength: 1, pastKvLength: p });
const roofline = async (c: PredictorConfig): Promise<ComposedPredictor> => (await createPredictor(c, { overheads: ZERO_OVERHEADS })) as ComposedPredictor;
const sum = (ops: OpTime[]): number => ops.reduce((s, o) => s + o.ms, 0);

describe("MoE parallelism (tensorrt_llm/mapping.py)", () => {
  it("MoE TP × EP = TP: MoE TP by default, EP or MoE TP fill the other", () => {
    const pick = (p: Record<string, unknown>) => {
      const r = resolveRun(ds({ parallelism: { tp: 8, pp: 1, ep: 0, ...p } as never }));
      return [r.moeTp, r.ep];
    };
    expect(pick({})).toEqual([8, 1]);
    expect(pick({ ep: 8 })).toEqual([1, 8]);
    expect(pick({ ep: 4 })).toEqual([2, 4]);
    expect(pick({ moeTp: 2 })).toEqual([2, 4]);
    expect(pick({ moeTp: 2, ep: 4 })).toEqual([2, 4]);
    expectInvalid(() => pick({ moeTp: 2, ep: 2 }), "config.parallelism.moe_tp", /MoE TP 2 × EP 2 must equal TP 8/);
    expectInvalid(() => pick({ ep: 3 }), "config.parallelism.ep", /EP 3 must divide TP 8/);
    expectInvalid(
      () => resolveRun(config({ model: { name: "llama-3.1-8b" }, deviceName: "h100_sxm", parallelism: { tp: 2, pp: 1, ep: 1, moeTp: 2 } })),
      "config.parallelism.moe_tp",
    );
    expectInvalid(
      () => resolveRun(config({ model: { name: "llama-3.1-8b" }, deviceName: "h100_sxm", parallelism: { tp: 2, pp: 1, ep: 1, attentionDp: true } })),
      "config.parallelism.attention_dp",
      /needs an MoE model/,
    );
  });

  it("the MoE communication TensorRT-LLM picks: all-reduce without attention DP, all-gather/reduce-scatter, NVLink one-sided on NVL72", () => {
    const comm = (gpu: string, p: Record<string, unknown>, moe?: PredictorConfig["moe"]) =>
      resolveRun(ds({ deviceName: gpu, parallelism: { tp: 8, pp: 1, ep: 8, ...p } as never, ...(moe ? { moe } : {}) })).moe!.communication;
    expect(comm("b200_sxm", {})).toBe("allreduce");
    expect(comm("b200_sxm", { attentionDp: true })).toBe("allgather");
    expect(comm("gb200", { attentionDp: true })).toBe("nvlink_one_sided");
    expect(comm("gb200", { attentionDp: true, ep: 4, moeTp: 2 })).toBe("allgather");
    expect(comm("h200_sxm", { attentionDp: true })).toBe("allgather");
    expect(comm("b200_sxm", { attentionDp: true }, { distribution: "", eplb: false, communication: "alltoall" })).toBe("alltoall");
    // Before 1.2 the MNNVL all-to-all also needed more EP ranks than experts per token (DeepSeek: top-8).
    const versioned = (v: string, ep: number) =>
      resolveRun(ds({ deviceName: "gb200", backendVersion: v, parallelism: { tp: ep, pp: 1, ep, attentionDp: true } })).moe!.communication;
    expect([versioned("1.1.0rc2.post2", 8), versioned("1.1.0rc2.post2", 16), versioned("1.2.0rc6", 8)]).toEqual([
      "allgather",
      "nvlink_one_sided",
      "nvlink_one_sided",
    ]);
    expectInvalid(() => comm("b200_sxm", {}, { distribution: "", eplb: false, communication: "allgather" }), "config.moe.communication");
    expectInvalid(
      () => comm("b200_sxm", { attentionDp: true, ep: 4, moeTp: 2 }, { distribution: "", eplb: false, communication: "nvlink_one_sided" }),
      "config.moe.communication",
      /needs MoE TP 1/,
    );
  });

  it("routing skew: AIC's power laws by family, balanced on request; bad values name the field", () => {
    const dist = (model: string, d = "") =>
      resolveRun(config({ model: { name: model }, deviceName: "h200_sxm", moe: { distribution: d, eplb: false, communication: "" } })).moe!.distribution;
    expect(dist("deepseek-ai/DeepSeek-R1")).toEqual({ kind: "power_law", alpha: 1.01 });
    expect(dist("Qwen/Qwen3-235B-A22B-FP8")).toEqual({ kind: "power_law", alpha: 1.2 });
    expect(dist("mixtral-8x7b")).toEqual({ kind: "balanced" });
    expect(dist("Qwen/Qwen3-235B-A22B-FP8", "balanced")).toEqual({ kind: "balanced" });
    expect(dist("Qwen/Qwen3-235B-A22B-FP8", "power_law_1.5")).toEqual({ kind: "power_law", alpha: 1.5 });
    expectInvalid(() => dist("Qwen/Qwen3-235B-A22B-FP8", "zipf"), "config.moe.distribution");
  });

  it("the most loaded EP rank under a power law: deterministic, at least the even share, at most every pair", () => {
    const a = powerLawRankLoad(1024, 256, 8, 8, 1.01);
    expect(powerLawRankLoad(1024, 256, 8, 8, 1.01)).toEqual(a);
    expect(a.pairs).toBeGreaterThan((1024 * 8) / 8);
    expect(a.pairs).toBeLessThanOrEqual(1024 * 8);
    expect(a.activeExperts).toBeLessThanOrEqual(32);
    const one = powerLawRankLoad(1, 256, 8, 8, 1.01);
    expect(one.pairs).toBeLessThanOrEqual(8);
    expect(one.activeExperts).toBeLessThanOrEqual(8);
  });
});

describe("speed-of-light formulas (per layer)", () => {
  it("MLA: absorbed decode over the cached latent, context over expanded heads, the BMMs", () => {
    // DeepSeek-V3: 128 heads; kv_lora 512, rope 64: QK over 576 and PV over 512 per cached token.
    expect(mlaGenFlops(4, 1000, 128, 512, 64)).toBe(2 * 4 * 128 * 1088 * 1000);
    expect(mlaGenBytes(4, 1000, 128, 512, 64, "fp8")).toBe(4 * (128 * 1088 * 2 + 1000 * 576));
    expect(mlaCtxFlops(2, 1024, 0, 128, 192, 128, 0)).toBe(2 * 128 * 320 * 1024 * 1024);
    expect(mlaBmmFlops(64, 16, 128, 512)).toBe(2 * 64 * 16 * 128 * 512);
  });

  it("windows and DSA's top-k cap the causal area and the decode keys", () => {
    expect(causalArea(1024, 0, 0)).toBe((1024 * 1024) / 2);
    expect(causalArea(1024, 0, 128)).toBe((128 * 128) / 2 + 128 * (1024 - 128));
    expect(causalArea(1024, 512, 128)).toBe(128 * 512);
    expect(causalArea(100, 0, 128)).toBe(5000);
    expect(windowCtxAttnFlops(1, 1024, 0, 8, 64, 128)).toBe(4 * 8 * 64 * causalArea(1024, 0, 128));
    expect([genKeys(1000, 128), genKeys(100, 128), genKeys(1000, 0)]).toEqual([128, 99, 999]);
  });
});

describe("the plan of a DeepSeek-V3 layout", () => {
  it("TP8: MLA projections sharded by 8 heads-wise, dense FFN in 3 layers, 58 MoE layers with shared expert, 2 all-reduces per layer", () => {
    const p = buildPlan(resolveRun(ds()));
    const g = Object.fromEntries(p.gemms.map((x) => [x.op, x]));
    expect([g.mla_fused_a_gemm!.n, g.mla_fused_a_gemm!.k, g.mla_fused_a_gemm!.scale]).toEqual([1536 + 512 + 64, 7168, 61]);
    expect([g.mla_q_b_gemm!.n, g.mla_q_b_gemm!.k]).toEqual([16 * 192, 1536]);
    expect([g.proj_gemm!.n, g.proj_gemm!.k]).toEqual([7168, 16 * 128]);
    expect([g.gate_ffn1_gemm!.n, g.gate_ffn1_gemm!.scale]).toEqual([(2 * 18432) / 8, 3]);
    expect([g.shared_gate_up_gemm!.n, g.shared_gate_up_gemm!.scale]).toEqual([(2 * 2048) / 8, 58]);
    expect([p.moe!.scale, p.moe!.moeTp, p.moe!.moeEp]).toEqual([58, 1, 8]);
    expect(p.allReduceCalls).toBe(122);
    expect(p.moeComm).toBeNull();
    expect(p.attention).toHaveLength(1);
    expect(p.attention[0]!.mla!.kvB).toMatchObject({ n: 16 * 256, k: 512 });
  });

  it("attention DP: whole attention per rank, no TP all-reduce, an all-gather dispatch of NVFP4 tokens", () => {
    const p = buildPlan(resolveRun(ds({ model: { name: "nvidia/DeepSeek-R1-0528-FP4" }, parallelism: { tp: 8, pp: 1, ep: 8, attentionDp: true } })));
    expect(p.attnTp).toBe(1);
    expect(p.heads).toBe(128);
    expect(p.allReduceCalls).toBe(0);
    expect(p.moeComm).toMatchObject({ kind: "allgather", gpus: 8, dispatchBytesPerToken: 7168 * (0.5 + 1 / 16), combineBytesPerToken: 7168 * 2, scale: 58 });
    expect(p.logits.n).toBe(129280);
  });

  it("gpt-oss: a sliding-window group of 18 layers and a full group of 18", () => {
    const p = buildPlan(resolveRun(config({ model: { name: "openai/gpt-oss-120b" }, deviceName: "b200_sxm" })));
    expect(p.attention.map((g) => [g.window, g.count])).toEqual([
      [128, 18],
      [0, 18],
    ]);
  });
});

describe("composition: attention DP, MTP draft layers, pipeline stages", () => {
  const adpCfg = ds({ model: { name: "nvidia/DeepSeek-R1-0528-FP4" }, parallelism: { tp: 8, pp: 1, ep: 8, attentionDp: true } });

  it("an attention-DP iteration is the slowest rank plus the MoE part over all ranks' tokens", async () => {
    const p = await roofline(adpCfg);
    expect(p.attentionDpRanks).toBe(8);
    const busy = makeBatch([ctx(2048), ...Array.from({ length: 16 }, () => gen(1000))]);
    const light = makeBatch(Array.from({ length: 4 }, () => gen(500)));
    const empty = makeBatch([]);
    const ranks = [busy, light, light, light, light, light, light, empty];
    const tokens = 2048 + 16 + 6 * 4 + 1;
    expect(p.predictRanks(ranks)).toBeCloseTo(p.rankMs(busy) + p.moePartMs(tokens, 2064), 9);
    expect(p.rankMs(busy)).toBeGreaterThan(p.rankMs(light));
    // The same batch with per-entry ranks, through predict().
    const entries = ranks.flatMap((b, r) =>
      Array.from({ length: b.numContext + b.numGeneration }, (_, i) => ({
        context: i < b.numContext,
        inputLength: b.inputLength[i]!,
        pastKvLength: b.pastKvLength[i]!,
        rank: r,
      })),
    );
    const flat = makeBatch(entries);
    const order = [...entries.filter((e) => e.context), ...entries.filter((e) => !e.context)];
    (flat as SimBatch).attentionDpRank = order.map((e) => e.rank);
    expect(p.predict(flat)).toBe(p.predictRanks(ranks));
    expect(sum(p.breakdown(flat))).toBeCloseTo(p.predict(flat), 9);
  });

  it("without per-entry ranks every rank is assumed to run the same batch; decode runs match predict", async () => {
    const p = await roofline(adpCfg);
    const b = makeBatch(Array.from({ length: 32 }, () => gen(700)));
    expect(p.predict(b)).toBeCloseTo(p.predictRanks(new Array(8).fill(b)), 9);
    const run = p.predictDecodeRun(new Array(32).fill(700), 32, 3);
    run.forEach((t, i) => expect(t).toBe(p.predict(makeBatch(Array.from({ length: 32 }, () => gen(700 + i))))));
    expect(sum(p.breakdown(b))).toBeCloseTo(p.predict(b), 9);
  });

  it("sliding and full attention groups both count; decode runs equal predict", async () => {
    const p = await roofline(config({ model: { name: "openai/gpt-oss-120b" }, deviceName: "h200_sxm", parallelism: { tp: 2, pp: 1, ep: 1 } }));
    const run = p.predictDecodeRun([5000, 9000, 120], 3, 4);
    run.forEach((t, i) => expect(t).toBe(p.predict(makeBatch([gen(5000 + i), gen(9000 + i), gen(120 + i)]))));
    // Beyond the window the sliding layers stop growing: doubling a long KV costs less than twice.
    const k = p.kernels;
    const grow = (s: number) => k.genGroupMs(0, 8, s);
    expect(grow(8001)).toBeCloseTo(grow(4001), 12);
    expect(k.genGroupMs(1, 8, 8001)).toBeGreaterThan(k.genGroupMs(1, 8, 4001));
  });

  it("draft tokens: the target verifies 1 + D tokens and the MTP layer runs its chain", async () => {
    const p = await roofline(ds());
    const plain = makeBatch(Array.from({ length: 16 }, () => gen(1000)));
    const mtp: SimBatch = { ...plain, draftTokens: new Array(16).fill(3) };
    const t0 = p.predict(plain);
    const t3 = p.predict(mtp);
    expect(t3).toBeGreaterThan(t0);
    // One extra MoE decoder layer per draft pass is far less than a second forward.
    expect(t3).toBeLessThan(2 * t0);
    const ops = p.breakdown(mtp);
    expect(ops.some((o) => o.op === "draft_layers" && o.ms > 0)).toBe(true);
    expect(sum(ops)).toBeCloseTo(t3, 9);
  });

  it("pipeline stages: their kernel times add up to the whole forward", async () => {
    const cfg = config({ model: { name: "Qwen/Qwen3-235B-A22B-FP8" }, deviceName: "h200_sxm", parallelism: { tp: 4, pp: 2, ep: 4 } });
    const p = await roofline(cfg);
    expect(p.pipelineStages).toBe(2);
    const b = makeBatch([ctx(1000), gen(300), gen(900)]);
    expect(p.stageMs(b, 0) + p.stageMs(b, 1)).toBeCloseTo(p.predict(b), 9);
    expect(() => p.stageMs(b, 2)).toThrow(/stage/);
  });

  it("pipeline stages: TensorRT-LLM's layer split (the first L mod pp stages one layer more), DeepSeek's dense layers on the first", async () => {
    // DeepSeek-R1: 61 layers, first_k_dense_replace 3.
    const scopes = (pp: number) => stageScopes(resolveRun(ds({ parallelism: { tp: 8, pp, ep: 8 } }))).map((s) => [s.from, s.to, s.embedding, s.p2pCalls]);
    expect(scopes(2)).toEqual([
      [0, 31, true, 1],
      [31, 61, false, 0],
    ]);
    expect(scopes(4)).toEqual([
      [0, 16, true, 1],
      [16, 31, false, 1],
      [31, 46, false, 1],
      [46, 61, false, 0],
    ]);
    const run = resolveRun(ds({ parallelism: { tp: 8, pp: 2, ep: 8 } }));
    const [first, last] = stageScopes(run).map((s) => buildPlan(run, s));
    // Stage 0: 3 dense + 28 MoE layers; stage 1: 30 MoE layers.
    expect([first!.layers, first!.moe!.scale, last!.layers, last!.moe!.scale]).toEqual([31, 28, 30, 30]);
    expect(first!.gemms.find((g) => g.op === "gate_ffn1_gemm")!.scale).toBe(3);
    expect(last!.gemms.some((g) => g.op === "gate_ffn1_gemm")).toBe(false);
    // Decode: the last stage (30 MoE layers and the LM head) is slower than the first (3 cheap dense layers in its 31).
    const p = await roofline(ds({ parallelism: { tp: 8, pp: 2, ep: 8 } }));
    const b = makeBatch(Array.from({ length: 64 }, () => gen(2000)));
    expect(p.stageMs(b, 1)).toBeGreaterThan(p.stageMs(b, 0));
    expect(p.stageMs(b, 0) + p.stageMs(b, 1)).toBeCloseTo(p.predict(b), 9);
  });

  it("EPLB balances the expert load: a compute-bound MoE layer is cheaper than on the power law's busiest rank", async () => {
    const skew = await roofline(ds());
    const eplb = await roofline(ds({ moe: { distribution: "", eplb: true, communication: "" } }));
    const b = makeBatch([ctx(8192)]);
    const moe = (p: ComposedPredictor) => p.breakdown(b).find((o) => o.op === "moe")!.ms;
    expect(moe(eplb)).toBeLessThan(moe(skew));
    expect(resolveRun(ds({ weightDtype: DType.D_TYPE_NVFP4 })).precisions.experts).toBe("nvfp4");
  });
});
