import { InvalidArgumentError } from "@servesim/core";
import { createPredictor } from "@servesim/perf";
import { computeMetrics } from "@servesim/report";
import { resolveJob, runResolvedJob } from "@servesim/runner";
import { JobSpec } from "@servesim/wire/scheduler";
import { describe, expect, it } from "vitest";
import { runSweepLocal } from "../src/pool.js";
import { parseSweepJsonl, sweepCsv, sweepJsonLine } from "../src/results.js";
import { metricColumns } from "../src/row.js";
import { parseSweepFile, pointSpec } from "../src/space.js";

const DATASET = Array.from({ length: 40 }, (_, i) =>
  JSON.stringify({
    task_id: i,
    input_ids: Array.from({ length: 100 + ((i * 37) % 300) }, (_, k) => (i % 4) * 10_000 + k),
    output_tokens: 10 + ((i * 13) % 50),
  }),
).join("\n");

const YAML = `
name: test sweep
model: llama-3.1-8b
gpu: h100_sxm
enable_chunked_context: true
workload:
  dataset: d.jsonl
goodput: ttft:200 tpot@p90:12
percentiles: [50, 99]
grid:
  tp: [1, 2]
  max_batch_size: [8, 32]
  concurrency: [4, 16]
points:
  - { tp: 4, max_batch_size: 64, concurrency: [8, 32] }
  - { max_num_tokens: 64, enable_chunked_context: false, max_batch_size: 8, concurrency: 4 }
`;

const plan = () => parseSweepFile(YAML, { file: "sweep.yaml", readText: () => DATASET });

describe("sweep files", () => {
  it("expand grid × lists and explicit points, with stable ids and labels", () => {
    const p = plan();
    expect(p.points).toHaveLength(8 + 2 + 1);
    expect(p.points[0]!.settings).toEqual({
      model: "llama-3.1-8b",
      gpu: "h100_sxm",
      tp: 1,
      max_batch_size: 8,
      enable_chunked_context: true,
      concurrency: 4,
    });
    expect(p.points[0]!.label).toBe("tp1 mbs8 chunked c4");
    expect(p.points[9]!.label).toBe("tp4 mbs64 chunked c32");
    expect(p.points[10]!.label).toBe("mbs8 mnt64 unchunked c4");
    expect(p.varied).toEqual(["tp", "max_batch_size", "max_num_tokens", "enable_chunked_context", "concurrency"]);
    expect(plan().points.map((x) => x.id)).toEqual(p.points.map((x) => x.id));
    expect(new Set(p.points.map((x) => x.id)).size).toBe(11);
    // A change to what every point shares changes every id.
    const other = parseSweepFile(YAML.replace("ttft:200", "ttft:201"), { file: "sweep.yaml", readText: () => DATASET });
    expect(other.points.some((x) => p.points.some((y) => y.id === x.id))).toBe(false);
    const spec = pointSpec(p.base, p.points[9]!);
    expect(spec.predictor?.parallelism?.tp).toBe(4);
    expect(spec.engine?.concurrency).toBe(32);
    expect(spec.workload).toBeUndefined();
    expect(spec.report?.goodput).toHaveLength(2);
  });

  it("set parallelism, predictor and dtypes on the spec (attention DP, MoE TP, the predictor registry's names)", () => {
    const p = parseSweepFile(
      "workload: {dataset: d.jsonl}\npredictor: aiconfigurator\nquantization: fp8\ngrid:\n  attention_dp: [true, false]\n  moe_tp: [1]\n  ep: [8]\n",
      {
        file: "s.yaml",
        readText: () => DATASET,
      },
    );
    const spec = pointSpec(p.base, p.points[0]!);
    expect(spec.predictor?.parallelism).toMatchObject({ attentionDp: true, moeTp: 1, ep: 8 });
    expect(spec.predictor?.kind).toBe(3); // PREDICTOR_KIND_AIC
    expect(p.points.map((x) => x.label)).toEqual(["adp", "noadp"]);
  });

  it("name the file, the line and the key of a bad value", () => {
    const bad = (text: string): string => {
      try {
        parseSweepFile(text, { file: "s.yaml", readText: () => DATASET });
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidArgumentError);
        return (e as Error).message;
      }
      throw new Error("no error");
    };
    expect(bad("workload: {dataset: d.jsonl}\ngrid:\n  tp: [1, 0]\n")).toBe("s.yaml line 3: grid.tp.1: must be an integer in [1, 4096] (got 0)");
    expect(bad("workload: {dataset: d.jsonl}\ngrid:\n  tpp: [1]\n")).toMatch(/^s\.yaml line 3: grid\.tpp: unknown setting "tpp" \(one of topology, model, /);
    expect(bad("workload: {dataset: d.jsonl}\ntp: [1, 2]\n")).toBe("s.yaml line 2: tp: a list at the top level: put the values to sweep under grid");
    expect(bad("grid: {tp: [1]}\n")).toMatch(/workload: required/);
    expect(bad("workload: {dataset: d.jsonl}\ngoodput: ttft:x\n")).toMatch(/^s\.yaml line 2: goodput: /);
    expect(bad("workload: {dataset: d.jsonl}\ntopology: mesh\n")).toBe('s.yaml line 2: topology: must be aggregated or disaggregated (got "mesh")');
    expect(bad("workload: {dataset: d.jsonl}\nscheduler_policy: constructor\n")).toMatch(/must be one of guaranteed_no_evict/);
  });
});

describe("running a sweep on this machine", () => {
  it("worker threads and one thread give the rows of standalone jobs; unrunnable points fail with the reason", async () => {
    const p = plan();
    const threads = await runSweepLocal(p, { workers: 2, reports: true });
    const single = await runSweepLocal(p, { workers: 1 });
    const strip = (rows: typeof threads) => rows.map((r) => ({ ...r.row, metrics: { ...r.row.metrics, wall_ms: 0 } }));
    expect(strip(threads)).toEqual(strip(single));
    expect(threads.map((r) => r.row.index)).toEqual([...Array(11).keys()]);
    const failed = threads.filter((r) => r.row.status === "failed");
    expect(failed.map((r) => r.row.index)).toEqual([10]);
    expect(failed[0]!.row.error).toMatch(/max_num_tokens/);
    // Point 5 as its own job, its workload resolved from the spec.
    const point = p.points[5]!;
    const spec = JobSpec.fromPartial({ ...pointSpec(p.base, point), workload: p.base.workload });
    const job = await resolveJob(spec);
    const outcome = await runResolvedJob(job, await createPredictor(job.predictor.config));
    const m = computeMetrics(outcome.records, { worldSize: 2, percentiles: [50, 99], slos: job.report.slos });
    const row = threads[5]!.row;
    expect(row.metrics["output_tok_s_per_gpu"]).toBe(m.outputThroughputPerGpuTokS);
    expect(row.metrics["ttft_p99_ms"]).toBe(m.latency.ttft[1]);
    expect(row.metrics["request_goodput_per_gpu"]).toBe(m.goodput!.requestGoodputPerGpuReqS);
    expect(row.metrics["gpus"]).toBe(2);
    const noWall = (t: string) => t.replace(/"wall_time_ms": [\d.e+-]+/, "");
    expect(noWall(threads[5]!.reports!.reportJsonText) === noWall(outcome.reportJsonText)).toBe(true);
  });

  it("skips finished points; CSV and JSONL round-trip", async () => {
    const p = plan();
    const first = await runSweepLocal(p, { workers: 1, skip: new Set(p.points.slice(2).map((x) => x.id)) });
    expect(first.map((r) => r.row.index)).toEqual([0, 1]);
    const jsonl = first.map((r) => sweepJsonLine(r.row)).join("\n");
    expect(parseSweepJsonl(`${jsonl}\n{"id": "cut sh`)).toEqual(first.map((r) => r.row));
    const keys = metricColumns(p.percentiles, true).map((c) => c.key);
    const csv = sweepCsv(
      first.map((r) => r.row),
      keys,
    );
    const [header, row0] = csv.split("\n");
    expect(header!.split(",").slice(0, 11)).toEqual([
      "id",
      "index",
      "label",
      "model",
      "gpu",
      "tp",
      "max_batch_size",
      "enable_chunked_context",
      "concurrency",
      "status",
      "error",
    ]);
    expect(header).toContain(",ttft_p99_ms,");
    expect(row0!.split(",")[0]).toBe(p.points[0]!.id);
  });
});

describe("disaggregated topology", () => {
  it("a search candidate per prefill/decode split of the budget, counted with every GPU", async () => {
    const { searchPlan, topology } = await import("../src/index.js");
    const { JobSpec } = await import("@servesim/wire/scheduler");
    const plan = searchPlan({
      name: "s",
      base: JobSpec.fromPartial({}),
      fixed: { model: "llama-3.1-8b", gpu: "h100_sxm" },
      choices: { gpuBudget: 8, tp: [2, 4], maxBatchSize: [32], maxNumTokens: [8192], topologies: ["disaggregated"] },
      slos: [],
      percentiles: [],
    });
    // Prefill TP 2 or 4, one or two prefill workers, decode TP 2 or 4 filling the rest of the 8 GPUs.
    expect(plan.points.map((p) => p.label)).toEqual([
      "P1 ptp2 D3 dtp2 c96",
      "P1 ptp2 D1 dtp4 c32",
      "P2 ptp2 D2 dtp2 c64",
      "P2 ptp2 D1 dtp4 c32",
      "P1 ptp4 D2 dtp2 c64",
      "P1 ptp4 D1 dtp4 c32",
    ]);
    const { pointSpec } = await import("../src/index.js");
    const spec = pointSpec(plan.base, plan.points[0]!);
    expect(spec.cluster?.prefill).toEqual({ numWorkers: 1, parallelism: { tp: 2, pp: 0, ep: 0 }, maxBatchSize: 1, maxNumTokens: 8192 });
    expect(spec.cluster?.decode).toEqual({ numWorkers: 3, parallelism: { tp: 2, pp: 0, ep: 0 }, maxBatchSize: 32 });
    expect(topology("disaggregated")!.gpusPerInstance(spec)).toBe(8);
  });
});
