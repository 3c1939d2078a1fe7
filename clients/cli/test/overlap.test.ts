import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildJobSpec } from "../src/jobSpec.js";
import { runCli, tempDir } from "./harness.js";

const dir = tempDir();
const file = (name: string): string => join(dir, name);

/** Worked example E2 (docs/engine.md) as a dataset: R0 100/3, R1 200/2, R2 50/2 (distinct token ids). */
writeFileSync(
  file("d.jsonl"),
  `${[
    [100, 3],
    [200, 2],
    [50, 2],
  ]
    .map(([isl, osl], i) => JSON.stringify({ task_id: i, input_ids: Array.from({ length: isl! }, (_, j) => 1000 * i + j), output_tokens: osl }))
    .join("\n")}\n`,
);
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

describe("overlap scheduler flags", () => {
  it("buildJobSpec: --enable/--disable-overlap-scheduler set disable_overlap_scheduler; unset leaves it unset", () => {
    const d = file("d.jsonl");
    expect(buildJobSpec({ dataset: d, model: "llama-3.1-8b", predictor: "constant" }).spec.engine?.disableOverlapScheduler).toBeUndefined();
    expect(buildJobSpec({ dataset: d, model: "llama-3.1-8b", predictor: "constant", enableOverlapScheduler: true }).spec.engine?.disableOverlapScheduler).toBe(
      false,
    );
    expect(buildJobSpec({ dataset: d, model: "llama-3.1-8b", predictor: "constant", disableOverlapScheduler: true }).spec.engine?.disableOverlapScheduler).toBe(
      true,
    );
    expect(() =>
      buildJobSpec({ dataset: d, model: "llama-3.1-8b", predictor: "constant", enableOverlapScheduler: true, disableOverlapScheduler: true }),
    ).toThrow(/contradict/);
  });

  it("default off; --enable-overlap-scheduler (or --enable_overlap_scheduler) simulates the overlap loop", async () => {
    const off = await runCli([...base, "--request-json", file("off.jsonl")]);
    expect(off.code).toBe(0);
    expect(off.stdout).toContain("Overlap Scheduler:        off\n");
    const on = await runCli([...base, "--enable_overlap_scheduler", "--request-json", file("on.jsonl"), "--report-json", file("on.json")]);
    expect(on.code).toBe(0);
    expect(on.stdout).toContain("Overlap Scheduler:        on\n");
    const ttft = (f: string) =>
      readFileSync(file(f), "utf8")
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { ttft_ms: number }).ttft_ms);
    // R2 is admitted one iteration later under overlap (docs/engine.md, overlap scheduler: E2).
    expect(ttft("off.jsonl")).toEqual([10, 10, 25]);
    expect(ttft("on.jsonl")).toEqual([10, 10, 30]);
    expect((JSON.parse(readFileSync(file("on.json"), "utf8")) as { sim: { overlap_scheduler: boolean } }).sim.overlap_scheduler).toBe(true);
    const explicit = await runCli([...base, "--disable_overlap_scheduler"]);
    expect(explicit.stdout).toContain("Overlap Scheduler:        off\n");
    const both = await runCli([...base, "--enable-overlap-scheduler", "--disable-overlap-scheduler"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("contradict");
  });

  it("--extra_llm_api_options disable_overlap_scheduler overrides the flags, without a warning", async () => {
    writeFileSync(file("on.yaml"), "disable_overlap_scheduler: false\n");
    const on = await runCli([...base, "--disable-overlap-scheduler", "--extra_llm_api_options", file("on.yaml")]);
    expect(on.code).toBe(0);
    expect(on.stdout).toContain("Overlap Scheduler:        on\n");
    expect(on.stderr).toBe("");
    writeFileSync(file("off.yaml"), "disable_overlap_scheduler: true\n");
    const off = await runCli([...base, "--enable-overlap-scheduler", "--extra_llm_api_options", file("off.yaml")]);
    expect(off.stdout).toContain("Overlap Scheduler:        off\n");
  });
});

describe("servesim validate --disable-overlap-scheduler", () => {
  const HEADER =
    "id,backend,backend_version,model_path,system,precision,mode,isl,osl,batch_size,tp_size,pp_size,attention_dp_size,silicon_ttft_ms,silicon_tpot_ms";
  writeFileSync(file("s.csv"), `${HEADER}\na,trtllm,1.0.0rc3,meta-llama/Llama-3.1-8B-Instruct,h100_sxm,bf16,agg,1024,128,4,1,1,1,60.5,7.9\n`);

  it("replays with the overlap loop (TensorRT-LLM's default) and says so; --disable-overlap-scheduler with the non-overlap loop", async () => {
    const timing = async (args: string[], out: string) => {
      const r = await runCli(["validate", "--silicon", file("s.csv"), "--max-requests", "64", "--quiet", "--json", file(out), ...args]);
      expect(r.code).toBe(0);
      return (JSON.parse(readFileSync(file(out), "utf8")) as { summary: { settings: { timing: Record<string, string> } } }).summary.settings.timing["roofline"];
    };
    expect(await timing([], "v0.json")).toMatch(/^overlap \(host 1000 µs/);
    expect(await timing(["--disable-overlap-scheduler"], "v1.json")).toMatch(/^non-overlap \(host 1000 µs/);
    expect(await timing(["--disable-cuda-graphs"], "v2.json")).toContain("CUDA graphs off");
  });
});
