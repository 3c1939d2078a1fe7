import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { normalizeArgv } from "../src/argv.js";
import { repoRoot, runCli, tempDir } from "./harness.js";

const fixture = (name: string): string => readFileSync(join(repoRoot, "services/workload/test/fixtures", name), "utf8");

describe("servesim prepare-dataset", () => {
  it("token-norm-dist reproduces the real prepare_dataset output for a seed", async () => {
    const r = await runCli([
      "prepare-dataset",
      "token-norm-dist",
      "--num-requests",
      "40",
      "--input-mean",
      "128",
      "--input-stdev",
      "32",
      "--output-mean",
      "64",
      "--output-stdev",
      "16",
      "--seed",
      "420",
      "--vocab-size",
      "32000",
      "--eos-id",
      "2",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(fixture("norm_n40_i128x32_o64x16_seed420_v32000_eos2.jsonl"));
  });

  it("token-unif-dist with trtllm-bench's spelling (--random-seed, --stdout, options before the distribution)", async () => {
    const r = await runCli([
      "prepare-dataset",
      "--stdout",
      "--random-seed",
      "7",
      "token-unif-dist",
      "--num-requests",
      "30",
      "--input-min",
      "10",
      "--input-max",
      "50",
      "--output-min",
      "1",
      "--output-max",
      "8",
      "--vocab-size",
      "1000",
      "--eos-id",
      "0",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(fixture("unif_n30_i10-50_o1-8_seed7_v1000_eos0.jsonl"));
  });

  it("is deterministic for a seed, differs across seeds, and --output writes the same lines", async () => {
    const args = (seed: string) => [
      "prepare-dataset",
      "token-norm-dist",
      "--num-requests",
      "25",
      "--input-mean",
      "300",
      "--input-stdev",
      "50",
      "--output-mean",
      "40",
      "--output-stdev",
      "10",
      "--seed",
      seed,
    ];
    const a = await runCli(args("5"));
    const b = await runCli(args("5"));
    const c = await runCli(args("6"));
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).not.toBe(c.stdout);
    expect(a.stdout.trim().split("\n")).toHaveLength(25);
    const file = join(tempDir(), "d.jsonl");
    const w = await runCli([...args("5"), "--output", file]);
    expect(w.code).toBe(0);
    expect(w.stderr).toContain(`wrote 25 requests (token-norm-dist, seed 5) to ${file}`);
    expect(readFileSync(file, "utf8")).toBe(a.stdout);
  });

  it("takes the vocabulary from -m given before the subcommand (trtllm-bench -m MODEL prepare-dataset)", async () => {
    const r = await runCli([
      "-m",
      "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
      "prepare-dataset",
      "token-norm-dist",
      "--num-requests",
      "50",
      "--input-mean",
      "400",
      "--output-mean",
      "4",
    ]);
    expect(r.code).toBe(0);
    const ids = r.stdout
      .trim()
      .split("\n")
      .flatMap((l) => (JSON.parse(l) as { input_ids: number[] }).input_ids);
    expect(Math.max(...ids)).toBeLessThan(32000);
    expect(Math.max(...ids)).toBeGreaterThan(31000);
  });

  it("rejects missing and invalid parameters with exit code 2", async () => {
    const missing = await runCli(["prepare-dataset", "token-unif-dist", "--num-requests", "3", "--input-min", "1"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("token-unif-dist needs --input-max, --output-min, --output-max");
    const bad = await runCli([
      "prepare-dataset",
      "token-unif-dist",
      "--num-requests",
      "3",
      "--input-min",
      "9",
      "--input-max",
      "2",
      "--output-min",
      "1",
      "--output-max",
      "1",
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--input-max must be >= --input-min (2 < 9)");
    const dist = await runCli(["prepare-dataset", "token-zipf", "--num-requests", "3"]);
    expect(dist.stderr).toContain('unknown distribution "token-zipf"');
    const num = await runCli(["prepare-dataset", "token-norm-dist", "--num-requests", "zero"]);
    expect(num.code).toBe(2);
  });
});

describe("argv normalisation", () => {
  it("rewrites underscore options and moves the global model option after the subcommand", () => {
    expect(normalizeArgv(["node", "s", "-m", "M", "throughput", "--max_batch_size", "4", "--report_json=r.json", "--dataset", "a_b.jsonl"])).toEqual([
      "node",
      "s",
      "throughput",
      "-m",
      "M",
      "--max-batch-size",
      "4",
      "--report-json=r.json",
      "--dataset",
      "a_b.jsonl",
    ]);
    expect(normalizeArgv(["node", "s", "--model=M", "--model_path", "/p", "throughput", "--x"])).toEqual([
      "node",
      "s",
      "throughput",
      "--model=M",
      "--model-path",
      "/p",
      "--x",
    ]);
    expect(normalizeArgv(["node", "s", "throughput", "--", "--keep_me"])).toEqual(["node", "s", "throughput", "--", "--keep_me"]);
  });
});

describe("prepare-dataset rejects means below one token", () => {
  it("--input-mean -100 is an error, not 1-token prompts", async () => {
    const r = await runCli(["prepare-dataset", "token-norm-dist", "--num-requests", "3", "--input-mean", "-100", "--output-mean", "5"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("error: option '--input-mean <tokens>' argument '-100' is invalid. expected a number >= 1\n");
  });
});

describe("prepare-dataset shared prefixes", () => {
  const args = [
    "prepare-dataset",
    "token-unif-dist",
    "--num-requests",
    "4",
    "--input-min",
    "2",
    "--input-max",
    "4",
    "--output-min",
    "1",
    "--output-max",
    "2",
    "--vocab-size",
    "50",
    "--seed",
    "7",
  ];

  it("--random-prefix-len P --num-prefix-groups G: prefix i mod G, then exactly trtllm-bench's ids", async () => {
    const plain = await runCli(args);
    const grouped = await runCli([...args, "--random-prefix-len", "3", "--num-prefix-groups", "2"]);
    expect(plain.stdout).toBe(
      [
        '{"task_id":0,"input_ids":[20,9,25,41],"output_tokens":2}',
        '{"task_id":1,"input_ids":[3,4,34],"output_tokens":2}',
        '{"task_id":2,"input_ids":[6,23,37,3],"output_tokens":2}',
        '{"task_id":3,"input_ids":[32,13,2,5],"output_tokens":2}',
        "",
      ].join("\n"),
    );
    expect(grouped.stdout).toBe(
      [
        '{"task_id":0,"input_ids":[14,23,24,20,9,25,41],"output_tokens":2}',
        '{"task_id":1,"input_ids":[8,12,45,3,4,34],"output_tokens":2}',
        '{"task_id":2,"input_ids":[14,23,24,6,23,37,3],"output_tokens":2}',
        '{"task_id":3,"input_ids":[8,12,45,32,13,2,5],"output_tokens":2}',
        "",
      ].join("\n"),
    );
  });

  it("groups need a prefix; more groups than requests is an error", async () => {
    expect((await runCli([...args, "--num-prefix-groups", "2"])).stderr).toBe("error: --num-prefix-groups needs --random-prefix-len > 0 (groups of what?)\n");
    expect((await runCli([...args, "--random-prefix-len", "3", "--num-prefix-groups", "5"])).stderr).toBe(
      "error: --num-prefix-groups must be an integer in [1, --num-requests] (got 5)\n",
    );
  });
});
