import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadPredictorServerConfig, startPredictorServer } from "@servesim/predictor-service";
import { loadSchedulerServerConfig, type SchedulerServer, startSchedulerServer } from "@servesim/scheduler-service";
import type { ServerHandle } from "@servesim/server-common";
import { createLogger } from "@servesim/server-common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildJobSpec } from "../src/jobSpec.js";
import { runCli, tempDir } from "./harness.js";

const dir = tempDir();
const file = (name: string): string => join(dir, name);
const silent = () => createLogger({ name: "test", level: "silent" });

/** A TinyLlama-1.1B checkpoint directory (config.json only). */
const checkpoint = join(dir, "TinyLlama-1.1B");
mkdirSync(checkpoint);
writeFileSync(
  join(checkpoint, "config.json"),
  JSON.stringify({
    architectures: ["LlamaForCausalLM"],
    hidden_size: 2048,
    intermediate_size: 5632,
    num_attention_heads: 32,
    num_hidden_layers: 22,
    num_key_value_heads: 4,
    vocab_size: 32000,
    max_position_embeddings: 2048,
  }),
);
writeFileSync(
  file("d.jsonl"),
  `${Array.from({ length: 6 }, (_, i) => JSON.stringify({ task_id: i, input_ids: Array.from({ length: 20 + 4 * i }, (_, j) => j + i), output_tokens: 3 })).join(
    "\n",
  )}\n`,
);
writeFileSync(
  file("prompts.jsonl"),
  `${[
    JSON.stringify({ task_id: 0, prompt: "y".repeat(97), output_tokens: 4 }),
    JSON.stringify({ task_id: 1, input_ids: [5, 6, 7], output_tokens: 2 }),
    JSON.stringify({ task_id: 1, prompt: "short", output_tokens: 2 }),
  ].join("\n")}\n`,
);

const modes = ["embedded", "scheduler"] as const;

describe("servesim throughput: model path, approximate prompt tokens and warnings in every mode", () => {
  let predictor: ServerHandle;
  let scheduler: SchedulerServer;
  let address: string;
  beforeAll(async () => {
    predictor = await startPredictorServer(loadPredictorServerConfig({ env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: "0" } }), silent());
    const config = loadSchedulerServerConfig({
      env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: "0", SERVESIM_PREDICTOR_ADDRESS: `127.0.0.1:${predictor.port}` },
    });
    scheduler = await startSchedulerServer(config, silent());
    address = `127.0.0.1:${scheduler.port}`;
  });
  afterAll(async () => {
    scheduler.forceShutdown();
    predictor.forceShutdown();
    await Promise.all([scheduler.closed, predictor.closed]);
  });

  const modeArgs = (mode: (typeof modes)[number]): string[] => (mode === "scheduler" ? ["--scheduler-address", address] : []);
  /** stderr without scheduler mode's "submitted job" line. */
  const warnings = (stderr: string): string => stderr.replace(/^submitted job \S+ to \S+\n/m, "");

  it("--model-path is JobSpec.model_path: the report's Model Path (global --model_path spelling too)", async () => {
    expect(buildJobSpec({ dataset: file("d.jsonl"), modelPath: checkpoint, gpu: "h100_sxm" }).spec.modelPath).toBe(checkpoint);
    expect(buildJobSpec({ dataset: file("d.jsonl"), model: "llama-3.1-8b", gpu: "h100_sxm" }).spec.modelPath).toBe("");
    for (const mode of modes) {
      const r = await runCli([
        "--model_path",
        checkpoint,
        "throughput",
        "--dataset",
        file("d.jsonl"),
        "--gpu",
        "h100_sxm",
        "--warmup",
        "0",
        "--report_json",
        file(`mp-${mode}.json`),
        ...modeArgs(mode),
      ]);
      expect(warnings(r.stderr)).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Model:\t\t\tTinyLlama-1.1B\nModel Path:\t\t${checkpoint}\n`);
      expect(JSON.parse(readFileSync(file(`mp-${mode}.json`), "utf8")).engine).toMatchObject({ model: "TinyLlama-1.1B", model_path: checkpoint });
    }
    // -m names the model in the report; the path stays the Model Path.
    const named = await runCli(["throughput", "--dataset", file("d.jsonl"), "-m", "my-tiny", "--model-path", checkpoint, "--gpu", "h100_sxm", "--warmup", "0"]);
    expect(named.stdout).toContain(`Model:\t\t\tmy-tiny\nModel Path:\t\t${checkpoint}\n`);
  });

  it("--approx-prompt-tokens: prompt-only lines get ceil(characters / 4) tokens, flagged in the report", async () => {
    const outputs: string[] = [];
    for (const mode of modes) {
      const r = await runCli([
        "throughput",
        "--dataset",
        file("prompts.jsonl"),
        "-m",
        "llama-3.1-8b",
        "--gpu",
        "h100_sxm",
        "--approx_prompt_tokens",
        "--warmup",
        "0",
        "--request-json",
        file(`ap-${mode}.jsonl`),
        "--report-json",
        file(`ap-${mode}.json`),
        ...modeArgs(mode),
      ]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Prompt Lengths:           approximated as ceil(characters / 4)\n");
      const lengths = readFileSync(file(`ap-${mode}.jsonl`), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).input_length as number);
      expect(lengths).toEqual([25, 3, 2]);
      expect(JSON.parse(readFileSync(file(`ap-${mode}.json`), "utf8")).sim.approx_prompt_tokens).toBe(true);
      outputs.push(warnings(r.stderr));
    }
    expect(outputs[0]).toBe(`warning: ${file("prompts.jsonl")} line 3: duplicate task_id 1 (first seen on line 2)\n`);
    expect(outputs[1]).toBe(outputs[0]);
    const off = await runCli(["throughput", "--dataset", file("prompts.jsonl"), "-m", "llama-3.1-8b", "--predictor", "constant", ...modeArgs("scheduler")]);
    expect(off.code).toBe(2);
    expect(off.stderr).toBe(
      `error: INVALID_ARGUMENT: ${file("prompts.jsonl")} line 1: prompt without input_ids needs a tokenizer: regenerate the dataset with input_ids (servesim prepare-dataset sharegpt --tokenizer tokenizer.json), or pass --approx-prompt-tokens (JobSpec workload.dataset.approx_prompt_tokens) to take ISL = ceil(characters / 4)\n`,
    );
  });

  it("the runner's warnings reach stderr identically in embedded, remote-predictor and scheduler mode", async () => {
    const args = [
      "throughput",
      "--dataset",
      file("d.jsonl"),
      "-m",
      "llama-3.1-8b",
      "--predictor",
      "constant",
      "--chunking-policy",
      "equal_progress",
      "--warmup",
      "0",
    ];
    const embedded = await runCli(args);
    const remote = await runCli([...args, "--predictor-address", `127.0.0.1:${predictor.port}`]);
    const job = await runCli([...args, "--scheduler-address", address]);
    for (const r of [embedded, remote, job]) expect(r.code).toBe(0);
    expect(embedded.stderr).toBe(
      "warning: chunking_policy has no effect: chunked context is disabled (enable_chunked_context)\n" +
        "warning: no model and GPU to size the KV cache from: the pool holds every request at once (9 blocks); give kv_num_blocks or kv_cache_max_tokens to bound it\n",
    );
    expect(remote.stderr).toBe(embedded.stderr);
    expect(job.stderr).toMatch(/^submitted job \S+ to 127\.0\.0\.1:\d+\n/);
    expect(warnings(job.stderr)).toBe(embedded.stderr);
    const quiet = await runCli([...args, "--scheduler-address", address, "--quiet"]);
    expect(quiet.stderr).toBe("");
  });
});
