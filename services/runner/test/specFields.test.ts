import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPredictor } from "@servesim/perf";
import { describe, expect, it } from "vitest";
import { resolveJob } from "../src/resolveJob.js";
import { runResolvedJob } from "../src/runJob.js";
import { constant, datasetSpec, inline, invalid, jsonl, spec, uniform } from "./helpers.js";

/** TinyLlama-1.1B's config.json (the cost-relevant keys), FP8-quantized when asked. */
function writeCheckpoint(fp8 = false): string {
  const dir = join(mkdtempSync(join(tmpdir(), "servesim-runner-")), "TinyLlama-1.1B");
  mkdirSync(dir);
  const config: Record<string, unknown> = {
    architectures: ["LlamaForCausalLM"],
    hidden_size: 2048,
    intermediate_size: 5632,
    num_attention_heads: 32,
    num_hidden_layers: 22,
    num_key_value_heads: 4,
    vocab_size: 32000,
    max_position_embeddings: 2048,
  };
  if (fp8) config["quantization_config"] = { quant_method: "modelopt", quant_algo: "FP8", kv_cache_quant_algo: "FP8" };
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return dir;
}

const run = async (s: Parameters<typeof resolveJob>[0]) => {
  const job = await resolveJob(s);
  return runResolvedJob(job, await createPredictor(job.predictor.config));
};

describe("JobSpec.model_path", () => {
  it("with a catalog model it only fills the report's Model Path (text and report.json)", async () => {
    const out = await run(
      spec({
        engine: { warmup: 0, kvNumBlocks: 100 },
        predictor: { ...constant, model: { name: "llama-3.1-8b" } },
        workload: inline([{ inputLength: 8, outputTokens: 2 }]),
        modelPath: "/models/Llama-3.1-8B",
      }),
    );
    expect(out.reportText).toContain("Model:\t\t\tllama-3.1-8b\nModel Path:\t\t/models/Llama-3.1-8B\n");
    expect(out.reportJson["engine"]).toMatchObject({ model: "llama-3.1-8b", model_path: "/models/Llama-3.1-8B" });
  });

  it("unset: Model Path None, as trtllm-bench prints a missing path", async () => {
    const out = await run(spec({ engine: { warmup: 0 }, predictor: constant, workload: inline([{ inputLength: 8, outputTokens: 2 }]) }));
    expect(out.reportText).toContain("Model Path:\t\tNone\n");
    expect(out.reportJson["engine"]).toMatchObject({ model_path: "None" });
  });

  it("without a model it is the model: the checkpoint's config.json is read and sent inline", async () => {
    const dir = writeCheckpoint();
    const job = await resolveJob(
      spec({ engine: { warmup: 0 }, predictor: { gpu: { name: "h100_sxm" } }, workload: inline([{ inputLength: 64, outputTokens: 4 }]), modelPath: dir }),
    );
    expect(job.modelPath).toBe(dir);
    expect(job.predictor.kind).toBe("roofline");
    expect(job.predictor.modelName).toBe("TinyLlama-1.1B");
    expect(job.predictor.config.model?.inline).toMatchObject({
      name: "TinyLlama-1.1B",
      numHiddenLayers: 22,
      hiddenSize: 2048,
      numKeyValueHeads: 4,
      vocabSize: 32000,
    });
    expect(job.predictor.weightDtype).toBe("bf16");
    // The path of the file itself works too, and an FP8 checkpoint brings its dtypes.
    const fp8 = writeCheckpoint(true);
    const q = await resolveJob(
      spec({
        engine: { warmup: 0 },
        predictor: { gpu: { name: "h100_sxm" } },
        workload: inline([{ inputLength: 64, outputTokens: 4 }]),
        modelPath: join(fp8, "config.json"),
      }),
    );
    expect([q.predictor.weightDtype, q.predictor.kvDtype]).toEqual(["fp8", "fp8"]);
    const out = await runResolvedJob(job, await createPredictor(job.predictor.config));
    expect(out.reportText).toContain(`Model:\t\t\tTinyLlama-1.1B\nModel Path:\t\t${dir}\n`);
  });

  it("a model_path that cannot be read is INVALID_ARGUMENT on spec.model_path", async () => {
    const e = await invalid(
      resolveJob(spec({ predictor: constant, workload: inline([{ inputLength: 8, outputTokens: 2 }]), modelPath: "/nonexistent/servesim-model" })),
    );
    expect(e.field).toBe("spec.model_path");
    expect(e.reason).toBe("/nonexistent/servesim-model: no such file or directory");
  });
});

describe("DatasetWorkload.approx_prompt_tokens", () => {
  const text = [
    JSON.stringify({ task_id: 0, prompt: "x".repeat(401), output_tokens: 3 }),
    JSON.stringify({ task_id: 1, input_ids: [1, 2, 3, 4, 5], output_tokens: 2 }),
    JSON.stringify({ task_id: 2, prompt: "abcdefgh", output_tokens: 1 }),
  ].join("\n");

  it("prompt-only lines get ISL = ceil(characters / 4) and the report says so", async () => {
    const s = datasetSpec(text, { warmup: 0, kvNumBlocks: 100 }, constant, "prompts.jsonl");
    s.workload!.dataset!.approxPromptTokens = true;
    const job = await resolveJob(s);
    expect(job.requests.map((r) => r.inputLength)).toEqual([101, 5, 2]);
    expect(job.approxPromptTokens).toBe(true);
    const out = await runResolvedJob(job, await createPredictor(job.predictor.config));
    expect(out.reportText).toContain("Prompt Lengths:           approximated as ceil(characters / 4)\n");
    expect((out.reportJson["sim"] as Record<string, unknown>)["approx_prompt_tokens"]).toBe(true);
  });

  it("off (the default), a prompt-only line is an error naming the dataset line", async () => {
    const e = await invalid(resolveJob(datasetSpec(text, {}, constant, "prompts.jsonl")));
    expect(e.field).toBe("prompts.jsonl line 1");
    expect(e.reason).toMatch(/needs a tokenizer/);
  });

  it("on, with token ids on every line: nothing is approximated and the report has no flag", async () => {
    const s = datasetSpec(jsonl(uniform(3, 16, 2)), { warmup: 0, kvNumBlocks: 100 }, constant);
    s.workload!.dataset!.approxPromptTokens = true;
    const out = await run(s);
    expect(out.reportText).not.toContain("Prompt Lengths");
    expect((out.reportJson["sim"] as Record<string, unknown>)["approx_prompt_tokens"]).toBe(false);
  });
});
