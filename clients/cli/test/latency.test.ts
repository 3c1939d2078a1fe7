import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadPredictorServerConfig, startPredictorServer } from "@servesim/predictor-service";
import { loadSchedulerServerConfig, type SchedulerServer, startSchedulerServer } from "@servesim/scheduler-service";
import type { ServerHandle } from "@servesim/server-common";
import { createLogger } from "@servesim/server-common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latencyCommand } from "../src/commands/latency.js";
import type { CliIo } from "../src/io.js";
import { runCli, spawnCli, tempDir } from "./harness.js";

const dir = tempDir();
const file = (name: string): string => join(dir, name);
const silent = () => createLogger({ name: "test", level: "silent" });

writeFileSync(
  file("three.jsonl"),
  '{"task_id":0,"input_ids":[1,2,3,4,5,6,7,8,9,10],"output_tokens":4}\n{"task_id":1,"input_ids":[1,2,3],"output_tokens":2}\n{"task_id":2,"input_ids":[4,5],"output_tokens":3}\n',
);

/** `servesim latency` through the real command (runCli's program only has the older commands). */
async function latency(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s), isTTY: false } };
  const cmd = latencyCommand(io).exitOverride();
  cmd.configureOutput({ writeOut: (s) => void out.push(s), writeErr: (s) => void err.push(s) });
  try {
    await cmd.parseAsync(args, { from: "user" });
  } catch {
    return { code: 2, stdout: out.join(""), stderr: err.join("") };
  }
  return { code: io.exitCode ?? 0, stdout: out.join(""), stderr: err.join("") };
}

const records = (path: string) =>
  readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, number>);

describe("servesim latency", () => {
  let predictor: ServerHandle;
  let scheduler: SchedulerServer;
  let address: string;
  beforeAll(async () => {
    predictor = await startPredictorServer(loadPredictorServerConfig({ env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: "0" } }), silent());
    scheduler = await startSchedulerServer(
      loadSchedulerServerConfig({ env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: "0", SERVESIM_PREDICTOR_ADDRESS: `127.0.0.1:${predictor.port}` } }),
      silent(),
    );
    address = `127.0.0.1:${scheduler.port}`;
  });
  afterAll(async () => {
    scheduler.forceShutdown();
    predictor.forceShutdown();
    await Promise.all([scheduler.closed, predictor.closed]);
  });

  it("one request at a time: each waits for the one before (constant 10/5 ms), in every mode", async () => {
    const outputs: string[] = [];
    for (const mode of [[], ["--scheduler-address", address]]) {
      const tag = mode.length === 0 ? "e" : "s";
      const r = await latency([
        "--dataset",
        file("three.jsonl"),
        "-m",
        "llama-3.1-8b",
        "--predictor",
        "constant",
        "--warmup",
        "0",
        "-q",
        "--request-json",
        file(`l-${tag}.jsonl`),
        ...mode,
      ]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Max Runtime Batch Size: 1\n");
      expect(r.stdout).toContain("Benchmark:                latency (one request at a time, max_batch_size 1)\n");
      expect(
        records(file(`l-${tag}.jsonl`)).map((q) => [q["start_ms"], q["first_token_ms"], q["end_ms"]]),
        // 10 ms prefill, then 5 ms per further token; the next request starts when one ends.
      ).toEqual([
        [0, 10, 25],
        [25, 35, 40],
        [40, 50, 60],
      ]);
      outputs.push(readFileSync(file(`l-${tag}.jsonl`), "utf8"));
    }
    expect(outputs[1]).toBe(outputs[0]);
  });

  it("max_num_tokens comes from trtllm-bench's heuristic (tuned for its own batch size), then batch size 1", async () => {
    const rows = Array.from({ length: 8 }, (_, i) =>
      JSON.stringify({ task_id: i, input_ids: Array.from({ length: 128 }, (_, k) => i * 1000 + k), output_tokens: 128 }),
    );
    writeFileSync(file("isl128.jsonl"), `${rows.join("\n")}\n`);
    const r = await latency([
      "--dataset",
      file("isl128.jsonl"),
      "-m",
      "meta-llama/Llama-3.1-8B-Instruct",
      "--gpu",
      "h100_sxm",
      "--warmup",
      "0",
      "-q",
      "--report-json",
      file("l.json"),
    ]);
    expect(r.code).toBe(0);
    // Llama-3.1-8B BF16 on H100, ISL = OSL = 128: the heuristic gives max_batch_size 2048, max_num_tokens 3840.
    expect(r.stdout).toContain("Max Runtime Batch Size: 1\nMax Runtime Tokens:     3840\n");
    const report = JSON.parse(readFileSync(file("l.json"), "utf8")) as { sim: { benchmark: string }; world_info: { max_batch_size: number } };
    expect(report.sim.benchmark).toBe("latency");
    expect(report.world_info.max_batch_size).toBe(1);
  });

  it("settings latency fixes are not offered; --target-input-len tunes the heuristic", async () => {
    const bs = await latency(["--dataset", file("three.jsonl"), "-m", "llama-3.1-8b", "--predictor", "constant", "--max-batch-size", "4"]);
    expect(bs.code).toBe(2);
    expect(bs.stderr).toContain("unknown option '--max-batch-size'");
    const args = ["throughput", "--dataset", file("isl128.jsonl"), "-m", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "h100_sxm", "--warmup", "0", "-q"];
    const tuned = await runCli([...args, "--target-input-len", "4096", "--target-output-len", "64"]);
    expect(tuned.code).toBe(0);
    // Tuned for ISL 4096 / OSL 64 instead of the dataset's 128 / 128 (2048 / 3840).
    expect(tuned.stdout).toContain("Max Runtime Batch Size: 128\nMax Runtime Tokens:     7680\n");
  });
});

describe("trtllm-bench's other options", () => {
  it("are accepted with a one-line note (also before the subcommand); --version prints the version", async () => {
    const r = await spawnCli([
      "-w",
      dir,
      "--log_level",
      "info",
      "throughput",
      "--dataset",
      file("three.jsonl"),
      "-m",
      "llama-3.1-8b",
      "--predictor",
      "constant",
      "--kv-num-blocks",
      "10",
      "--engine_dir",
      dir,
      "--max_input_len",
      "4096",
      "--tokenizer",
      "meta-llama/Llama-3.1-8B-Instruct",
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      [
        "warning: --engine_dir has no effect: servesim simulates the PyTorch backend (no TensorRT engine is built or read)",
        "warning: --max_input_len has no effect: it sizes multimodal inputs, and servesim reads text datasets",
        "warning: --tokenizer has no effect: datasets carry token ids (tokenize text with servesim prepare-dataset sharegpt --tokenizer)",
        "warning: -w/--workspace has no effect: servesim writes no intermediate files",
        "warning: --log_level has no effect: servesim logs nothing per run (-q silences the progress bar and warnings)",
        "",
      ].join("\n"),
    );
    const v = await spawnCli(["--version"]);
    expect(v.code).toBe(0);
    expect(v.stdout).toBe("servesim 0.1.0 (emulates trtllm-bench of TensorRT-LLM 1.2.0rc5)\n");
  });
});
