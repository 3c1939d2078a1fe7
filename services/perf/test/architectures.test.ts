import { existsSync, readFileSync } from "node:fs";
import { config, expectInvalid, sharedDataPath } from "@servesim/testkit";
import { DType } from "@servesim/wire/predictor";
import { describe, expect, it } from "vitest";
import { ARCHITECTURES, architectureEntry } from "../src/architectures/registry.js";
import { hfQuantConfigPath, loadHfConfig, modelFromHfConfig, modelFromInline, toInlineArchitecture } from "../src/catalog/architecture.js";
import { lookupGpu } from "../src/catalog/gpus.js";
import { kvBytesPerTokenPerGpu, mtpParamCount, paramCount, paramGroups, toModelArchitecture } from "../src/catalog/modelSpec.js";
import { lookupModel, MODEL_CATALOG } from "../src/catalog/models.js";
import { checkpointPrecisions } from "../src/catalog/quant.js";
import { kvBytesPerTokenPerRank, kvCapacity, weightBytesPerRank } from "../src/memory.js";
import { resolveRun } from "../src/resolve.js";

const spec = (name: string) => lookupModel(name)!.spec;

/** A DeepSeek-V3-style config.json (DeepSeek-R1's numbers). */
const deepseekConfig = {
  architectures: ["DeepseekV3ForCausalLM"],
  num_hidden_layers: 61,
  hidden_size: 7168,
  num_attention_heads: 128,
  num_key_value_heads: 128,
  intermediate_size: 18432,
  moe_intermediate_size: 2048,
  n_routed_experts: 256,
  n_shared_experts: 1,
  num_experts_per_tok: 8,
  first_k_dense_replace: 3,
  moe_layer_freq: 1,
  q_lora_rank: 1536,
  kv_lora_rank: 512,
  qk_nope_head_dim: 128,
  qk_rope_head_dim: 64,
  v_head_dim: 128,
  vocab_size: 129280,
  max_position_embeddings: 163840,
  num_nextn_predict_layers: 1,
  topk_method: "noaux_tc",
  tie_word_embeddings: false,
  rope_scaling: { type: "yarn", factor: 40 },
  quantization_config: { quant_method: "fp8", activation_scheme: "dynamic", weight_block_size: [128, 128] },
};

describe("parameter counts (exact, from the architecture)", () => {
  it("DeepSeek-R1: 2·V·h + 61 MLA layers + 3 dense FFN + 58 MoE layers (256 experts, shared expert, router + bias) + norms", () => {
    const h = 7168;
    const attention = h * 1536 + 1536 + 1536 * 128 * (128 + 64) + h * (512 + 64) + 512 + 512 * 128 * (128 + 128) + 128 * 128 * h;
    expect(attention).toBe(187_107_328);
    const moeLayer = 256 * 3 * h * 2048 + h * 256 + 256 + 3 * h * 2048;
    const total = 2 * 129_280 * h + 61 * attention + 3 * 3 * h * 18_432 + 58 * moeLayer + 61 * 2 * h + h;
    expect(paramCount(spec("deepseek-ai/DeepSeek-R1"))).toBe(total);
    expect(total).toBe(671_026_419_200);
    // The MTP layer: one MoE decoder layer, eh_proj (2h × h) and three norms.
    expect(mtpParamCount(spec("deepseek-r1"))).toBe(attention + moeLayer + 2 * h + 2 * h * h + 3 * h);
  });

  it("gpt-oss, Qwen3-MoE, MiniMax-M2.5, Kimi-K2.5 and GLM-5", () => {
    // gpt-oss-120b: q/k/v/o biases and sinks, experts with biases, router with bias.
    const h = 2880;
    const attn = h * 64 * 64 + 2 * h * 8 * 64 + 64 * 64 * h + h + 64 * 64 + 2 * 8 * 64 + 64;
    const moe = 128 * (3 * h * 2880 + 2 * 2880 + h) + h * 128 + 128;
    expect(paramCount(spec("openai/gpt-oss-120b"))).toBe(2 * 201_088 * h + 36 * (attn + moe + 2 * h) + h);
    expect(paramCount(spec("openai/gpt-oss-120b"))).toBe(116_829_156_672);
    expect(paramCount(spec("openai/gpt-oss-20b"))).toBe(20_914_757_184);
    expect(paramCount(spec("Qwen/Qwen3-235B-A22B"))).toBe(235_093_634_560);
    expect(paramCount(spec("MiniMaxAI/MiniMax-M2.5"))).toBe(228_689_764_864);
    expect(paramCount(spec("moonshotai/Kimi-K2.5"))).toBe(1_026_408_232_448);
    expect(paramCount(spec("zai-org/GLM-5"))).toBe(743_911_218_432);
    const g = paramGroups(spec("deepseek-r1"));
    expect(g.experts).toBe(58 * 256 * 3 * 7168 * 2048);
    expect(g.sharedExpert).toBe(58 * 3 * 7168 * 2048);
  });
});

describe("KV bytes per token (TensorRT-LLM's KVCacheManager sizes)", () => {
  it("MLA caches one latent (kv_lora_rank + rope) per layer whatever the TP; DSA adds the indexer key", () => {
    const r1 = spec("deepseek-r1");
    expect(kvBytesPerTokenPerGpu(r1, "bf16", 1)).toBe(61 * 576 * 2);
    expect(kvBytesPerTokenPerGpu(r1, "bf16", 8)).toBe(70_272);
    expect(kvBytesPerTokenPerGpu(r1, "fp8", 8)).toBe(35_136);
    const layout = { attentionDp: true, precisions: checkpointPrecisions(undefined), uniform: false, mtpLayers: 1 };
    expect(kvBytesPerTokenPerRank(r1, "fp8", 8, 1, layout)).toBe(62 * 576);
    expect(kvBytesPerTokenPerGpu(spec("zai-org/GLM-5"), "fp8", 8)).toBe(78 * (576 + 128 + 4));
  });

  it("GQA: K and V of ceil(K/TP) heads per layer; every head under attention DP", () => {
    const q = spec("Qwen/Qwen3-235B-A22B");
    expect(kvBytesPerTokenPerGpu(q, "bf16", 1)).toBe(2 * 94 * 4 * 128 * 2);
    expect(kvBytesPerTokenPerGpu(q, "bf16", 8)).toBe(48_128);
    const adp = { attentionDp: true, precisions: checkpointPrecisions(undefined), uniform: false };
    expect(kvBytesPerTokenPerRank(q, "bf16", 8, 1, adp)).toBe(192_512);
    expect(kvBytesPerTokenPerGpu(spec("openai/gpt-oss-120b"), "bf16", 1)).toBe(36 * 2 * 8 * 64 * 2);
    expect(kvBytesPerTokenPerGpu(spec("MiniMaxAI/MiniMax-M2.5"), "bf16", 1)).toBe(253_952);
  });
});

describe("KV capacity with sliding windows (kv_cache_config.max_attention_window)", () => {
  it("by default every layer holds the full KV; capped, sliding layers hold window + one block per request", () => {
    const m = spec("openai/gpt-oss-120b");
    const base = {
      model: m,
      gpu: lookupGpu("h200_sxm")!,
      tp: 1,
      pp: 1,
      weightDtype: "mxfp4" as const,
      kvDtype: "bf16" as const,
      maxNumTokens: 8192,
      maxBatchSize: 256,
    };
    const full = kvCapacity(base);
    expect([full.kvBytesPerToken, full.windowMem]).toEqual([36 * 2048, 0]);
    const capped = kvCapacity({ ...base, capSlidingWindows: true });
    expect(capped.kvBytesPerToken).toBe(18 * 2048);
    expect(capped.windowMem).toBe(256 * (128 + 32) * 18 * 2048);
    expect(capped.maxTokens).toBe(Math.floor((capped.kvMem - capped.windowMem) / (18 * 2048)));
    expect(capped.maxTokens).toBeGreaterThan(full.maxTokens);
  });
});

describe("weights per GPU", () => {
  it("DeepSeek-R1 FP8 at TP8 EP8: everything split over 8 but MLA's replicated down-projections, router and norms", () => {
    const r = resolveRun(config({ model: { name: "deepseek-ai/DeepSeek-R1" }, deviceName: "b200_sxm", parallelism: { tp: 8, pp: 1, ep: 8 } }));
    const m = r.model;
    const g = paramGroups(m);
    const replicated = 61 * (7168 * 1536 + 1536 + 7168 * 576 + 512);
    const split = (g.embedding + g.lmHead) * 2 + (g.attention - replicated) + g.denseMlp + g.sharedExpert;
    const expected = split / 8 + replicated + (g.router + g.norms) * 2 + g.experts / 8;
    expect(weightBytesPerRank(m, r.weightDtype, 8, 1, { attentionDp: false, precisions: r.precisions, uniform: false })).toBe(expected);
    // Attention DP: attention, dense FFN, shared experts, embedding and LM head are whole on every rank.
    const adp = (g.embedding + g.lmHead) * 2 + g.attention + g.denseMlp + g.sharedExpert + (g.router + g.norms) * 2 + g.experts / 8;
    expect(weightBytesPerRank(m, r.weightDtype, 8, 1, { attentionDp: true, precisions: r.precisions, uniform: false })).toBe(adp);
  });

  it("NVFP4 weights count their FP8 scales (9/16 byte per weight)", () => {
    const r = resolveRun(config({ model: { name: "nvidia/DeepSeek-R1-0528-FP4" }, deviceName: "b200_sxm", parallelism: { tp: 8, pp: 1, ep: 8 } }));
    expect(r.precisions).toEqual({ qkv: "bf16", o: "bf16", denseMlp: "nvfp4", sharedExpert: "nvfp4", experts: "nvfp4" });
    expect([r.weightDtype, r.kvDtype]).toEqual(["nvfp4", "fp8"]);
    const g = paramGroups(r.model);
    const w = weightBytesPerRank(r.model, "nvfp4", 8, 1, { attentionDp: false, precisions: r.precisions, uniform: false });
    expect(w).toBeGreaterThan((g.experts * 9) / 16 / 8);
    expect(w).toBeLessThan((g.experts * 9) / 16 / 8 + (g.attention * 2) / 8 + 61 * 12_000_000 * 2 + 3e9);
  });
});

describe("Hugging Face config.json", () => {
  it("DeepseekV3ForCausalLM: MLA dims, dense and MoE layers, shared experts, MTP layers, FP8 block quantization", () => {
    const m = modelFromHfConfig(deepseekConfig, "ds.json", "ds");
    expect(m.spec).toMatchObject({
      family: "moe",
      attention: "mla",
      mla: { qLoraRank: 1536, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 },
      denseLayers: 3,
      numExperts: 256,
      topK: 8,
      moeIntermediate: 2048,
      sharedIntermediate: 2048,
      mtpLayers: 1,
      routerBias: true,
    });
    expect(paramCount(m.spec)).toBe(671_026_419_200);
    expect([m.weight, m.kv]).toEqual(["fp8_block", "bf16"]);
    expect(checkpointPrecisions(m.quant)).toEqual({ qkv: "fp8_block", o: "fp8_block", denseMlp: "fp8_block", sharedExpert: "fp8_block", experts: "fp8_block" });
  });

  it("Kimi-K2.5: the DeepseekV3 text_config of a multimodal wrapper; INT4 experts from compressed-tensors", () => {
    const kimi = modelFromHfConfig(
      {
        architectures: ["KimiK25ForConditionalGeneration"],
        text_config: {
          ...deepseekConfig,
          num_attention_heads: 64,
          num_key_value_heads: 64,
          n_routed_experts: 384,
          first_k_dense_replace: 1,
          num_nextn_predict_layers: 0,
          vocab_size: 163840,
          quantization_config: {
            quant_method: "compressed-tensors",
            config_groups: { group_0: { weights: { num_bits: 4, type: "int", group_size: 32 }, input_activations: null } },
            ignore: ["lm_head", "re:.*self_attn.*", "re:.*shared_experts.*", "re:.*mlp\\.(gate|up|gate_up|down)_proj.*"],
          },
        },
      },
      "kimi.json",
    );
    expect(kimi.spec.architecture).toBe("DeepseekV3ForCausalLM");
    expect(paramCount(kimi.spec)).toBe(paramCount(spec("moonshotai/Kimi-K2.5")));
    expect(checkpointPrecisions(kimi.quant)).toEqual({ qkv: "bf16", o: "bf16", denseMlp: "bf16", sharedExpert: "bf16", experts: "int4" });
  });

  it("gpt-oss: sliding layers from layer_types, MXFP4 experts; modelopt NVFP4 with excluded attention; FP8 KV from kv_cache_scheme", () => {
    const layerTypes = Array.from({ length: 36 }, (_, i) => (i % 2 === 0 ? "sliding_attention" : "full_attention"));
    const oss = modelFromHfConfig(
      {
        architectures: ["GptOssForCausalLM"],
        num_hidden_layers: 36,
        hidden_size: 2880,
        num_attention_heads: 64,
        num_key_value_heads: 8,
        head_dim: 64,
        intermediate_size: 2880,
        num_local_experts: 128,
        num_experts_per_tok: 4,
        vocab_size: 201088,
        sliding_window: 128,
        layer_types: layerTypes,
        attention_bias: true,
        quantization_config: { quant_method: "mxfp4", modules_to_not_convert: ["model.layers.*.self_attn", "model.layers.*.mlp.router", "lm_head"] },
      },
      "oss.json",
    );
    expect(oss.spec.slidingWindow).toBe(128);
    expect(oss.spec.slidingLayers?.filter(Boolean)).toHaveLength(18);
    expect(paramCount(oss.spec)).toBe(116_829_156_672);
    expect(checkpointPrecisions(oss.quant)).toMatchObject({ qkv: "bf16", o: "bf16", experts: "mxfp4" });
    const nv = modelFromHfConfig({ ...deepseekConfig, quantization_config: null }, "nv.json", "nv", {
      json: { quantization: { quant_algo: "NVFP4", kv_cache_quant_algo: "FP8", exclude_modules: ["lm_head", "model.layers.*.self_attn*"] } },
      source: "hf_quant_config.json",
    });
    expect(checkpointPrecisions(nv.quant)).toEqual({ qkv: "bf16", o: "bf16", denseMlp: "nvfp4", sharedExpert: "nvfp4", experts: "nvfp4" });
    expect(nv.kv).toBe("fp8");
  });

  it("an inline architecture carries the same model and per-group precisions", () => {
    for (const name of ["nvidia/DeepSeek-R1-0528-FP4", "openai/gpt-oss-120b", "zai-org/GLM-5", "MiniMaxAI/MiniMax-M2.5", "llama-3.1-8b"]) {
      const hit = lookupModel(name)!;
      const back = modelFromInline(toInlineArchitecture(hit));
      expect(toModelArchitecture(back.spec)).toEqual(toModelArchitecture(hit.spec));
      expect(paramCount(back.spec)).toBe(paramCount(hit.spec));
      expect(checkpointPrecisions(back.quant)).toEqual(checkpointPrecisions(hit.quant));
    }
    const r = resolveRun(
      config({ model: { inline: toInlineArchitecture(lookupModel("nvidia/GLM-5-NVFP4")!) }, deviceName: "b200_sxm", parallelism: { tp: 8, pp: 1, ep: 8 } }),
    );
    expect(r.precisions.qkv).toBe("bf16");
    expect(r.model.dsa).toEqual({ indexTopk: 2048, indexHeads: 32, indexHeadDim: 128 });
  });

  it("names what it cannot model", () => {
    expectInvalid(() => modelFromHfConfig({ ...deepseekConfig, moe_layer_freq: 2 }, "ds.json"), "config.model (ds.json).moe_layer_freq", /only 1/);
    expectInvalid(() => modelFromHfConfig({ ...deepseekConfig, kv_lora_rank: undefined }, "ds.json"), "config.model (ds.json).kv_lora_rank");
    expectInvalid(() => modelFromHfConfig({ ...deepseekConfig, first_k_dense_replace: 61 }, "ds.json"), "config.model (ds.json).first_k_dense_replace");
    expectInvalid(
      () => modelFromHfConfig({ ...deepseekConfig, quantization_config: { quant_method: "gptq" } }, "ds.json"),
      "config.model",
      /quant_method "gptq"/,
    );
    expectInvalid(() => modelFromHfConfig({ architectures: ["DeepseekV4ForCausalLM"] }, "v4.json"), "config.model", /DeepseekV4ForCausalLM.*not supported/);
  });

  it("the registry lists every architecture once", () => {
    const classes = ARCHITECTURES.flatMap((a) => a.classes);
    expect(new Set(classes).size).toBe(classes.length);
    for (const c of classes) expect(architectureEntry(c)?.classes).toContain(c);
    for (const e of MODEL_CATALOG) expect(architectureEntry(e.spec.architecture), e.spec.name).toBeDefined();
  });
});

const configsDir = sharedDataPath("model-configs");
const haveConfigs = existsSync(configsDir);
if (!haveConfigs) console.log(`skipping the model-config checks: ${configsDir} not found`);

describe.skipIf(!haveConfigs)("catalog entries agree with the checkpoints' config.json (../shared/model-configs)", () => {
  const cases: Array<[string, string]> = [
    ["deepseek-ai/DeepSeek-R1", "deepseek-ai--DeepSeek-R1_config.json"],
    ["deepseek-ai/DeepSeek-V3", "deepseek-ai--DeepSeek-V3_config.json"],
    ["nvidia/DeepSeek-V3.1-NVFP4", "nvidia--DeepSeek-V3.1-NVFP4_config.json"],
    ["moonshotai/Kimi-K2.5", "moonshotai--Kimi-K2.5_config.json"],
    ["nvidia/Kimi-K2.5-NVFP4", "nvidia--Kimi-K2.5-NVFP4_config.json"],
    ["moonshotai/Kimi-K2-Instruct", "moonshotai--Kimi-K2-Instruct_config.json"],
    ["zai-org/GLM-5", "zai-org--GLM-5_config.json"],
    ["zai-org/GLM-5-FP8", "zai-org--GLM-5-FP8_config.json"],
    ["nvidia/GLM-5-NVFP4", "nvidia--GLM-5-NVFP4_config.json"],
    ["openai/gpt-oss-120b", "openai--gpt-oss-120b_config.json"],
    ["openai/gpt-oss-20b", "openai--gpt-oss-20b_config.json"],
    ["Qwen/Qwen3-235B-A22B", "Qwen--Qwen3-235B-A22B_config.json"],
    ["Qwen/Qwen3-235B-A22B-FP8", "Qwen--Qwen3-235B-A22B-FP8_config.json"],
    ["nvidia/Qwen3-235B-A22B-NVFP4", "nvidia--Qwen3-235B-A22B-NVFP4_config.json"],
    ["Qwen/Qwen3-30B-A3B", "Qwen--Qwen3-30B-A3B_config.json"],
    ["Qwen/Qwen3-30B-A3B-FP8", "Qwen--Qwen3-30B-A3B-FP8_config.json"],
    ["MiniMaxAI/MiniMax-M2.5", "MiniMaxAI--MiniMax-M2.5_config.json"],
    ["nvidia/MiniMax-M2.5-NVFP4", "nvidia--MiniMax-M2.5-NVFP4_config.json"],
  ];
  it.each(cases)("%s = %s", (name, file) => {
    const path = `${configsDir}/${file}`;
    const fromFile = loadHfConfig(path);
    const hit = lookupModel(name)!;
    const strip = (a: ReturnType<typeof toModelArchitecture>) => ({ ...a, name: "", maxPositionEmbeddings: 0, headDim: 0 });
    expect(strip(toModelArchitecture(fromFile.spec))).toEqual(strip(toModelArchitecture(hit.spec)));
    expect(paramCount(fromFile.spec)).toBe(paramCount(hit.spec));
    expect(checkpointPrecisions(fromFile.quant)).toEqual(checkpointPrecisions(hit.quant));
    expect(fromFile.kv ?? "bf16").toBe(hit.kv ?? "bf16");
    expect(fromFile.spec.name).toBe(file.replace(/_config\.json$/, "").replace("--", "/"));
    if (hfQuantConfigPath(path)) expect(JSON.parse(readFileSync(hfQuantConfigPath(path)!, "utf8")).quantization).toBeDefined();
  });

  it("resolves a config.json path with its hf_quant_config.json (NVFP4, FP8 KV) as a job would", () => {
    const r = resolveRun(
      config({ model: { name: `${configsDir}/nvidia--GLM-5-NVFP4_config.json` }, deviceName: "b200_sxm", parallelism: { tp: 8, pp: 1, ep: 8 } }),
    );
    expect([r.weightDtype, r.kvDtype, r.precisions.qkv, r.precisions.o]).toEqual(["nvfp4", "fp8", "bf16", "bf16"]);
    expect(r.notes.some((n) => n.includes("hf_quant_config.json"))).toBe(true);
    const explicit = resolveRun(
      config({
        model: { name: `${configsDir}/nvidia--GLM-5-NVFP4_config.json` },
        deviceName: "b200_sxm",
        weightDtype: DType.D_TYPE_FP8_BLOCK,
        parallelism: { tp: 8, pp: 1, ep: 8 },
      }),
    );
    // An explicit weight dtype replaces the quantized groups; the groups the checkpoint keeps in bf16 stay.
    expect(explicit.precisions).toEqual({ qkv: "bf16", o: "bf16", denseMlp: "fp8_block", sharedExpert: "fp8_block", experts: "fp8_block" });
  });
});
