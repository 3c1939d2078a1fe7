import { describe, expect, it } from "vitest";
import { iterationLogLine, simTimestamp } from "../src/iterationLog.js";
import { computeMetrics } from "../src/metrics.js";
import { countIterationKinds } from "../src/reportInput.js";
import { buildReportJson, renderReportJson } from "../src/reportJson.js";
import { requestJsonLine } from "../src/requestJson.js";
import { example112, failedRecord, input112, iterationStats } from "./fixtures.js";

describe("report.json", () => {
  const m = computeMetrics(example112);
  const report = buildReportJson(m, input112);
  const keys = (o: unknown): string[] => Object.keys(o as object);

  it("has trtllm-bench's sections and key order, then sim and simulation", () => {
    expect(keys(report)).toEqual(["engine", "world_info", "request_info", "performance", "streaming_metrics", "dataset", "sim", "simulation"]);
    expect(keys(report["engine"])).toEqual(["model", "model_path", "engine_dir", "version", "backend", "dtype", "kv_cache_dtype", "quantization"]);
    expect(keys(report["world_info"])).toEqual([
      "tp_size",
      "pp_size",
      "ep_size",
      "world_size",
      "max_batch_size",
      "max_num_tokens",
      "scheduling_policy",
      "kv_cache_percentage",
      "issue_rate",
    ]);
    expect(keys(report["request_info"])).toEqual(["num_requests", "avg_num_concurrent_requests", "avg_input_length", "avg_output_length"]);
    expect(keys(report["performance"])).toEqual([
      "total_latency_ms",
      "avg_request_latency_ms",
      "request_throughput_req_s",
      "system_output_throughput_tok_s",
      "system_total_throughput_tok_s",
      "output_throughput_per_user_tok_s",
      "output_throughput_per_gpu_tok_s",
      "request_latency_percentiles_ms",
    ]);
    expect(keys(report["streaming_metrics"])).toEqual([
      "token_output_speed_tok_s",
      "avg_ttft_ms",
      "avg_tpot_ms",
      "tpot_percentiles",
      "ttft_percentiles",
      "gen_tps_percentiles",
    ]);
    expect(keys(report["dataset"])).toEqual([
      "isl_stats",
      "osl_stats",
      "seq_len_stats",
      "num_requests",
      "dataset_path",
      "max_isl",
      "max_osl",
      "max_sequence_length",
      "avg_isl",
      "avg_osl",
      "avg_sequence_length",
    ]);
    const pct = ["p50", "p90", "p95", "p99", "minimum", "maximum", "average"];
    const perf = report["performance"] as Record<string, unknown>;
    const streaming = report["streaming_metrics"] as Record<string, unknown>;
    const dataset = report["dataset"] as Record<string, unknown>;
    expect(keys(perf["request_latency_percentiles_ms"])).toEqual(pct);
    for (const k of ["tpot_percentiles", "ttft_percentiles", "gen_tps_percentiles"]) expect(keys(streaming[k])).toEqual(pct);
    for (const k of ["isl_stats", "osl_stats", "seq_len_stats"]) expect(keys(dataset[k])).toEqual(pct);
    expect(keys(report["sim"]).slice(0, 9)).toEqual([
      "simulated",
      "predictor",
      "system",
      "backend",
      "backend_version",
      "database_path",
      "kv_num_blocks",
      "tokens_per_block",
      "num_iterations",
    ]);
    expect(keys(report["simulation"])).toEqual(["predictor", "iterations", "simulated_duration_ms", "wall_time_ms"]);
  });

  it("values", () => {
    expect(report["engine"]).toEqual({
      model: "meta-llama/Llama-3.1-8B",
      model_path: "None",
      engine_dir: "None",
      version: "1.2.0rc5 (sim)",
      backend: "Pytorch",
      dtype: "bfloat16",
      kv_cache_dtype: null,
      quantization: null,
    });
    expect(report["world_info"]).toEqual({
      tp_size: 1,
      pp_size: 1,
      ep_size: null,
      world_size: 1,
      max_batch_size: 2,
      max_num_tokens: 8192,
      scheduling_policy: "GUARANTEED_NO_EVICT",
      kv_cache_percentage: 0.9,
      issue_rate: 0,
    });
    expect((report["performance"] as Record<string, number>)["total_latency_ms"]).toBe(30);
    expect((report["streaming_metrics"] as Record<string, unknown>)["ttft_percentiles"]).toEqual({
      p50: 10,
      p90: 25,
      p95: 25,
      p99: 25,
      minimum: 10,
      maximum: 25,
      average: 15,
    });
    expect(report["dataset"]).toMatchObject({
      num_requests: 3,
      dataset_path: "/data/example.jsonl",
      max_isl: 200,
      avg_isl: 116,
      avg_osl: 2,
      avg_sequence_length: 119,
    });
    expect(report["sim"]).toMatchObject({
      simulated: true,
      kv_num_blocks: 1000,
      tokens_per_block: 32,
      num_iterations: 4,
      num_paused: 0,
      issue_rate_req_s: null,
      num_failed_requests: 0,
      failed_requests: [],
      approx_prompt_tokens: false,
    });
    expect(report["simulation"]).toEqual({ predictor: "constant (prefill 10 ms, decode 5 ms)", iterations: 4, simulated_duration_ms: 30, wall_time_ms: 1.25 });
  });

  it("renders with indent 4 and parses back", () => {
    const text = renderReportJson(m, input112);
    expect(text.startsWith('{\n    "engine": {\n        "model": "meta-llama/Llama-3.1-8B",')).toBe(true);
    expect(JSON.parse(text)).toEqual(report);
  });
});

describe("--request-json lines", () => {
  it("one JSON object per request with the documented keys", () => {
    expect(requestJsonLine(example112[0]!)).toBe(
      '{"task_id":0,"input_length":100,"output_length":3,"start_ms":0,"first_token_ms":10,"end_ms":25,"ttft_ms":10,' +
        '"tpot_ms":7.5,"e2e_ms":25,"paused_count":0,"reused_tokens":0,"token_times_ms":[10,15,25]}',
    );
    expect(requestJsonLine(example112[0]!, { includeTokenTimes: false })).not.toContain("token_times_ms");
    expect(JSON.parse(requestJsonLine(failedRecord))["error"]).toBe(failedRecord.error);
  });
});

describe("iteration log", () => {
  it("Python dict repr: sorted keys (nlohmann::json), single quotes, floats with .0", () => {
    expect(iterationLogLine(iterationStats())).toBe(
      "{'cpuMemUsage': 0, 'gpuMemUsage': 0, 'inflightBatchingStats': {'avgNumDecodedTokensPerIter': 0.0, 'microBatchId': 0, " +
        "'numContextRequests': 1, 'numCtxTokens': 50, 'numGenRequests': 1, 'numPausedRequests': 0, 'numScheduledRequests': 2}, " +
        "'iter': 3, 'iterLatencyMS': 10.0, 'kvCacheStats': {'allocNewBlocks': 2, 'allocTotalBlocks': 10, 'cacheHitRate': 0.0, " +
        "'freeNumBlocks': 90, 'maxNumBlocks': 100, 'missedBlocks': 2, 'reusedBlocks': 0, 'tokensPerBlock': 32, 'usedNumBlocks': 10}, " +
        "'maxNumActiveRequests': 2, 'newActiveRequestsQueueLatencyMS': 0.0, 'numActiveRequests': 2, 'numCompletedRequests': 1, " +
        "'numNewActiveRequests': 1, 'numQueuedRequests': 0, 'pinnedMemUsage': 0, 'staticBatchingStats': {}, " +
        "'timestamp': '01-01-2000 00:00:00.025000'}",
    );
  });

  it("JSON lines: the same content as json.dumps would write", () => {
    const line = iterationLogLine(iterationStats({ iterLatencyMS: 12.345678 }), "json");
    expect(line.startsWith('{"cpuMemUsage": 0, "gpuMemUsage": 0, "inflightBatchingStats": {"avgNumDecodedTokensPerIter": 0.0,')).toBe(true);
    expect(line).toContain('"iterLatencyMS": 12.345678,');
    expect(JSON.parse(line)).toMatchObject({ iter: 3, staticBatchingStats: {}, timestamp: "01-01-2000 00:00:00.025000" });
    // The documented conversion of the repr gives the same object.
    const repr = iterationLogLine(iterationStats({ iterLatencyMS: 12.345678 }));
    expect(JSON.parse(repr.replace(/'/g, '"'))).toEqual(JSON.parse(line));
  });

  it("floats print like Python repr; queue latency when provided", () => {
    const line = iterationLogLine({ ...iterationStats({ iterLatencyMS: 3e-7 }), newActiveRequestsQueueLatencyMS: 2.5 });
    expect(line).toContain("'iterLatencyMS': 3e-07,");
    expect(line).toContain("'newActiveRequestsQueueLatencyMS': 2.5,");
  });

  it("timestamps count from 01-01-2000 00:00:00 (checked with Python datetime)", () => {
    expect(simTimestamp(0)).toBe("01-01-2000 00:00:00.000000");
    expect(simTimestamp(90061001.5)).toBe("01-02-2000 01:01:01.001500");
    expect(simTimestamp(0.0005)).toBe("01-01-2000 00:00:00.000000");
    expect(simTimestamp(0.0015)).toBe("01-01-2000 00:00:00.000002");
  });

  it("iteration kinds", () => {
    const ctx = (c: number, g: number) =>
      iterationStats({
        inflightBatchingStats: { numScheduledRequests: c + g, numContextRequests: c, numGenRequests: g, numCtxTokens: 0, numPausedRequests: 0 },
      });
    expect(countIterationKinds([ctx(2, 0), ctx(0, 2), ctx(1, 1), ctx(0, 1)])).toEqual({ prefill: 1, decode: 2, mixed: 1 });
  });
});
