import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { spawnCli, tempDir } from "./harness.js";

/** The real entry point (main.ts: argv normalisation, command registration, exit codes) in a child process. */
describe("servesim CLI as a process", () => {
  const dir = tempDir();
  const file = (name: string): string => join(dir, name);

  it("runs trtllm-bench's command line: global -m, underscore options, report and iteration log files", async () => {
    const lines = Array.from({ length: 6 }, (_, i) =>
      JSON.stringify({ task_id: i, input_ids: Array.from({ length: 64 }, (_, j) => i * 100 + j), output_tokens: 8 }),
    );
    writeFileSync(file("d.jsonl"), `${lines.join("\n")}\n`);
    const r = await spawnCli([
      "-m",
      "meta-llama/Llama-3.1-8B-Instruct",
      "throughput",
      "--dataset",
      file("d.jsonl"),
      "--gpu",
      "h100_sxm",
      "--max_batch_size",
      "4",
      "--max_num_tokens",
      "1024",
      "--report_json",
      file("r.json"),
      "--iteration_log",
      file("it.log"),
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Model:\t\t\tmeta-llama/Llama-3.1-8B-Instruct\n");
    expect(r.stdout).toContain("Max Runtime Batch Size: 4\n");
    expect(JSON.parse(readFileSync(file("r.json"), "utf8")).request_info.num_requests).toBe(6);
    expect(readFileSync(file("it.log"), "utf8")).toMatch(/^\{'cpuMemUsage': 0, /);
  });

  it("exits 2 with a one-line error for a bad dataset", async () => {
    writeFileSync(file("bad.jsonl"), '{"task_id":0,"input_ids":[1],"output_tokens":1}\n{"task_id":1,"input_ids":"x","output_tokens":1}\n');
    const r = await spawnCli(["throughput", "--dataset", file("bad.jsonl"), "-m", "llama-3.1-8b", "--predictor", "constant"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: ${file("bad.jsonl")} line 2: input_ids must be an array of token ids (got "x")\n`);
  });
});
