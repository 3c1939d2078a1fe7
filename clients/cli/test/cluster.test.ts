import { readFileSync, writeFileSync } from "node:fs";
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

describe("clusters from the command line", () => {
  it("--instances and --router make an aggregated cluster", () => {
    const { spec } = buildJobSpec({ dataset, predictor: "constant", instances: 3, router: "kv_aware" });
    expect(spec.cluster).toEqual({ aggregated: [{ numWorkers: 3 }], router: { type: "kv_aware", weights: {} } });
    expect(() => buildJobSpec({ dataset, predictor: "constant", router: "kv_aware" })).toThrow(
      /--router places requests on the instances of an aggregated cluster/,
    );
  });

  it("--sim-config takes TensorRT-LLM's disaggregated YAML as is, its model included", () => {
    const sim = file(
      "disagg.yaml",
      "model: llama-3.1-8b\nhostname: localhost\nport: 8000\nbackend: pytorch\ncontext_servers:\n  num_instances: 2\n  tensor_parallel_size: 1\n  max_batch_size: 2\n  urls: [a:1, b:2]\ngeneration_servers:\n  num_instances: 1\n  tensor_parallel_size: 2\n  router: {type: load_balancing}\n  urls: [c:3]\n",
    );
    const { spec, warnings } = buildJobSpec({ dataset, gpu: "h100_sxm", simConfig: sim });
    expect(spec.predictor?.model?.name).toBe("llama-3.1-8b");
    expect(spec.cluster?.prefill).toEqual({ numWorkers: 2, parallelism: { tp: 1, pp: 1, ep: 0 }, maxBatchSize: 2 });
    expect(spec.cluster?.decode).toEqual({ numWorkers: 1, parallelism: { tp: 2, pp: 1, ep: 0 }, router: { type: "load_balancing", weights: {} } });
    expect(warnings).toEqual([]);
  });

  it("a disaggregated run prints the CLUSTER section, report.json has the cluster key, the iteration log names engines", async () => {
    const sim = file(
      "c.yaml",
      "predictor: {name: constant}\ncluster:\n  prefill: {num_workers: 1, max_batch_size: 1}\n  decode: {num_workers: 2}\n  kv_transfer: {bandwidth_gb_per_s: 1, latency_us: 500}\n",
    );
    const report = join(dir, "r.json");
    const log = join(dir, "it.log");
    const r = await runCli([
      "throughput",
      "--dataset",
      dataset,
      "-m",
      "llama-3.1-8b",
      "--kv-num-blocks",
      "1000",
      "--sim-config",
      sim,
      "--report-json",
      report,
      "--iteration-log",
      log,
      "--warmup",
      "0",
    ]);
    // Constant predictor, no GPU: the KV size is unknown, so the transfer is the fixed latency only.
    expect(r.stderr).toBe("warning: the KV transfer moves no bytes: the job names no model and GPU whose KV size is known (only the fixed latency counts)\n");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Mode:                    disaggregated (1 prefill worker × 1 GPU, 2 decode workers × 1 GPU; 3 GPUs)");
    const json = JSON.parse(readFileSync(report, "utf8")) as { cluster: { pools: Array<{ name: string; requests: number }> } };
    expect(json.cluster.pools.map((p) => [p.name, p.requests])).toEqual([
      ["prefill", 4],
      ["decode", 4],
    ]);
    const engines = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => /'engine': '([^']+)'/.exec(l)![1]);
    expect(engines.slice(0, 2)).toEqual(["prefill[0]", "prefill[0]"]);
    expect(new Set(engines)).toEqual(new Set(["prefill[0]", "decode[0]", "decode[1]"]));
  });

  it("a bad topology names the file, the line and the key", async () => {
    const sim = file("bad.yaml", "cluster:\n  decode:\n    num_workers: 0\n  prefill: {}\n");
    const r = await runCli([
      "throughput",
      "--dataset",
      dataset,
      "-m",
      "llama-3.1-8b",
      "--kv-num-blocks",
      "1000",
      "--predictor",
      "constant",
      "--sim-config",
      sim,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${sim} line 3: cluster.decode.num_workers must be an integer in [1, 4096] (got 0)`);
  });
});
