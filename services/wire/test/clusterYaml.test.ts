import { describe, expect, it } from "vitest";
import { FirstTokenSource, SpeculativeDecoding } from "../gen/ts/servesim/v1/scheduler.js";
import { isTrtllmDisaggConfig, readClusterSection, readClusterYaml, readTrtllmDisaggConfig, YamlDoc } from "../src/index.js";

const section = (text: string) => {
  const doc = YamlDoc.parse(text, "sim.yaml");
  const warnings: string[] = [];
  return { cluster: readClusterSection(doc.root().map("cluster")!, warnings), warnings };
};

describe("cluster section of a sim-config", () => {
  it("reads the aggregated shorthand and router weights", () => {
    const { cluster, warnings } = section("cluster:\n  instances: 4\n  router:\n    type: kv_aware\n    weights: {prefix: 2, kv_load: 0.5}\n");
    expect(cluster).toEqual({ aggregated: [{ numWorkers: 4 }], router: { type: "kv_aware", weights: { prefix: 2, kv_load: 0.5 } } });
    expect(warnings).toEqual([]);
  });

  it("reads prefill and decode pools with their parallelism and limits", () => {
    const { cluster, warnings } = section(
      [
        "cluster:",
        "  prefill: {num_workers: 2, tp: 4, ep: 4, attention_dp: true, max_batch_size: 2, max_num_tokens: 8192}",
        "  decode:",
        "    num_workers: 8",
        "    tp: 8",
        "    ep: 8",
        "    max_batch_size: 256",
        "    colour: blue",
        "  kv_transfer: {bandwidth_gb_per_s: 25, latency_us: 20}",
      ].join("\n"),
    );
    expect(cluster.prefill).toEqual({ numWorkers: 2, parallelism: { tp: 4, pp: 0, ep: 4, attentionDp: true }, maxBatchSize: 2, maxNumTokens: 8192 });
    expect(cluster.decode).toEqual({ numWorkers: 8, parallelism: { tp: 8, pp: 0, ep: 8 }, maxBatchSize: 256 });
    expect(cluster.kvTransfer).toEqual({ bandwidthBytesPerS: 25e9, latencyMs: 0.02 });
    expect(warnings).toEqual(["sim.yaml line 8: cluster.decode.colour is not a known key; ignored"]);
  });

  it("reads the first-token source, the request overheads and a pool's speculative decoding", () => {
    const { cluster, warnings } = section(
      [
        "cluster:",
        "  prefill: {num_workers: 1}",
        "  decode:",
        "    num_workers: 2",
        "    speculative: {decoding_type: MTP, num_nextn_predict_layers: 3, mean_accepted_draft_tokens: 1.8}",
        "  first_token: context",
        "  request_overheads: {frontend_ms: 4, handoff_ms: 1.5}",
      ].join("\n"),
    );
    expect(cluster.decode?.speculative).toEqual({
      decodingType: SpeculativeDecoding.SPECULATIVE_DECODING_MTP,
      maxDraftLen: 3,
      draftModel: "",
      acceptanceRates: [],
      meanAcceptedDraftTokens: 1.8,
    });
    expect(cluster.firstToken).toBe(FirstTokenSource.FIRST_TOKEN_SOURCE_CONTEXT);
    expect(cluster.requestOverheads).toEqual({ frontendMs: 4, handoffMs: 1.5 });
    expect(warnings).toEqual([]);
    expect(() => section("cluster:\n  prefill: {}\n  decode: {}\n  first_token: prefill\n")).toThrow(
      'sim.yaml line 4: cluster.first_token must be generation or context (got "prefill")',
    );
    expect(() => section("cluster:\n  prefill: {}\n  decode:\n    speculative: {decoding_type: Medusa}\n")).toThrow(
      "sim.yaml line 4: cluster.decode.speculative.decoding_type must be MTP or EAGLE3 or EAGLE",
    );
  });

  it("errors name the file, the line and the key", () => {
    expect(() => section("cluster:\n  prefill:\n    num_workers: 0\n  decode: {}\n")).toThrow(
      "sim.yaml line 3: cluster.prefill.num_workers must be an integer in [1, 4096] (got 0)",
    );
    expect(() => section("cluster:\n  prefill: {num_workers: 1}\n")).toThrow("sim.yaml line 2: cluster.prefill needs a decode section too");
    expect(() => section("cluster:\n  instances: 2\n  prefill: {}\n  decode: {}\n")).toThrow(
      "sim.yaml line 3: cluster.prefill and instances/aggregated are alternatives",
    );
    expect(() => YamlDoc.parse("cluster: [\n", "bad.yaml")).toThrow(/^bad.yaml line \d+: invalid YAML/);
  });
});

describe("TensorRT-LLM disaggregated serving YAML", () => {
  // The shape of `trtllm-serve disaggregated -c` configs (examples/disaggregated in TensorRT-LLM).
  const TEXT = [
    "hostname: localhost",
    "port: 8000",
    "model: deepseek-ai/DeepSeek-R1",
    "backend: pytorch",
    "free_gpu_memory_fraction: 0.8",
    "context_servers:",
    "  num_instances: 2",
    "  tensor_parallel_size: 4",
    "  moe_expert_parallel_size: 4",
    "  enable_attention_dp: true",
    "  max_batch_size: 2",
    "  max_num_tokens: 8448",
    "  disable_overlap_scheduler: true",
    "  cache_transceiver_config:",
    "    backend: UCX",
    "  urls:",
    '    - "localhost:8001"',
    '    - "localhost:8002"',
    "generation_servers:",
    "  num_instances: 1",
    "  tensor_parallel_size: 8",
    "  moe_expert_parallel_size: 8",
    "  enable_attention_dp: false",
    "  max_batch_size: 128",
    "  kv_cache_config:",
    "    free_gpu_memory_fraction: 0.8",
    "  router:",
    "    type: load_balancing",
    "    use_tokens: false",
    "  urls:",
    '    - "localhost:8003"',
  ].join("\n");

  it("reads context and generation servers as prefill and decode pools", () => {
    const doc = YamlDoc.parse(TEXT, "disagg.yaml");
    expect(isTrtllmDisaggConfig(doc.data)).toBe(true);
    const out = readTrtllmDisaggConfig(doc);
    expect(out.model).toBe("deepseek-ai/DeepSeek-R1");
    expect(out.cluster.prefill).toEqual({
      numWorkers: 2,
      parallelism: { tp: 4, pp: 1, ep: 4, attentionDp: true },
      maxBatchSize: 2,
      maxNumTokens: 8448,
      disableOverlapScheduler: true,
      kvCacheFreeGpuMemFraction: 0.8,
    });
    expect(out.cluster.decode).toEqual({
      numWorkers: 1,
      parallelism: { tp: 8, pp: 1, ep: 8, attentionDp: false },
      maxBatchSize: 128,
      kvCacheFreeGpuMemFraction: 0.8,
      router: { type: "load_balancing", weights: {} },
    });
    expect(out.warnings).toEqual([]);
  });

  it("reads a section's speculative_config (MTP on the generation servers)", () => {
    const doc = YamlDoc.parse(
      "context_servers: {num_instances: 1}\ngeneration_servers:\n  num_instances: 2\n  speculative_config: {decoding_type: MTP, num_nextn_predict_layers: 1}\n",
      "d.yaml",
    );
    const out = readTrtllmDisaggConfig(doc);
    expect(out.cluster.decode?.speculative?.maxDraftLen).toBe(1);
    expect(out.cluster.prefill?.speculative).toBeUndefined();
    expect(out.warnings).toEqual([]);
  });

  it("rejects a section value that contradicts the top level, as TensorRT-LLM does", () => {
    const doc = YamlDoc.parse("max_batch_size: 4\ncontext_servers:\n  max_batch_size: 8\ngeneration_servers: {}\n", "d.yaml");
    expect(() => readTrtllmDisaggConfig(doc)).toThrow("d.yaml line 3: context_servers.max_batch_size differs from the top-level value");
  });
});

describe("readClusterYaml", () => {
  it("finds the topology in either form, or none", () => {
    expect(readClusterYaml("predictor: {name: roofline}\n", "a.yaml")).toBeUndefined();
    expect(readClusterYaml("cluster: {instances: 3}\n", "a.yaml")?.cluster.aggregated).toEqual([{ numWorkers: 3 }]);
    expect(readClusterYaml("context_servers: {num_instances: 2}\ngeneration_servers: {num_instances: 1}\n", "a.yaml")?.cluster.prefill?.numWorkers).toBe(2);
  });
});
