import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadPredictorServerConfig, startPredictorServer } from "@servesim/predictor-service";
import type { ServerHandle } from "@servesim/server-common";
import { createLogger } from "@servesim/server-common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, sharedDataPath, tempDir } from "./harness.js";

const dir = tempDir();
const file = (name: string): string => join(dir, name);

/** 12 requests, ISL 40..150, OSL 3..14, distinct token ids. */
function writeDataset(name: string, n = 12): string {
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ task_id: i, input_ids: Array.from({ length: 40 + 10 * i }, (_, j) => 1000 * i + j), output_tokens: 3 + i }),
  );
  writeFileSync(file(name), `${lines.join("\n")}\n`);
  return file(name);
}

const dataset = writeDataset("d.jsonl");
const bare = ["throughput", "--dataset", dataset, "-m", "llama-3.1-8b"];
const base = [...bare, "--predictor", "constant"];

const REPORT_LABELS = [
  "= PYTORCH BACKEND",
  "Model:\t\t\tllama-3.1-8b",
  "= REQUEST DETAILS ",
  "Number of requests:             12",
  "= WORLD + RUNTIME INFORMATION ",
  "Max Runtime Batch Size: ",
  "Scheduling Policy:      GUARANTEED_NO_EVICT",
  "= PERFORMANCE OVERVIEW ",
  "Request Throughput (req/sec):                     ",
  "Total Output Throughput (tokens/sec):             ",
  "Average time-to-first-token [TTFT] (ms):          ",
  "[TPOT] P99    : ",
  "[Latency] P50    : ",
  "= DATASET DETAILS",
  `Dataset Path:         ${dataset}`,
  "= SIMULATION DETAILS",
];

describe("servesim throughput (embedded)", () => {
  it("prints the trtllm-bench report and writes report.json, request json and a repr iteration log", async () => {
    const r = await runCli([
      ...bare,
      "--gpu",
      "h100_sxm",
      "--report-json",
      file("r.json"),
      "--request-json",
      file("q.jsonl"),
      "--iteration-log",
      file("it.log"),
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith("[SIM] servesim simulated run — no GPU used. Predictor: roofline (h100_sxm, Llama-3.1-8B, TP1, bf16).")).toBe(true);
    for (const label of REPORT_LABELS) expect(r.stdout).toContain(label);
    const report = JSON.parse(readFileSync(file("r.json"), "utf8")) as Record<string, Record<string, unknown>>;
    expect(Object.keys(report)).toEqual(expect.arrayContaining(["engine", "world_info", "request_info", "performance", "streaming_metrics", "dataset", "sim"]));
    expect(report["request_info"]!["num_requests"]).toBe(12);
    expect(report["world_info"]!["max_batch_size"]).toBeGreaterThan(0);
    expect(report["sim"]!["simulated"]).toBe(true);
    const requests = readFileSync(file("q.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(requests).toHaveLength(12);
    expect(requests[5]).toMatchObject({ task_id: 5, input_length: 90, output_length: 8 });
    expect(requests[5]!["token_times_ms"]).toHaveLength(8);
    const log = readFileSync(file("it.log"), "utf8").trim().split("\n");
    expect(log.length).toBe(report["sim"]!["num_iterations"]);
    expect(log[0]).toMatch(/^\{'cpuMemUsage': 0, /);
    expect(log[0]).toContain("'iterLatencyMS': ");
    expect(log[0]).toContain("'inflightBatchingStats': {");
  });

  it("writes JSON iteration lines with --iteration-log-format json", async () => {
    const r = await runCli([...base, "--iteration-log", file("it.json"), "--iteration-log-format", "json", "--quiet"]);
    expect(r.code).toBe(0);
    const first = JSON.parse(readFileSync(file("it.json"), "utf8").split("\n")[0]!) as Record<string, unknown>;
    expect(first["iter"]).toBe(0);
    expect(first).toHaveProperty("kvCacheStats.tokensPerBlock", 32);
  });

  it("accepts trtllm-bench's underscore spellings and the global -m", async () => {
    const r = await runCli([
      "-m",
      "llama-3.1-8b",
      "throughput",
      "--dataset",
      dataset,
      "--gpu",
      "h100_sxm",
      "--max_batch_size",
      "4",
      "--max_num_tokens",
      "2048",
      "--kv_cache_free_gpu_mem_fraction",
      "0.5",
      "--scheduler_policy",
      "max_utilization",
      "--enable_chunked_context",
      "--num_requests",
      "10",
      "--report_json",
      file("u.json"),
      "--warmup",
      "0",
      "--streaming",
      "--sim",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Max Runtime Batch Size: 4\n");
    expect(r.stdout).toContain("Max Runtime Tokens:     2048\n");
    expect(r.stdout).toContain("KV Memory Percentage:   50.00%\n");
    expect(r.stdout).toContain("Scheduling Policy:      MAX_UTILIZATION\n");
    expect(r.stdout).toContain("Number of requests:             10\n");
    expect(JSON.parse(readFileSync(file("u.json"), "utf8")).world_info.kv_cache_percentage).toBe(0.5);
  });

  it("defaults to the constant predictor without --gpu and honours its times", async () => {
    const r = await runCli([...base, "--constant-prefill-time-ms", "20", "--constant-decode-time-ms", "2", "--kv-num-blocks", "1000"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Predictor: constant (prefill 20 ms, decode 2 ms)");
  });

  it("without a GPU it asks for one (listing the GPUs) instead of falling into the constant predictor", async () => {
    const r = await runCli(bare);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "error: no GPU to predict batch times for: give --gpu (h100_sxm, h200_sxm, a100_sxm, b200_sxm, gb200, b300_sxm, gb300, l40s, or an AIConfigurator system YAML), or --predictor constant for fixed 10 ms prefill / 5 ms decode batches\n",
    );
    // Asking for the constant predictor (by kind, by its times, or by a sim-config) is fine.
    expect((await runCli([...bare, "--predictor", "constant", "--kv-num-blocks", "1000"])).code).toBe(0);
    expect((await runCli([...bare, "--constant-decode-time-ms", "4", "--kv-num-blocks", "1000"])).code).toBe(0);
  });

  it("reads --sim-config in the PR's nested form and in flat form", async () => {
    writeFileSync(file("nested.yaml"), "predictor:\n  name: constant\n  constant_prefill_time_ms: 30\n  constant_decode_time_ms: 3\n");
    writeFileSync(file("flat.yaml"), "name: constant\nconstant_prefill_time_ms: 30\nconstant_decode_time_ms: 3\nmystery: 1\n");
    const nested = await runCli([...base, "--sim-config", file("nested.yaml"), "--report-json", file("n.json")]);
    const flat = await runCli([...base, "--sim_config", file("flat.yaml"), "--report-json", file("f.json")]);
    expect(nested.code).toBe(0);
    expect(flat.code).toBe(0);
    expect(nested.stdout).toContain("Predictor: constant (prefill 30 ms, decode 3 ms)");
    expect(flat.stderr).toContain(`warning: ${file("flat.yaml")} line 4: unknown key mystery ignored`);
    const perf = (p: string) => JSON.parse(readFileSync(p, "utf8")).performance;
    expect(perf(file("n.json"))).toEqual(perf(file("f.json")));
  });

  it("a sim-config aiconfigurator entry selects the aic predictor (and its requirements)", async () => {
    writeFileSync(file("aic.yaml"), "predictor:\n  name: aiconfigurator\n  device_name: h100_sxm\n  backend_version: 1.2.0rc5\n");
    const r = await runCli([...bare, "--sim-config", file("aic.yaml")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("spec.predictor.database_path");
  });

  const aicSystems = sharedDataPath("aic-systems");
  if (!existsSync(aicSystems)) console.log(`skipping the aic throughput test: ${aicSystems} is absent`);
  it.skipIf(!existsSync(aicSystems))("runs PR #12700's aiconfigurator sim-config against the AIC tables", async () => {
    writeFileSync(
      file("aic-ok.yaml"),
      `predictor:\n  name: aiconfigurator\n  device_name: h100_sxm\n  database_path: ${aicSystems}\n  backend_version: 1.2.0rc5\n`,
    );
    const r = await runCli([...bare, "--sim", "--sim-config", file("aic-ok.yaml"), "--report-json", file("aic.json")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\[SIM\] servesim simulated run — no GPU used\. Predictor: aic \(h100_sxm trtllm 1\.2\.0rc5, Llama-3\.1-8B, TP1, bf16/);
    expect(r.stdout).toContain("TensorRT LLM Version:\t1.2.0rc5 (sim)\n");
    const sim = JSON.parse(readFileSync(file("aic.json"), "utf8")).sim;
    expect([sim.system, sim.backend_version, sim.database_path]).toEqual(["h100_sxm", "1.2.0rc5", aicSystems]);
  });

  it("names the file and line of a bad --sim-config value", async () => {
    writeFileSync(file("bad.yaml"), "predictor:\n  name: constant\n  constant_decode_time_ms: -4\n");
    const r = await runCli([...base, "--sim-config", file("bad.yaml")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: ${file("bad.yaml")} line 3: predictor.constant_decode_time_ms must be a number > 0 (got -4)\n`);
    writeFileSync(file("broken.yaml"), "predictor:\n  name: [constant\n");
    const broken = await runCli([...base, "--sim-config", file("broken.yaml")]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(new RegExp(`^error: ${file("broken.yaml")} line \\d+: invalid YAML`));
  });

  it("applies --extra_llm_api_options over the flags and warns about keys it does not simulate", async () => {
    writeFileSync(
      file("llm.yaml"),
      "kv_cache_config:\n  free_gpu_memory_fraction: 0.8\n  enable_block_reuse: false\nscheduler_config:\n  capacity_scheduler_policy: STATIC_BATCH\nmax_batch_size: 8\nprint_iter_log: true\ncuda_graph_config: null\n",
    );
    const r = await runCli([...bare, "--gpu", "h100_sxm", "--max-batch-size", "64", "--extra_llm_api_options", file("llm.yaml")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Max Runtime Batch Size: 8\n");
    expect(r.stdout).toContain("KV Memory Percentage:   80.00%\n");
    expect(r.stdout).toContain("Scheduling Policy:      STATIC_BATCH\n");
    expect(r.stderr).toContain(`warning: ${file("llm.yaml")} line 7: print_iter_log is not simulated; ignored`);
    // cuda_graph_config: null turns CUDA graphs off; the report names the timing model that ran.
    expect(r.stdout).toMatch(/Timing Model: +overlap \(host 1000 µs \+ 0 µs\/request, eager launch 0 µs\/layer; CUDA graphs off\)\n/);
  });

  it("reports a dataset problem with the file and line, exit code 2 and no stack trace", async () => {
    writeFileSync(file("bad.jsonl"), '{"task_id":0,"input_ids":[1,2],"output_tokens":2}\n{"task_id":1,"input_ids":[3],"output_tokens":0}\n');
    const r = await runCli(["throughput", "--dataset", file("bad.jsonl"), "-m", "llama-3.1-8b", "--predictor", "constant"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: ${file("bad.jsonl")} line 2: output_tokens must be >= 1 (got 0)\n`);
    expect(r.stdout).toBe("");
  });

  it("rejects bad input with exit code 2: missing file, unknown model, max_num_tokens below the longest prompt, bad flags", async () => {
    const missing = await runCli(["throughput", "--dataset", file("nope.jsonl"), "-m", "llama-3.1-8b"]);
    expect([missing.code, missing.stderr]).toEqual([2, `error: --dataset ${file("nope.jsonl")}: no such file\n`]);
    const model = await runCli(["throughput", "--dataset", dataset, "-m", "gpt-17", "--gpu", "h100_sxm"]);
    expect(model.code).toBe(2);
    expect(model.stderr).toMatch(/^error: spec\.predictor\.model: unknown model "gpt-17"/);
    const tokens = await runCli([...base, "--max-num-tokens", "100", "--max-batch-size", "4"]);
    expect(tokens.code).toBe(2);
    expect(tokens.stderr).toContain("error: spec.engine.max_num_tokens: 100 is smaller than the longest prompt (150 tokens)");
    const pp = await runCli([...base, "--pp", "2", "--request-rate", "5", "--concurrency", "2"]);
    expect(pp.stderr).toContain("spec.engine.concurrency: pipeline parallelism runs open-loop arrivals or a concurrency limit");
    const flag = await runCli([...base, "--max-batch-size", "many"]);
    expect(flag.code).toBe(2);
    const unknown = await runCli([...base, "--frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--frobnicate'");
    const both = await runCli([...base, "--enable-chunked-context", "--disable-chunked-context"]);
    expect(both.stderr).toContain("contradict");
    const noModel = await runCli(["throughput", "--dataset", dataset]);
    expect(noModel.stderr).toContain("--model is required");
  });
});

describe("servesim throughput --predictor-address and servesim health", () => {
  let server: ServerHandle;
  beforeAll(async () => {
    const config = loadPredictorServerConfig({ env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_PORT: "0" } });
    server = await startPredictorServer(config, createLogger({ name: "predictor", level: "silent" }));
  });
  afterAll(async () => {
    server.forceShutdown();
    await server.closed;
  });

  it("gives the same records and report numbers as the embedded run", async () => {
    const args = [...bare, "--gpu", "h100_sxm", "--concurrency", "4", "--enable-chunked-context", "--max-num-tokens", "128"];
    const local = await runCli([...args, "--request-json", file("local.jsonl"), "--report-json", file("local.json")]);
    const remote = await runCli([
      ...args,
      "--predictor-address",
      `127.0.0.1:${server.port}`,
      "--request-json",
      file("remote.jsonl"),
      "--report-json",
      file("remote.json"),
    ]);
    expect(remote.stderr).toBe("");
    expect(remote.code).toBe(0);
    expect(readFileSync(file("remote.jsonl"), "utf8")).toBe(readFileSync(file("local.jsonl"), "utf8"));
    const withoutWall = (s: string) => s.replace(/^Wall Time.*$/m, "");
    expect(withoutWall(remote.stdout)).toBe(withoutWall(local.stdout));
    const numbers = (p: string) => {
      const j = JSON.parse(readFileSync(p, "utf8"));
      delete j.simulation.wall_time_ms;
      return j;
    };
    expect(numbers(file("remote.json"))).toEqual(numbers(file("local.json")));
  });

  it("health: SERVING exits 0; an unreachable address exits 1 after --wait", async () => {
    const ok = await runCli(["health", "--address", `127.0.0.1:${server.port}`, "--wait", "5s"]);
    expect([ok.code, ok.stdout]).toEqual([0, "SERVING\n"]);
    const svc = await runCli(["health", "--address", `127.0.0.1:${server.port}`, "--service", "servesim.v1.PredictorService"]);
    expect(svc.code).toBe(0);
    const down = await runCli(["health", "--address", "127.0.0.1:1", "--wait", "300ms", "--timeout", "200ms", "--quiet"]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("is not serving");
  });
});

describe("servesim throughput --goodput / --percentiles", () => {
  it("reports goodput and the asked percentiles, ITL included", async () => {
    const r = await runCli([...base, "--gpu", "h100_sxm", "--goodput", "ttft:1e6", "e2el:1e6", "--percentiles", "99.9,50", "--report-json", file("g.json")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("= LATENCY PERCENTILES (ms)\n");
    expect(r.stdout).toContain("Good Requests:                          12 of 12 (100.0000%)\n");
    const sim = JSON.parse(readFileSync(file("g.json"), "utf8")).sim;
    expect(Object.keys(sim.latency_percentiles_ms)).toEqual(["ttft", "tpot", "itl", "e2el"]);
    expect(Object.keys(sim.latency_percentiles_ms.ttft).slice(0, 2)).toEqual(["p50", "p99.9"]);
    expect(sim.goodput.good_fraction).toBe(1);
  });

  it("without the flags the report still shows ITL at trtllm-bench's percentiles", async () => {
    const r = await runCli([...base, "--gpu", "h100_sxm"]);
    expect(r.stdout).toMatch(/\n {19}TTFT {10}TPOT {11}ITL {10}E2EL\nP50 /);
    expect(r.stdout).not.toContain("Goodput");
  });

  it("--html writes the self-contained report: four CDFs and four time series with the run's data", async () => {
    const r = await runCli([...base, "--gpu", "h100_sxm", "--goodput", "ttft:50", "--html", file("r.html"), "--iteration-log", file("h.log")]);
    expect(r.code).toBe(0);
    const html = readFileSync(file("r.html"), "utf8");
    const data = JSON.parse(/<script type="application\/json" id="servesim-data">(.*?)<\/script>/s.exec(html)![1]!) as {
      charts: { id: string; option: { series: { data: [number, number][] }[] } }[];
    };
    expect(data.charts.map((c) => c.id)).toEqual(["cdf-ttft", "cdf-tpot", "cdf-itl", "cdf-e2e", "iter-batch", "iter-tokens", "iter-kv", "iter-queue"]);
    // 12 requests: every TTFT is a point of the CDF; every iteration is a point of the time series.
    expect(data.charts[0]!.option.series[0]!.data).toHaveLength(12);
    const iterations = readFileSync(file("h.log"), "utf8").trim().split("\n").length;
    expect(data.charts.find((c) => c.id === "iter-kv")!.option.series[0]!.data).toHaveLength(iterations);
    expect(html).toContain("<title>servesim run: llama-3.1-8b on h100_sxm</title>");
  });

  it("bad objectives and percentiles exit 2 naming the flag", async () => {
    const bad = async (args: string[]) => (await runCli([...base, ...args])).stderr;
    expect(await bad(["--goodput", "ttft=300"])).toBe('error: --goodput: "ttft=300" is not METRIC:MILLISECONDS (e.g. ttft:300, tpot@p90:25)\n');
    expect(await bad(["--goodput", "ttfx:300"])).toBe('error: --goodput: "ttfx:300": unknown metric "ttfx" (one of ttft, tpot, itl, e2el)\n');
    expect(await bad(["--percentiles", "50,120"])).toBe("error: --percentiles: a percentile must be in (0, 100] (got 120)\n");
    expect((await runCli([...base, "--goodput", "tpot:-3"])).code).toBe(2);
  });
});
