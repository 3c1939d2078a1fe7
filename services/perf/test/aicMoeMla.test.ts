/**
 * The MLA, MoE and NCCL tables of ../shared/aic-systems: predictor lookups at grid points equal the raw
 * parquet rows (duplicates averaged), table versions resolve as documented.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { makeBatch, type OpTime, type SimBatch } from "@servesim/core";
import { config, expectInvalid, expectInvalidAsync, sharedDataPath } from "@servesim/testkit";
import { PredictorKind } from "@servesim/wire/predictor";
import { describe, expect, it } from "vitest";
import { listTableSets, readParquetColumns } from "../src/aic/database.js";
import { nearestVersion, newestVersion, sortVersions } from "../src/aic/versions.js";
import { ZERO_OVERHEADS } from "../src/efficiency.js";
import { createPredictor, describePredictor, type LocalPredictor } from "../src/factory.js";
import { tableVersionFor } from "../src/predictors/aic.js";

const systemsDir = sharedDataPath("aic-systems");
const present = existsSync(join(systemsDir, "data", "b200_sxm", "mla"));
if (!present) console.log(`skipping the MLA/MoE table tests: ${systemsDir} not found`);

const gen = (p: number) => ({ context: false, inputLength: 1, pastKvLength: p });
const ctx = (e: number) => ({ context: true, inputLength: e, pastKvLength: 0 });

type Partial = Parameters<typeof config>[0];
async function aic(extra: Partial): Promise<LocalPredictor> {
  return (await createPredictor(config({ kind: PredictorKind.PREDICTOR_KIND_AIC, databasePath: systemsDir, deviceName: "b200_sxm", ...extra }), {
    overheads: ZERO_OVERHEADS,
  })) as LocalPredictor;
}

function op(p: LocalPredictor, batch: SimBatch, name: string): OpTime {
  const o = p.breakdown(batch).find((x) => x.op === name);
  if (!o) throw new Error(`no ${name} in the breakdown`);
  return o;
}

/** The mean latency of the rows of a parquet file that match every `where` column. */
async function raw(file: string, where: Record<string, string | number>): Promise<number> {
  const cols = [...Object.keys(where), "latency"];
  const c = await readParquetColumns(join(systemsDir, "data", file), cols);
  const hits: number[] = [];
  for (let i = 0; i < c["latency"]!.length; i++) {
    if (Object.entries(where).every(([k, v]) => (typeof v === "number" ? Number(c[k]![i]) === v : String(c[k]![i]) === v))) hits.push(Number(c["latency"]![i]));
  }
  if (hits.length === 0) throw new Error(`no row of ${file} matches ${JSON.stringify(where)}`);
  return hits.reduce((a, b) => a + b, 0) / hits.length;
}

describe.skipIf(!present)("AIC MLA, MoE and NCCL tables (b200_sxm)", () => {
  it("MLA module tables price the whole attention block (bf16 projections, FP8 KV) at grid points", async () => {
    // nvidia/DeepSeek-R1-0528-FP4 keeps attention in bf16; attention DP: all 128 heads on each rank.
    const p = await aic({ model: { name: "nvidia/DeepSeek-R1-0528-FP4" }, parallelism: { tp: 8, pp: 1, ep: 8, attentionDp: true } });
    const mod = "b200_sxm/mla/trtllm/1.3.0rc20";
    const c = op(p, makeBatch([ctx(1024)]), "context_attention");
    expect(c.source).toBe("table");
    expect(c.ms / 61).toBeCloseTo(
      await raw(`${mod}/mla_context_module_perf.parquet`, { gemm_type: "bfloat16", kv_cache_dtype: "fp8", num_heads: 128, batch_size: 1, isl: 1024 }),
      9,
    );
    // Generation: KV length s = 1 + step; the module table's steps are powers of two.
    const g = op(p, makeBatch(Array.from({ length: 64 }, () => gen(1024))), "generation_attention");
    expect(g.source).toBe("table");
    expect(g.ms / 61).toBeCloseTo(
      await raw(`${mod}/mla_generation_module_perf.parquet`, { gemm_type: "bfloat16", kv_cache_dtype: "fp8", num_heads: 128, batch_size: 64, step: 1024 }),
      9,
    );
    // The projections are inside the module: no separate MLA GEMMs.
    const ops = p.breakdown(makeBatch([gen(1024)])).map((o) => o.op);
    expect(ops).not.toContain("mla_fused_a_gemm");
    expect(ops).not.toContain("proj_gemm");
  });

  it("granular MLA (mixed projection precisions): the generation kernel plus the absorbed BMMs", async () => {
    // DeepSeek-V3.1-NVFP4: q/kv projections bf16, o_proj NVFP4 → no module table; TP1: 128 local heads.
    const p = await aic({ model: { name: "nvidia/DeepSeek-V3.1-NVFP4" }, parallelism: { tp: 1, pp: 1, ep: 1 } });
    const g = op(p, makeBatch(Array.from({ length: 64 }, () => gen(1023))), "generation_attention");
    const kernel = await raw("b200_sxm/mla/trtllm/1.3.0rc20/generation_mla_perf.parquet", {
      kv_cache_dtype: "fp8",
      num_heads: 128,
      batch_size: 64,
      step: 1023,
    });
    const bmm = "b200_sxm/mla_bmm/trtllm/1.3.0rc20/mla_bmm_perf.parquet";
    const pre = await raw(bmm, { op_name: "mla_gen_pre", bmm_dtype: "bfloat16", num_tokens: 64, num_heads: 128 });
    const post = await raw(bmm, { op_name: "mla_gen_post", bmm_dtype: "bfloat16", num_tokens: 64, num_heads: 128 });
    expect(g.source).toBe("table");
    expect(g.ms / 61).toBeCloseTo(kernel + pre + post, 9);
    expect(op(p, makeBatch([gen(10)]), "mla_fused_a_gemm").source).not.toBe("roofline-fallback");
  });

  it("GLM-5 (DSA): the sparse-attention module tables of its architecture, indexer included", async () => {
    const p = await aic({ model: { name: "nvidia/GLM-5-NVFP4" }, parallelism: { tp: 8, pp: 1, ep: 8 } });
    const g = op(p, makeBatch(Array.from({ length: 32 }, () => gen(2048))), "generation_attention");
    expect(g.source).toBe("table");
    expect(g.ms / 78).toBeCloseTo(
      await raw("b200_sxm/sparse_attention/trtllm/1.3.0rc20/dsa_generation_module_perf.parquet", {
        architecture: "GlmMoeDsaForCausalLM",
        gemm_type: "bfloat16",
        kv_cache_dtype: "fp8",
        num_heads: 8,
        batch_size: 32,
        step: 2048,
      }),
      9,
    );
    const ops = p.breakdown(makeBatch([gen(10)])).map((o) => o.op);
    expect(ops).not.toContain("indexer_q_gemm");
  });

  it("NVFP4 MoE: the low-latency kernel's grid up to 128 tokens, the default grid above; num_tokens over all EP ranks", async () => {
    const p = await aic({ model: { name: "nvidia/DeepSeek-R1-0528-FP4" }, parallelism: { tp: 8, pp: 1, ep: 8 } });
    const moe = "b200_sxm/moe/trtllm/1.3.0rc20/moe_perf.parquet";
    const key = {
      moe_dtype: "nvfp4",
      hidden_size: 7168,
      inter_size: 2048,
      topk: 8,
      num_experts: 256,
      moe_tp_size: 1,
      moe_ep_size: 8,
      distribution: "power_law_1.01",
    };
    const small = op(p, makeBatch(Array.from({ length: 8 }, () => gen(100))), "moe");
    expect(small.source).toBe("table");
    expect(small.ms / 58).toBeCloseTo(await raw(moe, { ...key, num_tokens: 8, kernel_source: "moe_torch_flow_min_latency" }), 9);
    const big = op(p, makeBatch([ctx(256)]), "moe");
    expect(big.ms / 58).toBeCloseTo(await raw(moe, { ...key, num_tokens: 256, kernel_source: "moe_torch_flow_cutlass" }), 9);
    // Attention DP: the MoE layer sees every rank's tokens (8 ranks × 16 = 128).
    const adp = await aic({ model: { name: "nvidia/DeepSeek-R1-0528-FP4" }, parallelism: { tp: 8, pp: 1, ep: 8, attentionDp: true } });
    const a = op(adp, makeBatch(Array.from({ length: 16 }, () => gen(100))), "moe");
    expect(a.ms / 58).toBeCloseTo(await raw(moe, { ...key, num_tokens: 128, kernel_source: "moe_torch_flow_min_latency" }), 9);
    const comm = op(adp, makeBatch(Array.from({ length: 16 }, () => gen(100))), "moe_allgather");
    expect(["table", "interp"]).toContain(comm.source);
    expect(comm.ms).toBeGreaterThan(0);
  });

  it("gpt-oss: MXFP4 experts with MXFP8 activations on Blackwell (w4a8_mxfp4_mxfp8), bf16 on Hopper (w4a16_mxfp4); sliding-window attention from the window-128 family", async () => {
    const p = await aic({ model: { name: "openai/gpt-oss-120b" }, parallelism: { tp: 1, pp: 1, ep: 1 } });
    const b = makeBatch(Array.from({ length: 16 }, () => gen(1000)));
    const m = op(p, b, "moe");
    const shape = {
      hidden_size: 2880,
      inter_size: 2880,
      topk: 4,
      num_experts: 128,
      moe_tp_size: 1,
      moe_ep_size: 1,
      distribution: "power_law_1.2",
      num_tokens: 16,
    };
    expect(m.source).toBe("table");
    expect(m.ms / 36).toBeCloseTo(await raw("b200_sxm/moe/trtllm/1.3.0rc20/moe_perf.parquet", { moe_dtype: "w4a8_mxfp4_mxfp8", ...shape }), 9);
    const hopper = await aic({ model: { name: "openai/gpt-oss-120b" }, deviceName: "h200_sxm", parallelism: { tp: 1, pp: 1, ep: 1 } });
    const h = op(hopper, b, "moe");
    expect(h.source).toBe("table");
    expect(h.ms / 36).toBeCloseTo(await raw("h200_sxm/moe/trtllm/1.3.0rc20/moe_perf.parquet", { moe_dtype: "w4a16_mxfp4", ...shape }), 9);
    expect(op(p, b, "generation_attention").source).not.toBe("roofline-fallback");
    expect(
      describePredictor(
        config({ kind: PredictorKind.PREDICTOR_KIND_AIC, model: { name: "openai/gpt-oss-120b" }, deviceName: "b200_sxm", databasePath: systemsDir }),
      ).details?.tableVersion,
    ).toBe("1.3.0rc20");
  });

  it("table versions: the newest by default, the nearest on request (stated), an absent one named", async () => {
    const base = config({
      kind: PredictorKind.PREDICTOR_KIND_AIC,
      model: { name: "deepseek-ai/DeepSeek-R1" },
      databasePath: systemsDir,
      parallelism: { tp: 8, pp: 1, ep: 8 },
    });
    expect(tableVersionFor({ ...base, deviceName: "b200_sxm" }, "b200_sxm")?.version).toBe("1.3.0rc20");
    expect(tableVersionFor({ ...base, deviceName: "b200_sxm", backendVersion: "1.2.0rc5" }, "b200_sxm")?.version).toBe("1.2.0rc5");
    const near = tableVersionFor({ ...base, deviceName: "b200_sxm", backendVersion: "1.2.0rc6.post3", nearestTableVersion: true }, "b200_sxm")!;
    expect(near.version).toBe("1.2.0rc5");
    expect(near.note).toMatch(/table version 1\.2\.0rc5 \(b200_sxm has no trtllm 1\.2\.0rc6\.post3 tables/);
    expect(tableVersionFor({ ...base, deviceName: "gb200", backendVersion: "1.1.0rc2.post2", nearestTableVersion: true }, "gb200")?.version).toBe("1.3.0rc20");
    const d = describePredictor({ ...base, deviceName: "b200_sxm", backendVersion: "1.2.0rc6.post3", nearestTableVersion: true });
    expect(d.details?.tableVersion).toBe("1.2.0rc5");
    expect(d.description).toContain("trtllm 1.2.0rc5");
    await expectInvalidAsync(
      () => createPredictor({ ...base, deviceName: "b200_sxm", backendVersion: "1.2.0rc6.post3" }),
      "config.backend_version",
      /versions here: .*1\.2\.0rc5/,
    );
    const sets = listTableSets(systemsDir).filter((t) => t.system === "gb200");
    expect(sets.map((t) => [t.version, t.newest])).toEqual([["1.3.0rc20", true]]);
    expect(sets[0]!.opFamilies).toEqual(expect.arrayContaining(["gemm", "mla", "moe", "attention"]));
    expectInvalid(() => listTableSets("/no/such/systems"), "database_path");
  });
});

describe("version arithmetic", () => {
  it("orders releases after their candidates and post releases after their base", () => {
    expect(sortVersions(["1.3.0rc20", "1.2.0", "1.2.0rc6.post3", "1.2.0rc5", "1.2.0rc6"])).toEqual([
      "1.2.0rc5",
      "1.2.0rc6",
      "1.2.0rc6.post3",
      "1.2.0",
      "1.3.0rc20",
    ]);
    expect(newestVersion(["2.27.3", "2.29.2", "2.28.9"])).toBe("2.29.2");
  });

  it("the nearest table version: the same release family first, else the closest (ties to the older)", () => {
    const both = ["1.2.0rc5", "1.3.0rc20"];
    expect(nearestVersion("1.2.0rc6.post3", both)).toBe("1.2.0rc5");
    expect(nearestVersion("1.1.0rc2.post2", both)).toBe("1.2.0rc5");
    expect(nearestVersion("1.0.0rc3", both)).toBe("1.2.0rc5");
    expect(nearestVersion("1.3.0rc1", both)).toBe("1.3.0rc20");
    expect(nearestVersion("1.4.0", both)).toBe("1.3.0rc20");
    expect(nearestVersion("gpt-oss-dev", both)).toBeUndefined();
    expect(nearestVersion("1.2.0rc5", both)).toBe("1.2.0rc5");
  });
});
