import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildJobSpec } from "../src/jobSpec.js";
import { runCli, tempDir } from "./harness.js";

const dir = tempDir();
const file = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const dataset = file(
  "d.jsonl",
  `${Array.from({ length: 4 }, (_, i) => JSON.stringify({ task_id: i, input_ids: [1, 2, 3, 4 + i], output_tokens: 3 })).join("\n")}\n`,
);

describe("MoE settings from the command line", () => {
  it("extra_llm_api_options: moe_expert_parallel_size, moe_tensor_parallel_size and moe_config.load_balancer reach the predictor", () => {
    const extra = file(
      "extra.yaml",
      "moe_expert_parallel_size: 4\nmoe_tensor_parallel_size: 2\nmoe_config:\n  backend: TRTLLM\n  load_balancer:\n    num_slots: 288\n",
    );
    const { spec, warnings } = buildJobSpec({ dataset, model: "deepseek-r1", gpu: "b200_sxm", tp: 8, extraLlmApiOptions: extra });
    expect(spec.predictor?.parallelism).toMatchObject({ tp: 8, ep: 4, moeTp: 2 });
    expect(spec.predictor?.moe).toEqual({ distribution: "", eplb: true, communication: "" });
    expect(warnings.join("\n")).toMatch(/moe_config\.backend TRTLLM is priced like CUTLASS/);
  });

  it("--sim-config: moe_tp, moe_distribution, eplb, moe_communication, nearest_table_version", () => {
    const sim = file(
      "sim.yaml",
      "predictor:\n  name: roofline\n  moe_tp: 1\n  ep: 8\n  moe_distribution: balanced\n  moe_communication: auto\n  nearest_table_version: true\n",
    );
    const { spec } = buildJobSpec({ dataset, model: "deepseek-r1", gpu: "b200_sxm", tp: 8, simConfig: sim });
    expect(spec.predictor?.parallelism).toMatchObject({ tp: 8, ep: 8, moeTp: 1 });
    expect(spec.predictor?.moe).toEqual({ distribution: "balanced", eplb: false, communication: "auto" });
    expect(spec.predictor?.nearestTableVersion).toBe(true);
  });

  it("a DeepSeek-R1 NVFP4 job runs end to end at TP8 EP8, and with attention DP on eight ranks", async () => {
    const r = await runCli([
      "throughput",
      "--dataset",
      dataset,
      "-m",
      "nvidia/DeepSeek-R1-0528-FP4",
      "--gpu",
      "b200_sxm",
      "--tp",
      "8",
      "--ep",
      "8",
      "--warmup",
      "0",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Predictor: roofline (b200_sxm, DeepSeek-R1, TP8 EP8, nvfp4 (KV fp8))");
    const adp = buildJobSpec({ dataset, model: "deepseek-r1", gpu: "b200_sxm", tp: 8, ep: 8 });
    adp.spec.predictor!.parallelism!.attentionDp = true;
    adp.spec.workload = { inline: { requests: [{ taskId: 0, inputLength: 8, outputTokens: 2, inputIds: [] }] } };
    const { resolveJob } = await import("@servesim/runner");
    const job = await resolveJob(adp.spec);
    expect(job.engine.attentionDpRanks).toBe(8);
    adp.spec.engine!.requestRate = 10;
    expect((await resolveJob(adp.spec)).engine.arrivals.kind).toBe("poisson");
    // A ceiling over the rate reacts to request ends: not simulated with attention DP.
    adp.spec.engine!.concurrency = 4;
    await expect(resolveJob(adp.spec)).rejects.toThrow(/spec\.engine\.concurrency: attention DP runs open-loop arrivals or a concurrency limit/);
    adp.spec.engine!.concurrency = 0;
    adp.spec.predictor!.parallelism = { tp: 2, pp: 2, ep: 1 };
    adp.spec.predictor!.model = { name: "llama-3.1-8b" };
    adp.spec.predictor!.gpu = { name: "h100_sxm" };
    adp.spec.predictor!.weightDtype = 0;
    adp.spec.predictor!.kvCacheDtype = 0;
    // PP with Poisson arrivals runs on the pipeline loop.
    const pp = await resolveJob(adp.spec);
    expect([pp.engine.ppSize, pp.engine.arrivals.kind]).toEqual([2, "poisson"]);
  });

  it("extra_llm_api_options: enable_attention_dp, attention_dp_config, speculative_config, cuda_graph_config and kv_cache_dtype reach the job spec", () => {
    const extra = file(
      "modern.yaml",
      [
        "enable_attention_dp: true",
        "kv_cache_dtype: fp8",
        "attention_dp_config:",
        "  enable_balance: true",
        "  timeout_iters: 50",
        "  batching_wait_iters: 10",
        "speculative_config:",
        "  decoding_type: MTP",
        "  num_nextn_predict_layers: 3",
        "  acceptance_rates: [0.9, 0.7, 0.5]",
        "  acceptance_seed: 7",
        "  use_relaxed_acceptance_for_thinking: true",
        "cuda_graph_config:",
        "  enable_padding: true",
        "  batch_sizes: [1, 2, 4, 8]",
        "",
      ].join("\n"),
    );
    const { spec, warnings } = buildJobSpec({ dataset, model: "deepseek-r1", gpu: "b200_sxm", tp: 8, extraLlmApiOptions: extra });
    expect(spec.predictor?.parallelism?.attentionDp).toBe(true);
    expect(spec.predictor?.kvCacheDtype).toBe(3);
    expect(spec.engine?.attentionDp).toEqual({ enableBalance: true, timeoutIters: 50, batchingWaitIters: 10 });
    expect(spec.engine?.speculative).toEqual({ decodingType: 1, maxDraftLen: 3, draftModel: "", acceptanceRates: [0.9, 0.7, 0.5], seed: 7 });
    expect(spec.engine?.cudaGraph).toEqual({ batchSizes: [1, 2, 4, 8], enablePadding: true });
    expect(warnings.join("\n")).toMatch(/line 12: speculative_config\.use_relaxed_acceptance_for_thinking is not simulated/);
    const eagle = file(
      "eagle.yaml",
      "speculative_config:\n  decoding_type: Eagle3\n  max_draft_len: 2\n  speculative_model_dir: /m/eagle\n  mean_accepted_draft_tokens: 1.2\n",
    );
    expect(buildJobSpec({ dataset, model: "llama-3.1-8b", gpu: "h100_sxm", extraLlmApiOptions: eagle }).spec.engine?.speculative).toEqual({
      decodingType: 2,
      maxDraftLen: 2,
      draftModel: "/m/eagle",
      acceptanceRates: [],
      meanAcceptedDraftTokens: 1.2,
    });
    const bad = file("bad.yaml", "speculative_config:\n  decoding_type: Medusa\n");
    expect(() => buildJobSpec({ dataset, model: "llama-3.1-8b", gpu: "h100_sxm", extraLlmApiOptions: bad })).toThrow(
      /line 2.*decoding_type.*MTP or EAGLE3 or EAGLE/,
    );
  });
});
