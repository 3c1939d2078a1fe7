import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, sharedDataPath, tempDir } from "./harness.js";

const dir = tempDir();
const file = (name: string): string => join(dir, name);

const HEADER =
  "id,backend,backend_version,model_path,system,precision,mode,isl,osl,batch_size,tp_size,pp_size,attention_dp_size,silicon_ttft_ms,silicon_tpot_ms";
const ROWS = [
  "a,trtllm,1.0.0rc3,meta-llama/Llama-3.1-8B-Instruct,h100_sxm,bf16,agg,1024,128,4,1,1,1,60.5,7.9",
  "b,trtllm,1.0.0rc3,meta-llama/Llama-3.1-8B-Instruct,h100_sxm,bf16,agg,1024,128,16,2,1,1,95.0,6.1",
  "c,vllm,0.19.0,meta-llama/Llama-3.1-8B-Instruct,h100_sxm,bf16,agg,1024,128,16,1,1,1,80.0,8.0",
];

describe("servesim validate", () => {
  it("replays the replayable rows, prints the MAPE table and writes --json", async () => {
    writeFileSync(file("s.csv"), `${[HEADER, ...ROWS].join("\n")}\n`);
    const r = await runCli(["validate", "--silicon", file("s.csv"), "--json", file("v.json"), "--max-requests", "64"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Coverage: 2 of 3 rows replayable\n/);
    expect(r.stdout).toContain("  not replayed: backend vllm (1)\n");
    expect(r.stdout).toMatch(/\npredictor\s+model\s+system\s+rows\s+TPOT MAPE %\s+TTFT MAPE %\n/);
    expect(r.stdout).toMatch(/roofline\s+Llama-3.1-8B\s+h100_sxm\s+2 /);
    const report = JSON.parse(readFileSync(file("v.json"), "utf8")) as { rows: Array<{ id: string; predicted_tpot_ms: number }>; summary: { rows: number } };
    expect(report.summary.rows).toBe(2);
    expect(report.rows.map((x) => x.id)).toEqual(["a", "b"]);
    for (const row of report.rows) expect(row.predicted_tpot_ms).toBeGreaterThan(0);
  });

  it("--filter keeps matching rows; bad filters and predictors are usage errors", async () => {
    writeFileSync(file("s.csv"), `${[HEADER, ...ROWS].join("\n")}\n`);
    const r = await runCli([
      "validate",
      "--silicon",
      file("s.csv"),
      "--filter",
      "tp=2",
      "--filter",
      "model=llama-3.1-8b",
      "--json",
      file("f.json"),
      "--max-requests",
      "64",
    ]);
    expect(r.code).toBe(0);
    expect((JSON.parse(readFileSync(file("f.json"), "utf8")) as { rows: Array<{ id: string }> }).rows.map((x) => x.id)).toEqual(["b"]);
    const none = await runCli(["validate", "--silicon", file("s.csv"), "--filter", "tp=8"]);
    expect([none.code, none.stderr]).toEqual([2, `error: --silicon ${file("s.csv")}: no replayable rows match the filters\n`]);
    expect((await runCli(["validate", "--silicon", file("s.csv"), "--filter", "colour=red"])).stderr).toContain('unknown key "colour"');
    expect((await runCli(["validate", "--silicon", file("s.csv"), "--predictor", "aic"])).stderr).toContain("--predictor aic needs --database-path");
    expect((await runCli(["validate", "--silicon", file("s.csv"), "--predictor", "vidur"])).code).toBe(2);
    expect((await runCli(["validate", "--silicon", file("missing.csv")])).stderr).toContain("cannot read (ENOENT)");
  });

  const shared = sharedDataPath("silicon_sample.csv");
  if (!existsSync(shared)) console.log(`skipping the silicon_sample.csv validation test: ${shared} is absent`);
  it.skipIf(!existsSync(shared))("replays a slice of the shared silicon_sample.csv", async () => {
    const r = await runCli([
      "validate",
      "--silicon",
      shared,
      "--filter",
      "model=Llama-3.1-8B",
      "--filter",
      "system=h100_sxm",
      "--filter",
      "tp=8",
      "--max-requests",
      "64",
      "--quiet",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/roofline\s+all \d+ rows: TPOT MAPE/);
  });

  it("--all-rows: MoE and attention-DP rows replayed or given a reason, MAPE per model × system × precision", async () => {
    const header = `${HEADER},moe_tp_size,moe_ep_size,gemm_quant_mode,silicon_data_source`;
    const rows = [
      "a,trtllm,1.0.0rc3,meta-llama/Llama-3.1-8B-Instruct,h100_sxm,,agg,1024,128,4,1,1,1,60.5,7.9,1,1,,x",
      "d,trtllm,1.2.0rc6,deepseek-ai/DeepSeek-R1,b200_sxm,fp4,agg,1024,1024,8,1,1,8,1085,12.3,1,8,nvfp4,silicon_concurrency=64",
      "e,trtllm,1.2.0rc6,deepseek-ai/DeepSeek-R1,b200_sxm,fp4,agg,1024,1024,8,8,1,1,210,4.3,8,1,nvfp4,silicon_concurrency=8",
      "f,trtllm,1.2.0rc6,deepseek-ai/DeepSeek-R1,gb200,fp4,agg,1024,1024,8,36,1,1,210,4.3,36,1,nvfp4,x",
      "g,trtllm,1.2.0rc6,some/unknown-model,b200_sxm,fp8,agg,1024,1024,8,1,1,1,210,4.3,1,1,fp8,x",
      "h,trtllm,1.2.0rc6,deepseek-ai/DeepSeek-R1,b200_sxm,fp4,disagg,1024,1024,8,1,1,1,210,4.3,1,1,fp8,x",
    ];
    writeFileSync(file("m.csv"), `${[header, ...rows].join("\n")}\n`);
    const r = await runCli(["validate", "--silicon", file("m.csv"), "--all-rows", "--json", file("m.json"), "--max-requests", "64", "-q"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/roofline\s+deepseek-ai\/DeepSeek-R1\s+b200_sxm\s+fp4\s+2\s+2 /);
    expect(r.stdout).toMatch(/roofline\s+all rows: 3 of 5 replayed/);
    expect(r.stdout).toMatch(/1 {2}roofline: model some\/unknown-model not in the catalog/);
    expect(r.stdout).toMatch(/1 {2}roofline: not replayable: config\.parallelism\.tp: DeepSeek-R1 has 128 attention heads, not divisible by TP 36/);
    const simple = await runCli([
      "validate",
      "--silicon",
      file("m.csv"),
      "--all-rows",
      "--all-rows-load",
      "simple",
      "--filter",
      "id=a",
      "--max-requests",
      "64",
      "-q",
    ]);
    expect(simple.code).toBe(0);
    expect(simple.stdout).toMatch(/roofline\s+all rows: 1 of 1 replayed/);
    const bad = await runCli(["validate", "--silicon", file("m.csv"), "--all-rows", "--all-rows-load", "closed"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--all-rows-load: "closed" is not benchmark or simple');
    const report = JSON.parse(readFileSync(file("m.json"), "utf8")) as { rows: Array<{ id: string; setup: string; method: string; reason: string | null }> };
    // fp4 rows of deepseek-ai/DeepSeek-R1 run NVIDIA's NVFP4 checkpoint (attention in bf16); every row its benchmark method.
    expect(report.rows.map((x) => [x.id, x.setup, x.method])).toEqual([
      ["a", "Llama-3.1-8B bf16 TP1 c4", "inferencex"],
      ["d", "nvidia/DeepSeek-R1-0528-FP4 nvfp4 TP8 ADP8 EP8 c64", "inferencex"],
      ["e", "nvidia/DeepSeek-R1-0528-FP4 nvfp4 TP8 c8", "inferencex"],
      ["f", "nvidia/DeepSeek-R1-0528-FP4 nvfp4 TP36 c8", "inferencex"],
      ["g", "", "inferencex"],
    ]);
  });
});
