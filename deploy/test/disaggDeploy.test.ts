// The Kubernetes manifest `servesim search` writes for a disaggregated winner: schema-valid objects, one
// worker set per pool with its GPUs and LLM API options, and a disaggregated server whose config lists
// every worker's stable address.
import { disaggDeployArtifacts, type SweepRow } from "@servesim/sweep";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { ConfigMap, Service } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";

const spec = {
  name: "dsr1",
  engine: { maxBatchSize: 64 },
  predictor: { parallelism: { tp: 8, pp: 1, ep: 8 } },
  cluster: {
    aggregated: [],
    prefill: { numWorkers: 2, parallelism: { tp: 4, pp: 1, ep: 4, attentionDp: true }, maxBatchSize: 1, maxNumTokens: 8192 },
    decode: { numWorkers: 3, parallelism: { tp: 8, pp: 1, ep: 8 }, maxBatchSize: 64, maxNumTokens: 64 },
  },
} as unknown as Parameters<typeof disaggDeployArtifacts>[0];
const row = {
  id: "p1",
  label: "P2×TP4 D3×TP8",
  settings: {},
  metrics: { output_tok_s_per_gpu: 812.5, ttft_avg_ms: 240, tpot_avg_ms: 11.2 },
} as unknown as SweepRow;

describe("disaggregated deployment", () => {
  const a = disaggDeployArtifacts(spec, row, { model: "deepseek-ai/DeepSeek-R1", image: "nvcr.io/nvidia/tensorrt-llm/release:1.2.0rc5", name: "dsr1" });
  const docs = parseAllDocuments(a.kubernetes).map((d) => d.toJS());

  it("is schema-valid Kubernetes: ConfigMap, a StatefulSet and headless Service per pool, the server's Deployment and Service", () => {
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      "ConfigMap/dsr1-config",
      "Service/dsr1-ctx",
      "StatefulSet/dsr1-ctx",
      "Service/dsr1-gen",
      "StatefulSet/dsr1-gen",
      "Deployment/dsr1",
      "Service/dsr1",
    ]);
    const models: Record<string, new (d: never) => { validate(): void }> = { ConfigMap, Service, StatefulSet, Deployment };
    for (const d of docs) new models[d.kind]!(d as never).validate();
  });

  it("sizes each pool's workers as simulated and points them at their options", () => {
    const sets = docs.filter((d) => d.kind === "StatefulSet");
    expect(sets.map((s) => [s.spec.replicas, s.spec.template.spec.containers[0].resources.limits["nvidia.com/gpu"]])).toEqual([
      [2, "4"],
      [3, "8"],
    ]);
    expect(a.gpusPerWorker).toEqual({ context: 4, generation: 8 });
    expect(sets[0].spec.template.spec.containers[0].args).toEqual([
      "deepseek-ai/DeepSeek-R1",
      "--backend",
      "pytorch",
      "--host",
      "0.0.0.0",
      "--port",
      "8000",
      "--extra_llm_api_options",
      "/etc/trtllm/ctx_extra_llm_api_options.yaml",
    ]);
    const data = docs[0].data as Record<string, string>;
    expect(parse(data["ctx_extra_llm_api_options.yaml"]!)).toEqual({
      tensor_parallel_size: 4,
      moe_expert_parallel_size: 4,
      enable_attention_dp: true,
      max_batch_size: 1,
      max_num_tokens: 8192,
      disable_overlap_scheduler: true,
      cache_transceiver_config: { backend: "DEFAULT" },
    });
    expect(parse(data["gen_extra_llm_api_options.yaml"]!)).toMatchObject({ tensor_parallel_size: 8, max_batch_size: 64, max_num_tokens: 64 });
    expect(data["gen_extra_llm_api_options.yaml"]).toContain("predicted by simulation, not measured");
  });

  it("gives the disaggregated server every worker's stable address", () => {
    const cfg = parse(a.disaggConfig);
    expect(cfg.context_servers.urls).toEqual(["dsr1-ctx-0.dsr1-ctx.default.svc.cluster.local:8000", "dsr1-ctx-1.dsr1-ctx.default.svc.cluster.local:8000"]);
    expect(cfg.generation_servers.urls).toHaveLength(3);
    expect([cfg.context_servers.num_instances, cfg.generation_servers.num_instances]).toEqual([2, 3]);
    const server = docs.find((d) => d.kind === "Deployment");
    expect(server.spec.template.spec.containers[0].args).toEqual(["disaggregated", "-c", "/etc/trtllm/disagg_config.yaml"]);
    expect(parse((docs[0].data as Record<string, string>)["disagg_config.yaml"]!)).toEqual(cfg);
    // The headless Services select exactly their StatefulSet's pods.
    for (const short of ["ctx", "gen"]) {
      const svc = docs.find((d) => d.kind === "Service" && d.metadata.name === `dsr1-${short}`);
      const set = docs.find((d) => d.kind === "StatefulSet" && d.metadata.name === `dsr1-${short}`);
      expect(svc.spec.clusterIP).toBe("None");
      expect(set.spec.serviceName).toBe(svc.metadata.name);
      expect(svc.spec.selector).toEqual(set.spec.template.metadata.labels);
    }
  });
});
