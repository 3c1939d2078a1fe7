import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1";
import { Job } from "kubernetes-models/batch/v1";
import { ConfigMap, PersistentVolumeClaim, Service } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { runCli, tempDir } from "./harness.js";

const dir = tempDir();
const file = (name: string): string => join(dir, name);

const SWEEP = `
name: cli sweep
model: llama-3.1-8b
gpu: h100_sxm
enable_chunked_context: true
workload:
  synthetic: { num_requests: 60, isl: 300, osl: 40 }
goodput: ttft@p90:400 tpot:9
grid:
  tp: [1, 2]
  concurrency: [4, 32]
points:
  - { tp: 1, max_num_tokens: 128, enable_chunked_context: false }
`;

describe("servesim sweep", () => {
  it("writes one row per point, lists the best, and skips finished points on a re-run", async () => {
    writeFileSync(file("s.yaml"), SWEEP);
    const out = file("out");
    const r = await runCli(["sweep", "--space", file("s.yaml"), "-o", out, "--workers", "2", "--reports", "--html", file("s.html"), "--plot", file("s.png")]);
    expect(r.stderr).toBe("sweep: 5 points; 2 worker threads\n");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^5 of 5 points done \(1 failed\); results in /);
    expect(r.stdout).toContain("best 4 by goodput per GPU (objectives met first):");
    expect(r.stdout).toMatch(/failed: 1 × spec\.engine\.max_num_tokens: /);
    const csv = readFileSync(join(out, "results.csv"), "utf8").trim().split("\n");
    expect(csv).toHaveLength(6);
    expect(csv[0]!.startsWith("id,index,label,model,gpu,tp,max_num_tokens,enable_chunked_context,concurrency,status,error,")).toBe(true);
    const jsonl = readFileSync(join(out, "results.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(jsonl.map((x) => x.label)).toEqual(["tp1 chunked c4", "tp1 chunked c32", "tp2 chunked c4", "tp2 chunked c32", "tp1 mnt128 unchunked"]);
    const report = JSON.parse(readFileSync(join(out, "reports", `00001-${jsonl[1].id}.report.json`), "utf8"));
    expect(report.performance.output_throughput_per_gpu_tok_s).toBe(jsonl[1].metrics.output_tok_s_per_gpu);
    expect(readFileSync(file("s.html"), "utf8")).toContain("<title>servesim sweep: cli sweep</title>");
    expect(readFileSync(file("s.png")).subarray(1, 4).toString()).toBe("PNG");

    const again = await runCli(["sweep", "--space", file("s.yaml"), "-o", out, "--workers", "1"]);
    expect(again.stderr).toBe(`sweep: 5 points, 5 already finished in ${out}; 1 worker thread\n`);
    expect(readFileSync(join(out, "results.jsonl"), "utf8")).toBe(jsonl.map((x) => `${JSON.stringify(x)}\n`).join(""));
  });

  it("shards: each shard runs its points; a plain run then merges them", async () => {
    writeFileSync(file("s2.yaml"), SWEEP);
    const out = file("out2");
    for (const shard of ["0/2", "1/2"]) expect((await runCli(["sweep", "--space", file("s2.yaml"), "-o", out, "--shard", shard, "-q"])).code).toBe(0);
    const merge = await runCli(["sweep", "--space", file("s2.yaml"), "-o", out]);
    expect(merge.stderr).toContain("5 already finished");
    expect(readFileSync(join(out, "results.csv"), "utf8").trim().split("\n")).toHaveLength(6);
    expect((await runCli(["sweep", "--space", file("s2.yaml"), "--shard", "2/2"])).stderr).toMatch(/--shard 2\/2: expected I\/N/);
  });

  it("--emit-k8s writes a valid indexed Job, its ConfigMap (sweep file and dataset) and the results claim", async () => {
    writeFileSync(file("k.jsonl"), '{"task_id":0,"input_ids":[1,2,3],"output_tokens":4}\n');
    writeFileSync(file("k.yaml"), SWEEP.replace("synthetic: { num_requests: 60, isl: 300, osl: 40 }", "dataset: k.jsonl"));
    const r = await runCli(["sweep", "--space", file("k.yaml"), "--emit-k8s", file("job.yaml"), "--k8s-shards", "2", "--goodput", "ttft:100"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `wrote ${file("job.yaml")}: Job servesim-sweep-cli-sweep, 5 points in 2 shards, results in servesim-sweep-results:/servesim-sweep-cli-sweep\n`,
    );
    const docs = parseAllDocuments(readFileSync(file("job.yaml"), "utf8")).map((d) => d.toJS());
    expect(docs.map((d) => d.kind)).toEqual(["ConfigMap", "PersistentVolumeClaim", "Job"]);
    new ConfigMap(docs[0]).validate();
    new PersistentVolumeClaim(docs[1]).validate();
    new Job(docs[2]).validate();
    expect(Object.keys(docs[0].data)).toEqual(["sweep.yaml", "k.jsonl"]);
    const args = docs[2].spec.template.spec.containers[0].args;
    expect(args).toEqual([
      "sweep",
      "--space",
      "/etc/servesim/sweep/sweep.yaml",
      "--output-dir",
      "/results/servesim-sweep-cli-sweep",
      "--shard",
      "$(SHARD)/2",
      "--workers",
      "2",
      "--quiet",
      "--dataset",
      "/etc/servesim/sweep/k.jsonl",
      "--goodput",
      "ttft:100",
    ]);
    expect(docs[2].spec.completions).toBe(2);
  });

  it("bad sweep files exit 2 with the file, line and key", async () => {
    writeFileSync(file("bad.yaml"), "workload: {synthetic: {num_requests: 5, isl: 10, osl: 2}}\ngrid:\n  max_batch_size: [8, -1]\n");
    const r = await runCli(["sweep", "--space", file("bad.yaml"), "-o", file("o3")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: ${file("bad.yaml")} line 3: grid.max_batch_size.1: must be an integer in [1, 1073741824] (got -1)\n`);
  });
});

describe("servesim search", () => {
  it("ranks candidates by goodput per GPU and writes the winner's config, command and manifest", async () => {
    const out = file("search");
    const r = await runCli([
      "search",
      "-m",
      "llama-3.1-8b",
      "--gpu",
      "h100_sxm",
      "--gpus",
      "4",
      "--isl",
      "500",
      "--osl",
      "50",
      "--num-requests",
      "120",
      "--slo",
      "ttft@p90:300",
      "tpot@p90:10",
      "--tp",
      "1,2",
      "--max-batch-size",
      "4,16,64",
      "-o",
      out,
      "--workers",
      "2",
      "-q",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const rows = readFileSync(join(out, "results.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(6);
    const meets = rows.filter((x) => x.metrics.slo_met);
    const best = meets.sort((a, b) => b.metrics.request_goodput_per_gpu - a.metrics.request_goodput_per_gpu)[0];
    expect(r.stdout).toContain(`chosen: ${best.label}: `);
    const options = readFileSync(join(out, "extra_llm_api_options.yaml"), "utf8");
    expect(options).toContain(`max_batch_size: ${best.metrics.max_batch_size_used}\n`);
    expect(options).toContain("enable_chunked_prefill: true\n");
    // The options file reads back into the same engine settings: a throughput run with it matches the candidate.
    writeFileSync(
      file("d.jsonl"),
      `${Array.from({ length: 5 }, (_, i) => JSON.stringify({ task_id: i, input_ids: Array.from({ length: 500 }, (_, k) => i * 1000 + k), output_tokens: 50 })).join("\n")}\n`,
    );
    const run = await runCli([
      "throughput",
      "--dataset",
      file("d.jsonl"),
      "-m",
      "llama-3.1-8b",
      "--gpu",
      "h100_sxm",
      "--tp",
      String(best.settings.tp),
      "--extra-llm-api-options",
      join(out, "extra_llm_api_options.yaml"),
      "--report-json",
      file("r.json"),
    ]);
    expect(run.stderr).toBe("");
    const world = JSON.parse(readFileSync(file("r.json"), "utf8")).world_info;
    expect([world.max_batch_size, world.max_num_tokens]).toEqual([best.metrics.max_batch_size_used, best.metrics.max_num_tokens_used]);
    const serve = readFileSync(join(out, "serve.sh"), "utf8");
    expect(serve).toContain(
      `exec trtllm-serve llama-3.1-8b --backend pytorch --host 0.0.0.0 --port 8000 --tp_size ${best.settings.tp} --pp_size 1 --ep_size 1 --extra_llm_api_options extra_llm_api_options.yaml\n`,
    );
    const docs = parseAllDocuments(readFileSync(join(out, "k8s.yaml"), "utf8")).map((d) => d.toJS());
    expect(docs.map((d) => d.kind)).toEqual(["ConfigMap", "Deployment", "Service"]);
    new ConfigMap(docs[0]).validate();
    new Deployment(docs[1]).validate();
    new Service(docs[2]).validate();
    expect(docs[1].spec.replicas).toBe(4 / best.settings.tp);
    expect(docs[1].spec.template.spec.containers[0].resources.limits["nvidia.com/gpu"]).toBe(String(best.settings.tp));
    expect(docs[0].data["extra_llm_api_options.yaml"]).toBe(options);
  });

  it("says so when no candidate meets the objectives", async () => {
    const r = await runCli([
      "search",
      "-m",
      "llama-3.1-8b",
      "--gpu",
      "h100_sxm",
      "--gpus",
      "1",
      "--isl",
      "500",
      "--osl",
      "20",
      "--num-requests",
      "40",
      "--slo",
      "ttft@p90:0.001",
      "--max-batch-size",
      "4",
      "-o",
      file("none"),
      "-q",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("no candidate meets every objective");
  });
});
