import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadPredictorServerConfig, startPredictorServer } from "@servesim/predictor-service";
import { loadSchedulerServerConfig, type SchedulerServer, startSchedulerServer } from "@servesim/scheduler-service";
import { createLogger, type ServerHandle } from "@servesim/server-common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildJobSpec } from "../src/jobSpec.js";
import { runCli, tempDir } from "./harness.js";

const dir = tempDir();
const file = (name: string): string => join(dir, name);

/** R0 100/10, R1 200/2, R2 50/2 (distinct token ids); max_batch_size 2 admits R2 when R1 finishes. */
writeFileSync(
  file("d.jsonl"),
  `${[
    [100, 10],
    [200, 2],
    [50, 2],
  ]
    .map(([isl, osl], i) => JSON.stringify({ task_id: i, input_ids: Array.from({ length: isl! }, (_, j) => 1000 * i + j), output_tokens: osl }))
    .join("\n")}\n`,
);
writeFileSync(file("wait.yaml"), "batch_wait_timeout_iters: 2\nbatch_wait_max_tokens_ratio: 0.9\n");
const base = [
  "throughput",
  "--dataset",
  file("d.jsonl"),
  "-m",
  "llama-3.1-8b",
  "--predictor",
  "constant",
  "--max-batch-size",
  "2",
  "--max-num-tokens",
  "8192",
  "--kv-num-blocks",
  "100",
  "--warmup",
  "0",
];
const ttfts = (name: string): number[] =>
  readFileSync(file(name), "utf8")
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { ttft_ms: number }).ttft_ms);

describe("context batch waiting from --extra_llm_api_options (batch_wait_timeout_iters, batch_wait_max_tokens_ratio)", () => {
  let predictor: ServerHandle;
  let scheduler: SchedulerServer;
  beforeAll(async () => {
    const silent = () => createLogger({ name: "test", level: "silent" });
    predictor = await startPredictorServer(loadPredictorServerConfig({ env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: "0" } }), silent());
    scheduler = await startSchedulerServer(
      loadSchedulerServerConfig({ env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: "0", SERVESIM_PREDICTOR_ADDRESS: `127.0.0.1:${predictor.port}` } }),
      silent(),
    );
  });
  afterAll(async () => {
    scheduler.forceShutdown();
    predictor.forceShutdown();
    await Promise.all([scheduler.closed, predictor.closed]);
  });

  it("buildJobSpec: the YAML keys become engine.batch_wait_timeout_iters / batch_wait_max_tokens_ratio; unset leaves them unset", () => {
    const d = file("d.jsonl");
    const plain = buildJobSpec({ dataset: d, model: "llama-3.1-8b", predictor: "constant" }).spec.engine;
    expect(plain?.batchWaitTimeoutIters).toBeUndefined();
    expect(plain?.batchWaitMaxTokensRatio).toBeUndefined();
    const r = buildJobSpec({ dataset: d, model: "llama-3.1-8b", predictor: "constant", extraLlmApiOptions: file("wait.yaml") });
    expect(r.spec.engine).toMatchObject({ batchWaitTimeoutIters: 2, batchWaitMaxTokensRatio: 0.9 });
    expect(r.warnings).toEqual([]);
  });

  it("R2's context is held two decode iterations (TTFT 25 → 35 ms); embedded and scheduler runs give identical records", async () => {
    const off = await runCli([...base, "--request-json", file("off.jsonl")]);
    expect(off.code).toBe(0);
    expect(off.stdout).not.toContain("Batch Waiting");
    // Constant predictor: 10 ms with a context, 5 ms without. Iteration 1 runs R0 and R1's contexts (no
    // generation requests: no wait), iteration 2 finishes R1, iteration 3 would run R2's context next to R0.
    expect(ttfts("off.jsonl")).toEqual([10, 10, 25]);
    const records: string[] = [];
    for (const mode of [[], ["--scheduler-address", `127.0.0.1:${scheduler.port}`]]) {
      const tag = mode.length === 0 ? "embedded" : "scheduler";
      const r = await runCli([
        ...base,
        "--extra_llm_api_options",
        file("wait.yaml"),
        "--request-json",
        file(`${tag}.jsonl`),
        "--report-json",
        file(`${tag}.json`),
        ...mode,
      ]);
      expect(r.stderr).not.toContain("warning");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Batch Waiting:            contexts held up to 2 iterations or until 0.9 × 8192 tokens are scheduled\n");
      records.push(readFileSync(file(`${tag}.jsonl`), "utf8"));
      const sim = (JSON.parse(readFileSync(file(`${tag}.json`), "utf8")) as { sim: { batch_wait?: unknown } }).sim;
      expect(sim.batch_wait).toEqual({ timeout_iters: 2, max_tokens_ratio: 0.9, max_num_tokens: 8192 });
    }
    expect(records[1]).toBe(records[0]);
    // Iterations 3 and 4 run R0 alone (5 ms each, 52 tokens < 0.9 × 8192); iteration 5 releases R2 at the timeout.
    expect(ttfts("embedded.jsonl")).toEqual([10, 10, 35]);
  });

  it("a ratio the iteration reaches releases at once (ratio × max_num_tokens ≤ R0's 1 + R2's 50 tokens)", async () => {
    writeFileSync(file("low.yaml"), "batch_wait_timeout_iters: 20\nbatch_wait_max_tokens_ratio: 0.005\n");
    const r = await runCli([...base, "--extra_llm_api_options", file("low.yaml"), "--request-json", file("low.jsonl")]);
    expect(r.code).toBe(0);
    expect(ttfts("low.jsonl")).toEqual([10, 10, 25]);
  });

  it("one knob at 0 never holds (as TensorRT-LLM): warned, not reported, TTFTs unchanged", async () => {
    writeFileSync(file("iters.yaml"), "batch_wait_timeout_iters: 20\n");
    const r = await runCli([...base, "--extra_llm_api_options", file("iters.yaml"), "--request-json", file("iters.jsonl")]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "batch waiting has no effect: batch_wait_max_tokens_ratio is 0, and TensorRT-LLM releases held contexts as soon as either limit is reached",
    );
    expect(r.stdout).not.toContain("Batch Waiting");
    expect(ttfts("iters.jsonl")).toEqual([10, 10, 25]);
  });

  it("attention DP: ignored with a warning, as TensorRT-LLM skips batch waiting there", async () => {
    writeFileSync(file("adp.yaml"), "enable_attention_dp: true\nbatch_wait_timeout_iters: 2\nbatch_wait_max_tokens_ratio: 0.9\n");
    const r = await runCli([...base, "--tp", "2", "--extra_llm_api_options", file("adp.yaml")]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("batch_wait_timeout_iters / batch_wait_max_tokens_ratio have no effect under attention DP");
    expect(r.stdout).not.toContain("Batch Waiting");
  });

  it.each([
    ["batch_wait_max_tokens_ratio: 1.5\n", "line 1: batch_wait_max_tokens_ratio must be a number in [0, 1]"],
    ["max_batch_size: 4\nbatch_wait_max_tokens_ratio: -0.1\n", "line 2: batch_wait_max_tokens_ratio must be a number in [0, 1]"],
    ["batch_wait_timeout_iters: 2.5\n", "line 1: batch_wait_timeout_iters must be an integer in [0, 2147483647]"],
    ["batch_wait_timeout_iters: -1\n", "line 1: batch_wait_timeout_iters must be an integer in [0, 2147483647]"],
    ["batch_wait_timeout_iters: 4294967296\n", "line 1: batch_wait_timeout_iters must be an integer in [0, 2147483647]"],
  ])("rejects %j naming the file and line", async (yaml, message) => {
    writeFileSync(file("bad.yaml"), yaml);
    const r = await runCli([...base, "--extra_llm_api_options", file("bad.yaml")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file("bad.yaml")} ${message}`);
  });
});
