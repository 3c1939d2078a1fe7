import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { config, expectInvalid } from "@servesim/testkit";
import { DType } from "@servesim/wire/predictor";
import { describe, expect, it } from "vitest";
import { loadHfConfig, modelFromHfConfig } from "../src/catalog/architecture.js";
import { gpuFromYamlText, lookupGpu, ncclMemFor } from "../src/catalog/gpus.js";
import { kvBytesPerTokenPerGpu, lookupModel, MODEL_CATALOG, paramCount, weightBytesPerGpu } from "../src/catalog/models.js";
import { resolveRun } from "../src/resolve.js";

const spec = (name: string) => lookupModel(name)!.spec;

describe("model catalog", () => {
  it("parameter counts match the published counts exactly", () => {
    expect(paramCount(spec("llama-3.1-8b"))).toBe(8_030_261_248);
    expect(paramCount(spec("llama-3.1-70b"))).toBe(70_553_706_496);
    expect(paramCount(spec("llama-3.3-70b"))).toBe(70_553_706_496);
    expect(paramCount(spec("qwen2.5-7b"))).toBe(7_615_616_512);
    expect(paramCount(spec("mixtral-8x7b"))).toBe(46_702_792_704);
    expect(paramCount(spec("tinyllama-1.1b"))).toBe(1_100_048_384);
    // Qwen3-32B: LLAMA graph plus q/k RMSNorm (2·128 weights per layer).
    expect(paramCount(spec("qwen3-32b"))).toBe(32_762_123_264);
  });

  it("KV bytes per token (whole model, bf16) match the table; per GPU shards KV heads with a floor of one", () => {
    const whole: Array<[string, number]> = [
      ["llama-3.1-8b", 131_072],
      ["llama-3.1-70b", 327_680],
      ["qwen2.5-7b", 57_344],
      ["mixtral-8x7b", 131_072],
      ["tinyllama-1.1b", 22_528],
    ];
    for (const [name, bytes] of whole) expect(kvBytesPerTokenPerGpu(spec(name), "bf16", 1)).toBe(bytes);
    const m = spec("llama-3.1-8b");
    expect(kvBytesPerTokenPerGpu(m, "bf16", 2)).toBe(65_536);
    expect(kvBytesPerTokenPerGpu(m, "fp8", 2)).toBe(32_768);
    expect(kvBytesPerTokenPerGpu(m, "bf16", 8)).toBe(16_384);
    // 8 KV heads on 16 GPUs: each still holds one.
    expect(kvBytesPerTokenPerGpu(m, "bf16", 16)).toBe(16_384);
    expect(kvBytesPerTokenPerGpu(m, "bf16", 1, 2)).toBe(65_536);
  });

  it("weight bytes per GPU follow the weight precision and TP × PP", () => {
    const m = spec("llama-3.1-8b");
    expect(weightBytesPerGpu(m, "bf16", 1, 1)).toBe(16_060_522_496);
    expect(weightBytesPerGpu(m, "fp8", 2, 1)).toBe(4_015_130_624);
    expect(weightBytesPerGpu(m, "nvfp4", 1, 2)).toBe(2_007_565_312);
  });

  it("resolves short names and Hugging Face ids case-insensitively", () => {
    for (const n of [
      "llama-3.1-8b",
      "Llama-3.1-8B",
      "meta-llama/Llama-3.1-8B-Instruct",
      "META-LLAMA/LLAMA-3.1-8B",
      "Llama-3.1-8B-Instruct",
      "meta-llama/Meta-Llama-3.1-8B-Instruct",
    ]) {
      expect(lookupModel(n)?.spec.name).toBe("Llama-3.1-8B");
    }
    expect(lookupModel("Qwen/Qwen3-32B")?.spec.name).toBe("Qwen3-32B");
    expect(lookupModel("TinyLlama/TinyLlama-1.1B-Chat-v1.0")?.spec.name).toBe("TinyLlama-1.1B");
    expect(lookupModel("mistralai/Mixtral-8x7B-Instruct-v0.1")?.spec.family).toBe("moe");
    expect(lookupModel("gpt-2")).toBeUndefined();
  });

  it("NVIDIA's Qwen3-32B NVFP4 checkpoint: NVFP4 weights and FP8 KV", () => {
    const r = resolveRun(config({ model: { name: "nvidia/Qwen3-32B-NVFP4" }, deviceName: "b200_sxm" }));
    expect([r.model.name, r.weightDtype, r.kvDtype]).toEqual(["Qwen3-32B", "nvfp4", "fp8"]);
  });

  it("NVIDIA FP8 checkpoints default to FP8 weights and FP8 KV", () => {
    const r = resolveRun(config({ model: { name: "nvidia/Llama-3.1-8B-Instruct-FP8" }, deviceName: "h100_sxm" }));
    expect([r.model.name, r.weightDtype, r.kvDtype]).toEqual(["Llama-3.1-8B", "fp8", "fp8"]);
    const r2 = resolveRun(config({ model: { name: "nvidia/Llama-3.3-70B-Instruct-FP8" }, deviceName: "h200_sxm" }));
    expect([r2.model.name, r2.weightDtype, r2.kvDtype]).toEqual(["Llama-3.3-70B", "fp8", "fp8"]);
    // An explicit dtype wins over the name.
    const r3 = resolveRun(config({ model: { name: "nvidia/Llama-3.1-8B-Instruct-FP8" }, deviceName: "h100_sxm", kvCacheDtype: DType.D_TYPE_BF16 }));
    expect([r3.weightDtype, r3.kvDtype]).toEqual(["fp8", "bf16"]);
  });

  it("every catalog alias resolves to its entry", () => {
    for (const e of MODEL_CATALOG) for (const a of e.aliases) expect(lookupModel(a)?.spec).toBe(e.spec);
  });
});

describe("Hugging Face config.json", () => {
  const llama8bConfig = {
    architectures: ["LlamaForCausalLM"],
    hidden_size: 4096,
    intermediate_size: 14336,
    num_attention_heads: 32,
    num_hidden_layers: 32,
    num_key_value_heads: 8,
    vocab_size: 128256,
    max_position_embeddings: 131072,
    rope_scaling: { rope_type: "llama3", factor: 8.0 },
    tie_word_embeddings: false,
  };

  it("reads a config.json by path (file or directory) and derives head_dim", () => {
    const dir = mkdtempSync(join(tmpdir(), "servesim-hf-"));
    const modelDir = join(dir, "my-llama");
    mkdirSync(modelDir);
    writeFileSync(join(modelDir, "config.json"), JSON.stringify(llama8bConfig));
    const fromDir = loadHfConfig(modelDir);
    expect(fromDir.spec.name).toBe("my-llama");
    expect(fromDir.spec.headDim).toBe(128);
    expect(paramCount(fromDir.spec)).toBe(8_030_261_248);
    const r = resolveRun(config({ model: { name: join(modelDir, "config.json") }, deviceName: "h100_sxm" }));
    expect(r.model.numKvHeads).toBe(8);
    expect(r.weightDtype).toBe("bf16");
  });

  it("maps Qwen2 (QKV bias), Qwen3 (q/k norm), Mistral and Mixtral to their families", () => {
    const qwen2 = modelFromHfConfig(
      {
        architectures: ["Qwen2ForCausalLM"],
        hidden_size: 3584,
        intermediate_size: 18944,
        num_attention_heads: 28,
        num_hidden_layers: 28,
        num_key_value_heads: 4,
        vocab_size: 152064,
        sliding_window: 131072,
        use_sliding_window: false,
      },
      "qwen2",
    );
    expect(paramCount(qwen2.spec)).toBe(7_615_616_512);
    const mixtral = modelFromHfConfig(
      {
        architectures: ["MixtralForCausalLM"],
        hidden_size: 4096,
        intermediate_size: 14336,
        num_attention_heads: 32,
        num_hidden_layers: 32,
        num_key_value_heads: 8,
        vocab_size: 32000,
        num_local_experts: 8,
        num_experts_per_tok: 2,
        sliding_window: null,
      },
      "mixtral",
    );
    expect(mixtral.spec.family).toBe("moe");
    expect(paramCount(mixtral.spec)).toBe(46_702_792_704);
    const mistral = modelFromHfConfig({ ...llama8bConfig, architectures: ["MistralForCausalLM"], rope_scaling: null, sliding_window: null }, "mistral");
    expect(mistral.spec.family).toBe("llama");
  });

  it("reads modelopt FP8 quantization as FP8 weights and KV", () => {
    const m = modelFromHfConfig({ ...llama8bConfig, quantization_config: { quant_method: "modelopt", quant_algo: "FP8", kv_cache_quant_algo: "FP8" } }, "fp8");
    expect([m.weight, m.kv]).toEqual(["fp8", "fp8"]);
  });

  it("names the unsupported field", () => {
    expectInvalid(
      () => modelFromHfConfig({ ...llama8bConfig, architectures: ["GPT2LMHeadModel"] }, "c.json"),
      "config.model",
      /architectures \["GPT2LMHeadModel"\] is not supported/,
    );
    expectInvalid(() => modelFromHfConfig({ ...llama8bConfig, rope_scaling: { type: "mrope" } }, "c.json"), "config.model", /rope_scaling type "mrope"/);
    expectInvalid(
      () => modelFromHfConfig({ ...llama8bConfig, architectures: ["MistralForCausalLM"], sliding_window: 4096, max_position_embeddings: 32768 }, "c.json"),
      "config.model",
      /sliding_window 4096/,
    );
    expectInvalid(() => modelFromHfConfig({ ...llama8bConfig, hidden_size: undefined }, "c.json"), "config.model", /"hidden_size" is missing/);
    expectInvalid(
      () => modelFromHfConfig({ ...llama8bConfig, quantization_config: { quant_method: "awq" } }, "c.json"),
      "config.model",
      /quantization_config \(quant_method "awq"\)/,
    );
    expectInvalid(() => loadHfConfig("/nonexistent/servesim/config.json"), "config.model", /no such file/);
  });
});

describe("inline architecture", () => {
  const inline = {
    name: "mini",
    architecture: "LlamaForCausalLM",
    numHiddenLayers: 2,
    hiddenSize: 256,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    headDim: 0,
    intermediateSize: 512,
    vocabSize: 1000,
  };
  it("validates and resolves", () => {
    const r = resolveRun(config({ model: { inline }, deviceName: "a100_sxm" }));
    expect(r.model.headDim).toBe(64);
    // 2·1000·256 + 2·(256·256 + 2·256·128 + 256·256 + 3·256·512 + 512) + 256
    expect(paramCount(r.model)).toBe(512_000 + 2 * (65_536 + 65_536 + 65_536 + 393_216 + 512) + 256);
  });
  it("names bad fields", () => {
    expectInvalid(
      () => resolveRun(config({ model: { inline: { ...inline, architecture: "BertModel" } }, deviceName: "h100_sxm" })),
      "config.model.inline.architecture",
      /unsupported architecture "BertModel"/,
    );
    expectInvalid(
      () => resolveRun(config({ model: { inline: { ...inline, numHiddenLayers: 0 } }, deviceName: "h100_sxm" })),
      "config.model.inline.num_hidden_layers",
    );
    expectInvalid(
      () => resolveRun(config({ model: { inline: { ...inline, numKeyValueHeads: 3 } }, deviceName: "h100_sxm" })),
      "config.model.inline.num_key_value_heads",
    );
    expectInvalid(
      () => resolveRun(config({ model: { inline: { ...inline, architecture: "MixtralForCausalLM" } }, deviceName: "h100_sxm" })),
      "config.model.inline.num_local_experts",
    );
  });
});

describe("GPU catalog", () => {
  it("holds the AIC system values", () => {
    const h100 = lookupGpu("H100_SXM")!;
    expect([h100.memBw, h100.memCapacity, h100.bf16Flops, h100.fp8Flops, h100.intraNodeBw]).toEqual([3.35e12, 85_899_345_920, 989e12, 1978e12, 450e9]);
    expect(lookupGpu("h200")!.memCapacity).toBe(151_397_597_184);
    expect(lookupGpu("b200_sxm")!.fp4Flops).toBe(9000e12);
    expect(lookupGpu("a100_sxm")!.fp8Flops).toBe(0);
    expect(lookupGpu("l40s")!.bf16Flops).toBe(362.05e12);
    expect(ncclMemFor(h100, 1)).toBe(0);
    expect(ncclMemFor(h100, 2)).toBe(358_612_992);
    expect(ncclMemFor(h100, 16)).toBe(411_041_792);
  });

  it("parses an AIC system YAML", () => {
    const yaml = `data_dir: data/x1
gpu:
  mem_bw: 1000000000000
  mem_capacity: 17179869184
  float16_tc_flops: 100000000000000
  sm_version: 90
node:
  num_gpus_per_node: 4
  inter_node_bw: 10000000000
  intra_node_bw: 100000000000
misc:
  nccl_mem:
    1: 0
    2: 1000
  other_mem: 1073741824
  nccl_version: '2.20'
`;
    const g = gpuFromYamlText(yaml, "/tmp/x1.yaml");
    expect(g).toMatchObject({
      name: "x1",
      memBw: 1e12,
      bf16Flops: 1e14,
      fp8Flops: 0,
      numGpusPerNode: 4,
      otherMem: 2 ** 30,
      dataDir: "data/x1",
      ncclVersion: "2.20",
    });
    expect(ncclMemFor(g, 2)).toBe(1000);
    expectInvalid(() => gpuFromYamlText("gpu:\n  mem_bw: 1\n  bfloat16_tc_flops: 1\n", "/tmp/bad.yaml"), "config.gpu", /gpu\.mem_capacity is missing/);
  });

  it("resolves a GPU from a YAML path and inline hardware", () => {
    const dir = mkdtempSync(join(tmpdir(), "servesim-gpu-"));
    const path = join(dir, "mygpu.yaml");
    writeFileSync(
      path,
      "gpu:\n  mem_bw: 2.0e12\n  mem_capacity: 34359738368\n  bfloat16_tc_flops: 5.0e14\n  fp8_tc_flops: 1.0e15\nnode:\n  intra_node_bw: 3.0e11\n  inter_node_bw: 5.0e10\n",
    );
    expect(resolveRun(config({ model: { name: "tinyllama" }, gpu: { name: path } })).gpu.name).toBe("mygpu");
    const inline = {
      name: "g",
      memBw: 1e12,
      memCapacity: 1e10,
      bfloat16TcFlops: 1e14,
      fp8TcFlops: 0,
      fp4TcFlops: 0,
      intraNodeBw: 1e11,
      interNodeBw: 0,
      numGpusPerNode: 0,
      memBwEmpiricalScalingFactor: 0,
      memEmpiricalConstantLatency: 0,
      otherMem: 0,
      p2pLatency: 0,
    };
    const r = resolveRun(config({ model: { name: "tinyllama" }, gpu: { inline } }));
    expect([r.gpu.numGpusPerNode, r.gpu.memBwEmpiricalScalingFactor, r.gpu.interNodeBw]).toEqual([8, 0.8, 1e11]);
    expectInvalid(() => resolveRun(config({ model: { name: "tinyllama" }, gpu: { inline: { ...inline, memBw: 0 } } })), "config.gpu.inline.mem_bw");
  });
});

describe("resolveRun errors", () => {
  it("unknown model and GPU name their fields", () => {
    expectInvalid(() => resolveRun(config({ model: { name: "llama-9" }, deviceName: "h100_sxm" })), "config.model", /unknown model "llama-9"/);
    expectInvalid(() => resolveRun(config({ deviceName: "h100_sxm" })), "config.model", /required/);
    expectInvalid(() => resolveRun(config({ model: { name: "llama-3.1-8b" }, gpu: { name: "tpu_v5" } })), "config.gpu", /unknown GPU "tpu_v5"/);
    expectInvalid(() => resolveRun(config({ model: { name: "llama-3.1-8b" }, deviceName: "mi300x" })), "config.device_name", /unknown GPU "mi300x"/);
    expectInvalid(() => resolveRun(config({ model: { name: "llama-3.1-8b" } })), "config.gpu", /required/);
    expectInvalid(() => resolveRun(config({ model: { name: "llama-3.1-8b" }, gpu: { name: "/no/such/gpu.yaml" } })), "config.gpu", /no such system YAML/);
  });

  it("checks parallelism and precision against model and GPU", () => {
    expectInvalid(
      () => resolveRun(config({ model: { name: "qwen2.5-7b" }, deviceName: "h100_sxm", parallelism: { tp: 8, pp: 1, ep: 1 } })),
      "config.parallelism.tp",
      /28 attention heads/,
    );
    expectInvalid(
      () => resolveRun(config({ model: { name: "llama-3.1-8b" }, deviceName: "h100_sxm", parallelism: { tp: 1, pp: 1, ep: 2 } })),
      "config.parallelism.ep",
      /MoE/,
    );
    expectInvalid(
      () => resolveRun(config({ model: { name: "llama-3.1-8b" }, deviceName: "a100_sxm", weightDtype: DType.D_TYPE_FP8 })),
      "config.weight_dtype",
      /a100_sxm has no fp8/,
    );
    expectInvalid(
      () => resolveRun(config({ model: { name: "llama-3.1-8b" }, deviceName: "h100_sxm", kvCacheDtype: DType.D_TYPE_NVFP4 })),
      "config.kv_cache_dtype",
    );
    const r = resolveRun(config({ model: { name: "mixtral-8x7b" }, deviceName: "h100_sxm", parallelism: { tp: 4, pp: 1, ep: 2 } }));
    expect([r.tp, r.ep]).toEqual([4, 2]);
    // FP8 weights imply an FP8 KV cache unless told otherwise.
    const f = resolveRun(config({ model: { name: "llama-3.1-8b" }, deviceName: "h100_sxm", weightDtype: DType.D_TYPE_FP8 }));
    expect(f.kvDtype).toBe("fp8");
  });
});
